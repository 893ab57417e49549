package redisopt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/internal/redisopt"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
)

func write(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestValidate(t *testing.T) {
	pw := write(t, "pw", "s3cret\n")
	tests := []struct {
		name string
		o    redisopt.Options
		want []string // every error, by field path; nil means valid
		mode string
	}{
		{"none", redisopt.Options{}, nil, ""},
		{"single", redisopt.Options{Address: "127.0.0.1:6379"}, nil, "single"},
		{"cluster", redisopt.Options{Cluster: []string{"a:1", "b:2"}}, nil, "cluster"},
		{"sentinel", redisopt.Options{Sentinel: redisopt.Sentinel{Master: "m", Addresses: []string{"s:26379"}}}, nil, "sentinel"},
		{"acl", redisopt.Options{Address: "h:1", Username: "portcullis", PasswordFile: pw}, nil, "single"},
		{"bad addresses", redisopt.Options{Address: "nohost", Cluster: []string{"x"}, DB: 2},
			[]string{"address: want host:port", "cluster[0]: want host:port", "db: a Redis Cluster has only database 0", "address: set exactly one"}, ""},
		{"sentinel half", redisopt.Options{Sentinel: redisopt.Sentinel{Addresses: []string{"s:1"}, PasswordFile: pw, PasswordEnv: "X"}},
			[]string{"sentinel.master: required", "sentinel.password_file: set at most one"}, ""},
		{"secrets", redisopt.Options{Address: "h:1", Username: "u"}, []string{"password_file: an ACL username needs a password"}, ""},
		{"two secrets", redisopt.Options{Address: "h:1", PasswordFile: pw, PasswordEnv: "X"}, []string{"password_file: set at most one"}, ""},
		{"missing files", redisopt.Options{Address: "h:1", PasswordFile: "/nonexistent/pw", TLS: redisopt.TLS{Enabled: true, CAFile: "/nonexistent/ca", CertFile: "/nonexistent/c"}},
			[]string{"tls.cert_file: cert_file and key_file go together", "tls.ca_file: stat /nonexistent/ca", "tls.cert_file: stat", "password_file: stat /nonexistent/pw"}, ""},
		{"tls off", redisopt.Options{Address: "h:1", TLS: redisopt.TLS{CAFile: pw}}, []string{"tls.enabled: "}, ""},
		{"negative", redisopt.Options{Address: "h:1", DB: -1, DialTimeout: -time.Second, PoolSize: -1},
			[]string{"db: must not be negative", "dial_timeout: must not be negative", "pool_size: must not be negative"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, tc.mode, tc.o.Mode())
				return
			}
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tc.want), err.Error())
			for i, w := range tc.want {
				require.True(t, strings.HasPrefix(lines[i], w), "error %d: got %q, want prefix %q", i, lines[i], w)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Setenv("PC_REDIS_PW", "hunter2-env")
	pw := write(t, "pw", "hunter2-file\n")
	for _, o := range []redisopt.Options{
		{Address: "h:1", Username: "u", PasswordEnv: "PC_REDIS_PW", TLS: redisopt.TLS{Enabled: true}},
		{Sentinel: redisopt.Sentinel{Master: "m", Addresses: []string{"s:1"}, PasswordFile: pw}, PasswordFile: pw},
	} {
		s := o.String()
		require.NotContains(t, s, "hunter2")
		u, err := o.Universal()
		require.NoError(t, err)
		require.NotContains(t, (&o).String(), "hunter2")
		if o.PasswordEnv != "" {
			require.Equal(t, "hunter2-env", u.Password)
			require.Contains(t, s, "password=[redacted]")
			require.NotNil(t, u.TLSConfig)
		} else {
			require.Equal(t, "hunter2-file", u.Password, "trailing newline trimmed")
			require.Equal(t, "hunter2-file", u.SentinelPassword)
			require.Equal(t, "m", u.MasterName)
		}
	}
	_, err := (&redisopt.Options{Address: "h:1", PasswordEnv: "PC_UNSET_VAR_X"}).Universal()
	require.ErrorContains(t, err, "password_env: environment variable PC_UNSET_VAR_X is empty or unset")
}

// TestACLUser connects as an ACL user with a password read from a file to
// a real redis-server, and is refused with a wrong one.
func TestACLUser(t *testing.T) {
	acl := write(t, "users.acl", "user portcullis on >pw-acl-1 ~* &* +@all\nuser default off\n")
	srv := redistest.Start(t, &redis.Options{Username: "portcullis", Password: "pw-acl-1"}, "--aclfile", acl)
	ctx := context.Background()
	o := redisopt.Options{Address: srv.Addr, Username: "portcullis", PasswordFile: write(t, "pw", "pw-acl-1\n")}
	c, err := o.Client()
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	o.PasswordFile = write(t, "bad", "wrong")
	bad, err := o.Client()
	require.NoError(t, err)
	defer bad.Close()
	err = bad.Ping(ctx).Err()
	require.Error(t, err)
	require.NotContains(t, err.Error(), "pw-acl-1")
}

// TestTLS connects over TLS with a private CA and a client certificate
// (redis-server requires it) and fails without the client certificate.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test-ca", true)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	srvCert, srvKey := newCert(t, ca, caKey, "127.0.0.1", false)
	writePEM(t, filepath.Join(dir, "srv.pem"), "CERTIFICATE", srvCert.Raw)
	writeKey(t, filepath.Join(dir, "srv.key"), srvKey)
	cliCert, cliKey := newCert(t, ca, caKey, "client", false)
	writePEM(t, filepath.Join(dir, "cli.pem"), "CERTIFICATE", cliCert.Raw)
	writeKey(t, filepath.Join(dir, "cli.key"), cliKey)

	o := redisopt.Options{TLS: redisopt.TLS{Enabled: true, CAFile: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cli.pem"), KeyFile: filepath.Join(dir, "cli.key")}}
	o.Address = "127.0.0.1:1"
	u, err := o.Universal()
	require.NoError(t, err)
	srv := redistest.Start(t, &redis.Options{TLSConfig: u.TLSConfig},
		"--tls-cert-file", filepath.Join(dir, "srv.pem"), "--tls-key-file", filepath.Join(dir, "srv.key"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "yes")
	o.Address = srv.Addr
	ctx := context.Background()
	c, err := o.Client()
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Ping(ctx).Err())

	o.TLS.CertFile, o.TLS.KeyFile = "", ""
	nocert, err := o.Client()
	require.NoError(t, err)
	defer nocert.Close()
	require.Error(t, nocert.Ping(ctx).Err(), "the server requires a client certificate")
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

func writeKey(t *testing.T, path string, k *ecdsa.PrivateKey) {
	der, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	writePEM(t, path, "EC PRIVATE KEY", der)
}

var _ = tls.VersionTLS12

// TestSentinel resolves the master through a real Sentinel and uses it.
func TestSentinel(t *testing.T) {
	master := redistest.Start(t, nil)
	sentinel := redistest.StartSentinel(t, "pcmaster", master.Addr)
	o := redisopt.Options{Sentinel: redisopt.Sentinel{Master: "pcmaster", Addresses: []string{sentinel}}}
	c, err := o.Client()
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "via-sentinel", "1", 0).Err())
	require.Equal(t, "1", master.Client().Get(ctx, "via-sentinel").Val(), "the write reached the master the Sentinel named")
}

// TestCluster writes through a ClusterClient built from cluster seeds to a
// real three-node Redis Cluster: keys land on the node owning their slot.
func TestCluster(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	o := redisopt.Options{Cluster: nodes[:1]} // one seed is enough
	c, err := o.Client()
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	for i := range 50 {
		require.NoError(t, c.Set(ctx, fmt.Sprint("k", i), i, 0).Err())
	}
	cc, ok := c.(*redis.ClusterClient)
	require.True(t, ok)
	owners := map[string]bool{}
	var mu sync.Mutex // ForEachMaster runs the callback concurrently
	require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		if n, err := m.DBSize(ctx).Result(); err == nil && n > 0 {
			mu.Lock()
			owners[m.Options().Addr] = true
			mu.Unlock()
		}
		return nil
	}))
	require.Len(t, owners, 3, "keys spread over the three masters")
}
