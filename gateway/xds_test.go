package gateway_test

import (
	"context"
	"testing"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

func TestServeStartsXDSAndPushesOnReload(t *testing.T) {
	base := "listen: {extproc: 127.0.0.1:0, xds: 127.0.0.1:0}\nservers:\n  - name: files\n    url: http://127.0.0.1:3001/mcp\n    tools: {allow: [\"*\"]}\n"
	cfg, err := config.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	if gw.XDSAddr() == "" || gw.XDS().Version() == "" {
		t.Fatalf("xDS not serving: addr %q version %q", gw.XDSAddr(), gw.XDS().Version())
	}
	v1 := gw.XDS().Version()
	next, err := config.Parse([]byte(base + "  - name: web\n    url: http://127.0.0.1:3002/mcp\n    tools: {allow: [\"*\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Reload(next); err != nil {
		t.Fatal(err)
	}
	if v2 := gw.XDS().Version(); v2 == v1 || v2 == "" {
		t.Fatalf("reload did not push a new snapshot: %q -> %q", v1, v2)
	}
}
