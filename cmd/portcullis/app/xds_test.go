package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func TestXDSCommand(t *testing.T) {
	const quickstart = "../../../examples/quickstart/portcullis.yaml"
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"no config", []string{"xds"}, 2},
		{"extra args", []string{"xds", "--config", quickstart, "x"}, 2},
		{"missing file", []string{"xds", "--config", "/nonexistent.yaml", "--print"}, 1},
		{"bad extproc", []string{"xds", "--config", quickstart, "--print", "--extproc", "nope"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := Main(context.Background(), tt.args, &out, &errb)
			if err == nil {
				t.Fatal("want an error")
			}
			code := 1
			var ee *ExitError
			if errors.As(err, &ee) {
				code = ee.Code
			}
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (%v)", code, tt.wantCode, err)
			}
		})
	}

	t.Run("print", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := Main(context.Background(), []string{"xds", "--config", quickstart, "--print", "--extproc", "portcullis:50051"}, &out, &errb); err != nil {
			t.Fatal(err, errb.String())
		}
		var doc struct {
			Clusters []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"clusters"`
			Routes struct {
				Name string `json:"name"`
			} `json:"routes"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range doc.Clusters {
			got[c.Name] = c.Type
		}
		for name, typ := range map[string]string{"portcullis_extproc": "STRICT_DNS", "mcp_files": "STATIC", "mcp_web": "STATIC"} {
			if got[name] != typ {
				t.Errorf("cluster %s: type %q, want %q (all: %v)", name, got[name], typ, got)
			}
		}
		if doc.Routes.Name != "portcullis_routes" {
			t.Errorf("routes %q", doc.Routes.Name)
		}
	})

	t.Run("serve stops with its context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errb bytes.Buffer
		if err := Main(ctx, []string{"xds", "--config", quickstart, "--listen", "127.0.0.1:0"}, &out, &errb); err != nil {
			t.Fatal(err, errb.String())
		}
		if !bytes.Contains(out.Bytes(), []byte("listening on 127.0.0.1:")) {
			t.Fatalf("output %q", out.String())
		}
	})
}
