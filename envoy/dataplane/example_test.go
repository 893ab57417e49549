package dataplane_test

import (
	"log"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis-mcp/portcullis/envoy/dataplane"
)

// ExampleNew wires the data plane the way `portcullis serve` does: BUFFERED
// JSON-RPC bodies (the processor switches SSE responses to STREAMED with
// mode_override), GET streams pinned to STREAMED responses, a catch-all
// so the processor answers unknown servers.
func ExampleNew() {
	conn, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	up, _ := url.Parse("http://127.0.0.1:3001/mcp")
	p, err := dataplane.New(dataplane.Config{
		Routes: []dataplane.Route{{
			Name: "everything", PathPrefix: "/mcp/everything", Upstream: up,
			Methods: map[string]*dataplane.ProcessingMode{
				http.MethodGet: {RequestBody: dataplane.BodyNone, ResponseBody: dataplane.BodyStreamed},
			},
		}},
		Filter: dataplane.FilterConfig{
			ProcessingMode:    dataplane.ProcessingMode{RequestBody: dataplane.BodyBuffered, ResponseBody: dataplane.BodyBuffered},
			AllowModeOverride: true,
			MessageTimeout:    2 * time.Second,
		},
		Processor:      conn,
		BufferLimit:    8 << 20,
		CatchAllPrefix: "/mcp/",
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:10000", Handler: p, ReadHeaderTimeout: 10 * time.Second}
	_ = srv // srv.ListenAndServe() in real use
}
