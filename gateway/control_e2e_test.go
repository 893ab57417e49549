package gateway_test

import (
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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

const testToken = "0123456789abcdef0123456789"

func healthCheck(t *testing.T, addr string, md metadata.MD, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if md != nil {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// Issue 11 #22: ext_proc with a bearer token refuses calls without it; the
// embedded data plane sends it and keeps working.
func TestExtProcTokenAuth(t *testing.T) {
	t.Setenv("PORTCULLIS_TEST_EXTPROC_TOKEN", testToken)
	e := startEnv(t, func(c *config.Config) { c.Listen.ExtProcAuth.TokenEnv = "PORTCULLIS_TEST_EXTPROC_TOKEN" })
	cs := e.connect(t, "files")
	if names := toolNames(t, cs); len(names) == 0 {
		t.Fatal("no tools through the embedded data plane")
	}
	addr := e.gw.ExtProcAddr()
	if err := healthCheck(t, addr, nil, insecure.NewCredentials()); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a token: %v", err)
	}
	if err := healthCheck(t, addr, metadata.Pairs("authorization", "Bearer wrong-token-wrong-token"), insecure.NewCredentials()); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
	if err := healthCheck(t, addr, metadata.Pairs("authorization", "Bearer "+testToken), insecure.NewCredentials()); err != nil {
		t.Fatalf("with the token: %v", err)
	}
}

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by the CA.
func testPKI(t *testing.T) (dir string, clientTLS *tls.Config) {
	t.Helper()
	dir = t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, usage x509.ExtKeyUsage) tls.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(k)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
		if name == "server" {
			for f, b := range map[string][]byte{"server.pem": certPEM, "server.key": keyPEM} {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	issue("server", x509.ExtKeyUsageServerAuth)
	client := issue("client", x509.ExtKeyUsageClientAuth)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return dir, &tls.Config{Certificates: []tls.Certificate{client}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// With mTLS on ext_proc, clients without a certificate are refused and the
// embedded data plane keeps working over its private in-memory path.
func TestExtProcMTLS(t *testing.T) {
	dir, clientTLS := testPKI(t)
	e := startEnv(t, func(c *config.Config) {
		c.Listen.ExtProcAuth.TLS = &config.ListenerTLS{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key"), ClientCAFile: filepath.Join(dir, "ca.pem")}
	})
	if names := toolNames(t, e.connect(t, "files")); len(names) == 0 {
		t.Fatal("no tools through the embedded data plane")
	}
	addr := e.gw.ExtProcAddr()
	if err := healthCheck(t, addr, nil, insecure.NewCredentials()); err == nil {
		t.Fatal("plaintext client accepted")
	}
	noCert := clientTLS.Clone()
	noCert.Certificates = nil
	if err := healthCheck(t, addr, nil, credentials.NewTLS(noCert)); err == nil {
		t.Fatal("client without a certificate accepted")
	}
	if err := healthCheck(t, addr, nil, credentials.NewTLS(clientTLS)); err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
}

// ext_proc used to accept 2 GiB messages; now it caps them at what the data
// plane can buffer.
func TestExtProcMessageCap(t *testing.T) {
	e := startEnv(t, nil)
	conn, err := grpc.NewClient("passthrough:///"+e.gw.ExtProcAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := extprocv3.NewExternalProcessorClient(conn).Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// limits.max_body_bytes is 64 KiB in startEnv; the default SSE event
	// bound (4 MiB) plus 1 MiB of headroom is the cap.
	body := make([]byte, 6<<20)
	_ = st.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}})
	_, err = st.Recv()
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized message: %v", err)
	}
}

// Admin listener with a token: /metrics and /admin/reload need it, health
// endpoints do not; foreign Host and cross-origin requests are refused.
func TestAdminAuthE2E(t *testing.T) {
	t.Setenv("PORTCULLIS_TEST_ADMIN_TOKEN", testToken)
	e := startEnv(t, func(c *config.Config) { c.Listen.AdminAuth.TokenEnv = "PORTCULLIS_TEST_ADMIN_TOKEN" })
	base := "http://" + e.gw.AdminAddr()
	do := func(method, path string, hdr map[string]string) int {
		req, _ := http.NewRequest(method, base+path, nil)
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
				continue
			}
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		want               int
	}{
		{"metrics without token", "GET", "/metrics", nil, 401},
		{"metrics with token", "GET", "/metrics", auth, 200},
		{"metrics foreign host", "GET", "/metrics", map[string]string{"Authorization": auth["Authorization"], "Host": "attacker.example"}, 403},
		{"reload cross origin", "POST", "/admin/reload", map[string]string{"Authorization": auth["Authorization"], "Origin": "http://attacker.example"}, 403},
		{"healthz", "GET", "/healthz", nil, 200},
		{"readyz", "GET", "/readyz", nil, 200},
	} {
		if got := do(tc.method, tc.path, tc.hdr); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
}

func writePolicy(t *testing.T, path, version string) {
	t.Helper()
	p := `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: lifecycle, version: "` + version + `"}
spec:
  servers:
    - name: files
      tools: [{name: "*", risk: 10}]
    - name: web
      tools: [{name: "*", risk: 10}]
`
	if err := os.WriteFile(path, []byte(p), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue 10: a reload that changes policy.file must switch the watcher to the
// new path (the old path used to win again within one watch interval).
func TestReloadSwitchesPolicyFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writePolicy(t, a, "a1")
	writePolicy(t, b, "b1")
	var base config.Config
	e := startEnv(t, func(c *config.Config) {
		c.Policy.File, c.Policy.Watch = a, 5*time.Millisecond
		base = *c
	})
	if v := e.gw.PolicyVersion(); !strings.HasPrefix(v, "a1+") {
		t.Fatalf("start version %q", v)
	}
	next := base
	next.Policy.File = b
	notApplied, err := e.gw.ReloadConfig(&next)
	if err != nil || len(notApplied) != 0 {
		t.Fatalf("reload: %v, not applied %v", err, notApplied)
	}
	if v := e.gw.PolicyVersion(); !strings.HasPrefix(v, "b1+") {
		t.Fatalf("after reload version %q", v)
	}
	writePolicy(t, a, "a2")
	writePolicy(t, b, "b2")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(e.gw.PolicyVersion(), "b2+") {
		if v := e.gw.PolicyVersion(); strings.HasPrefix(v, "a") {
			t.Fatalf("the watcher went back to the old file: %q", v)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new policy file is not watched: version %q", e.gw.PolicyVersion())
		}
		runtimeGosched()
	}
}

// A reload says precisely which changed keys need a restart.
func TestReloadNamesKeysThatNeedRestart(t *testing.T) {
	var base config.Config
	e := startEnv(t, func(c *config.Config) { base = *c })
	next := base
	next.Detectors.Redaction = "hash"
	next.Listen.Admin = "127.0.0.1:1"
	next.Limits.MessageTimeout = 7 * time.Second                    // reloadable
	next.Listen.AllowedHosts = []string{"localhost", "gw.internal"} // reloadable
	next.Audit.Queue.Size = 7                                       // any other section needs a restart
	notApplied, err := e.gw.ReloadConfig(&next)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(notApplied, ",")
	if got != "listen.admin,detectors.redaction,audit.queue.size" {
		t.Fatalf("not applied: %q", got)
	}
}

// Issue 10: when the ext_proc listener cannot be bound, everything started
// before it is released: a second Start on the same audit directory works.
func TestStartFailureReleasesEngines(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	auditDir := t.TempDir()
	yaml := "listen: {extproc: " + busy.Addr().String() + "}\nservers: []\naudit: {dir: " + auditDir + "}\n"
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.Start(context.Background(), cfg, gateway.Options{}); err == nil || !strings.Contains(err.Error(), "listen.extproc") {
		t.Fatalf("want a listen.extproc error, got %v", err)
	}
	cfg.Listen.ExtProc = "127.0.0.1:0"
	g, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatalf("second start (audit lock still held?): %v", err)
	}
	_ = g.Close()
}

// /readyz reports real readiness: it fails, naming the listener, once a
// listener stops serving.
func TestReadyzReportsListenerFailure(t *testing.T) {
	e := startEnv(t, nil)
	if p := e.gw.NotReady(); len(p) != 0 {
		t.Fatalf("not ready after start: %v", p)
	}
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + e.gw.AdminAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	if code, body := readyz(); code != 200 || body != "ready\n" {
		t.Fatalf("readyz %d %q", code, body)
	}
	e.gw.BreakListenerForTest("proxy")
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := readyz()
		if code == 503 && strings.Contains(body, "listener proxy stopped serving") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d %q after the proxy listener failed", code, body)
		}
		runtimeGosched()
	}
}

// runtimeGosched yields briefly between polls of asynchronous state.
func runtimeGosched() { time.Sleep(2 * time.Millisecond) }

// Start refuses an unauthenticated control listener beyond loopback even
// when the configuration was built in code rather than parsed.
func TestStartRefusesUnauthenticatedControlListener(t *testing.T) {
	cfg, err := config.Parse([]byte("servers: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen.ExtProc = "0.0.0.0:0"
	_, err = gateway.Start(context.Background(), cfg, gateway.Options{})
	if err == nil || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), "listen.extproc_auth.token_file") {
		t.Fatalf("want a refusal naming the key, got %v", err)
	}
}

// xDS with a bearer token: an ADS stream without it is refused, one with it
// receives the snapshot.
func TestXDSTokenAuth(t *testing.T) {
	t.Setenv("PORTCULLIS_TEST_XDS_TOKEN", testToken)
	cfg, err := config.Parse([]byte("listen: {extproc: 127.0.0.1:0, xds: 127.0.0.1:0, xds_auth: {token_env: PORTCULLIS_TEST_XDS_TOKEN}}\nservers:\n  - name: files\n    url: http://127.0.0.1:3001/mcp\n    tools: {allow: [\"*\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	conn, err := grpc.NewClient("passthrough:///"+gw.XDSAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fetch := func(md metadata.MD) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if md != nil {
			ctx = metadata.NewOutgoingContext(ctx, md)
		}
		st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
		if err != nil {
			return err
		}
		// A stream the server already ended makes Send return io.EOF; the
		// status comes from Recv.
		_ = st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "portcullis"}, TypeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster"})
		_, err = st.Recv()
		return err
	}
	if err := fetch(nil); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a token: %v", err)
	}
	if err := fetch(metadata.Pairs("authorization", "Bearer "+testToken)); err != nil {
		t.Fatalf("with the token: %v", err)
	}
}

// Admin over mTLS: a client without a certificate cannot connect.
func TestAdminMTLS(t *testing.T) {
	dir, clientTLS := testPKI(t)
	e := startEnv(t, func(c *config.Config) {
		c.Listen.AdminAuth.TLS = &config.ListenerTLS{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key"), ClientCAFile: filepath.Join(dir, "ca.pem")}
	})
	url := "https://" + e.gw.AdminAddr() + "/metrics"
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
	resp, err := withCert.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with a client certificate: %d", resp.StatusCode)
	}
	noCert := clientTLS.Clone()
	noCert.Certificates = nil
	if resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: noCert}}).Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate got %d", resp.StatusCode)
	}
}
