package exserve

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeListenerShutsDownOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logb bytes.Buffer
	errc := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })
	go func() { errc <- ServeListener(ctx, ln, "demo", h, &logb) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body = %q", body)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("ServeListener after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeListener did not return after cancel")
	}
	if want := "demo MCP server on http://" + ln.Addr().String() + "/mcp"; !strings.Contains(logb.String(), want) {
		t.Errorf("log %q lacks %q", logb.String(), want)
	}
}

func TestServeBadAddr(t *testing.T) {
	if err := Serve(context.Background(), "not-an-addr", "demo", http.NotFoundHandler(), io.Discard); err == nil {
		t.Fatal("Serve on a bad address succeeded")
	}
}
