package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/console"
)

func approvalsServer(t *testing.T) (*httptest.Server, *approval.Service) {
	t.Helper()
	cfg := approval.Config{Rules: []approval.Rule{{Approvers: []string{"alice", "bob"}, Quorum: 2}}}
	cfg.ApplyDefaults()
	svc, err := approval.New(cfg, approval.NewMemoryStore(0))
	require.NoError(t, err)
	h, err := console.New(console.Options{Service: svc, Auth: console.InsecureDev{}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, svc
}

func TestApprovalsCLI(t *testing.T) {
	srv, svc := approvalsServer(t)
	ctx := context.Background()
	res, err := svc.Check(ctx, approval.Binding{Principal: "agent-1", Server: "files", Method: "tools/call", Tool: "write_file",
		Arguments: []byte(`{"path":"out.txt","password":"hunter2"}`), Score: 60,
		Factors: []approval.Factor{{Name: "action", Score: 80, Weight: 3, Reason: "destructive tool"}}})
	require.NoError(t, err)
	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := Main(ctx, append(args, "--admin", srv.URL), &out, &errb)
		return out.String() + errb.String(), err
	}
	cases := []struct {
		name string
		args []string
		want []string
		err  string
	}{
		{"list needs an identity", []string{"approvals", "list"}, nil, "X-Portcullis-Approver"},
		{"list", []string{"approvals", "list", "--as", "alice", "--status", "pending"}, []string{res.ID, "pending", "write_file", "agent-1", "60"}, ""},
		{"show", []string{"approvals", "show", res.ID, "--as", "alice"}, []string{"tools/call write_file on files by agent-1", "action 80 ×3  destructive tool", "«redacted»", "quorum   2"}, ""},
		{"outsider", []string{"approvals", "approve", res.ID, "--as", "mallory"}, nil, "not an approver"},
		{"first of two", []string{"approvals", "approve", res.ID, "--as", "alice", "--comment", "ok"}, []string{res.ID + ": pending (1 of 2 approvals)"}, ""},
		{"second of two", []string{"approvals", "approve", res.ID, "--as", "bob"}, []string{res.ID + ": approved (2 of 2 approvals)"}, ""},
		{"too late", []string{"approvals", "reject", res.ID, "--as", "bob"}, nil, "409"},
		{"missing id", []string{"approvals", "approve", "--as", "bob"}, nil, "want 1 argument"},
		{"unknown id", []string{"approvals", "show", "apr_nope", "--as", "bob"}, nil, "404"},
		{"cert without key", []string{"approvals", "list", "--as", "bob", "--cert", "c.pem"}, nil, "--cert and --key go together"},
		{"missing ca", []string{"approvals", "list", "--as", "bob", "--cacert", "/nonexistent/ca.pem"}, nil, "--cacert"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(tc.args...)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err, out)
				return
			}
			require.NoError(t, err, out)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			require.False(t, strings.Contains(out, "hunter2"), "arguments are redacted")
		})
	}
	got, err := svc.Check(ctx, approval.Binding{Principal: "agent-1", Server: "files", Method: "tools/call", Tool: "write_file",
		Arguments: []byte(`{"password":"hunter2","path":"out.txt"}`), Score: 60})
	require.NoError(t, err)
	require.Equal(t, approval.StatusApproved, got.Status)
}

// The CLI presents a client certificate and trusts a private CA; with
// approvals.auth.mtls the certificate names the approver.
func TestApprovalsCLIMTLS(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage, ips bool) (string, string, tls.Certificate) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, EmailAddresses: []string{name + "@corp.example"}}
		if ips {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		require.NoError(t, err)
		kb, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		cp, kp := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
		require.NoError(t, os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
		require.NoError(t, os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
		return cp, kp, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	_, _, serverCert := issue("server", 2, x509.ExtKeyUsageServerAuth, true)
	clientCert, clientKey, _ := issue("carol", 3, x509.ExtKeyUsageClientAuth, false)
	caPath := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))

	cfg := approval.Config{}
	cfg.ApplyDefaults()
	svc, err := approval.New(cfg, approval.NewMemoryStore(0))
	require.NoError(t, err)
	res, err := svc.Check(context.Background(), approval.Binding{Principal: "agent", Server: "s", Method: "tools/call", Tool: "t"})
	require.NoError(t, err)
	h, err := console.New(console.Options{Service: svc, Auth: console.MTLS{}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewUnstartedServer(mux)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, Certificates: []tls.Certificate{serverCert}}
	srv.StartTLS()
	defer srv.Close()

	var out, errb bytes.Buffer
	err = Main(context.Background(), []string{"approvals", "approve", res.ID, "--admin", srv.URL, "--cert", clientCert, "--key", clientKey, "--cacert", caPath}, &out, &errb)
	require.NoError(t, err, errb.String())
	require.Contains(t, out.String(), "approved")
	r, err := svc.Get(context.Background(), res.ID)
	require.NoError(t, err)
	require.Equal(t, "carol@corp.example", r.Votes[0].By)
}
