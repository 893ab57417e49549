package console_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/console"
)

func cert(t *testing.T, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	if parent == nil {
		parent, parentKey = tmpl, k
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, parentKey)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, k
}

func TestMTLSApprovers(t *testing.T) {
	now := time.Now()
	ca, caKey := cert(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	u, _ := url.Parse("spiffe://corp.example/approver/alice")
	leaf, leafKey := cert(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"sre"}},
		URIs: []*url.URL{u}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, caKey)

	cfg := approval.Config{Rules: []approval.Rule{{Groups: []string{"sre"}}}}
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
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()

	post := func(c *http.Client) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/approvals/"+res.ID+"/approve", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	anon := srv.Client()
	code, body := post(anon)
	require.Equal(t, 401, code, body)
	require.Contains(t, body, "client certificate required")

	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{leaf.Raw}, PrivateKey: leafKey}}
	withCert := &http.Client{Transport: tr}
	code, body = post(withCert)
	require.Equal(t, 200, code, body)
	r, err := svc.Get(context.Background(), res.ID)
	require.NoError(t, err)
	require.Equal(t, approval.StatusApproved, r.Status)
	require.Equal(t, "spiffe://corp.example/approver/alice", r.Votes[0].By, "URI SAN names the approver; OU sre matched the rule")
}
