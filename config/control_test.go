package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 11 #22: a control listener bound beyond loopback without
// authentication refuses to start, naming the key to set.
func TestControlListenerAuth(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORTCULLIS_TEST_TOKEN", "fedcba9876543210fedcba")
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; nil = valid
	}{
		{"loopback needs nothing", "listen: {extproc: 127.0.0.1:0, admin: 'localhost:0', xds: '[::1]:0'}\n", nil},
		{"unix socket needs nothing", "listen: {extproc: 'unix:///tmp/p.sock'}\n", nil},
		{"extproc on all interfaces refused", "listen: {extproc: 0.0.0.0:50051}\n",
			[]string{`listen.extproc: binds "0.0.0.0:50051" beyond loopback without authentication: set listen.extproc_auth.token_file`}},
		{"every listener reported at once", "listen: {extproc: ':50051', admin: '10.0.0.5:9090', xds: '0.0.0.0:18000'}\n",
			[]string{"listen.extproc: binds", "listen.admin: binds", "listen.xds: binds", "listen.admin_auth.token_file"}},
		{"token file", "listen: {extproc: 0.0.0.0:50051, extproc_auth: {token_file: " + tok + "}}\n", nil},
		{"token env", "listen: {admin: 0.0.0.0:9090, admin_auth: {token_env: PORTCULLIS_TEST_TOKEN}}\n", nil},
		{"unset token env", "listen: {admin: 0.0.0.0:9090, admin_auth: {token_env: PORTCULLIS_NOPE_UNSET}}\n",
			[]string{"listen.admin_auth: token_env: environment variable PORTCULLIS_NOPE_UNSET is unset or empty"}},
		{"short token", "listen: {admin: 0.0.0.0:9090, admin_auth: {token_file: " + short + "}}\n", []string{"shorter than 16"}},
		{"both token sources", "listen: {admin_auth: {token_file: " + tok + ", token_env: PORTCULLIS_TEST_TOKEN}}\n", []string{"only one of token_file and token_env"}},
		{"mtls", "listen: {xds: 0.0.0.0:18000, xds_auth: {tls: {cert_file: " + cert + ", key_file: " + cert + ", client_ca_file: " + cert + "}}}\n", nil},
		{"tls without client ca is not authentication", "listen: {xds: 0.0.0.0:18000, xds_auth: {tls: {cert_file: " + cert + ", key_file: " + cert + "}}}\n",
			[]string{"listen.xds: binds"}},
		{"tls missing key", "listen: {xds_auth: {tls: {cert_file: " + cert + "}}}\n", []string{"listen.xds_auth.tls: cert_file and key_file are both required"}},
		{"missing cert file", "listen: {xds_auth: {tls: {cert_file: /nope/c.pem, key_file: " + cert + "}}}\n", []string{"listen.xds_auth.tls.cert_file:"}},
		{"explicit insecure opt-out", "listen: {extproc: 0.0.0.0:50051, extproc_auth: {insecure_allow_unauthenticated: true}}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml + "servers: []\n"))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
