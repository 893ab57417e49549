package benchharness

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis-mcp/portcullis/extproc"
)

// NullProcessor is the baseline gRPC server: the gateway's own loop
// (extproc.Serve) with extproc.NullProcessor, so the two differ only in the
// per-stream Processor.
type NullProcessor struct {
	extprocv3.UnimplementedExternalProcessorServer
}

// Process implements [extprocv3.ExternalProcessorServer.Process].
func (NullProcessor) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	return extproc.Serve(s, extproc.NullProcessor{}, nil)
}

// Serve starts srv's registration on a loopback gRPC listener and returns a
// connected client and a stop function.
func Serve(register func(*grpc.Server)) (extprocv3.ExternalProcessorClient, func(), error) {
	g := grpc.NewServer(append(extproc.GRPCServerOptions(), grpc.MaxRecvMsgSize(math.MaxInt32))...)
	register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		g.Stop()
		return nil, nil, err
	}
	return extprocv3.NewExternalProcessorClient(conn), func() { conn.Close(); g.Stop() }, nil
}

// Scenario is one tool call as Envoy presents it.
type Scenario struct {
	Name         string
	Path         string
	RequestBody  []byte
	ResponseCT   string
	ResponseBody [][]byte // one chunk = BUFFERED JSON; several = STREAMED SSE
}

// ToolCall returns the standard scenarios: a tools/call with a 2 KB argument
// and a 4 KB JSON result, and the same call answered over SSE in two chunks.
func ToolCall(server, tool string) []Scenario {
	arg := strings.Repeat("lorem ipsum dolor sit amet ", 80)[:2048]
	req := fmt.Sprintf(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":%q,"arguments":{"query":%q,"limit":10}}}`, tool, arg)
	var rows []string
	for i := 0; len(strings.Join(rows, ",")) < 3900; i++ {
		rows = append(rows, fmt.Sprintf(`{"id":%d,"title":"Quarterly report section %d","status":"published","owner":"team-%d"}`, i, i, i%7))
	}
	text := "[" + strings.Join(rows, ",") + "]"
	result := fmt.Sprintf(`{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":%q}],"isError":false}}`, text)
	sse := "event: message\nid: 1\ndata: " + result + "\n\n"
	half := len(sse) / 2
	return []Scenario{
		{Name: "tools/call JSON (2 KB args, 4 KB result)", Path: "/mcp/" + server, RequestBody: []byte(req), ResponseCT: "application/json", ResponseBody: [][]byte{[]byte(result)}},
		{Name: "tools/call SSE (2 KB args, 4 KB result, 2 chunks)", Path: "/mcp/" + server, RequestBody: []byte(req), ResponseCT: "text/event-stream", ResponseBody: [][]byte{[]byte(sse[:half]), []byte(sse[half:])}},
	}
}

// Result summarises one run.
type Result struct {
	Calls         int
	Errors        int
	Duration      time.Duration
	P50, P95, P99 time.Duration
}

// PerSecond is the throughput.
func (r Result) PerSecond() float64 { return float64(r.Calls) / r.Duration.Seconds() }

// Run drives sc from streams concurrent workers for d.
func Run(ctx context.Context, c extprocv3.ExternalProcessorClient, sc Scenario, streams int, d time.Duration) Result {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < streams; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			e := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := OneCall(ctx, c, &sc); err != nil {
					e++
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += e
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	return Result{Calls: len(lat), Errors: errs, Duration: el, P50: pct(0.50), P95: pct(0.95), P99: pct(0.99)}
}

func hm(kv ...string) *corev3.HeaderMap {
	m := &corev3.HeaderMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Headers = append(m.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return m
}

// OneCall drives one tool call through c as Envoy would.
func OneCall(ctx context.Context, c extprocv3.ExternalProcessorClient, sc *Scenario) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		return err
	}
	exchange := func(m *extprocv3.ProcessingRequest) error {
		if err := s.Send(m); err != nil {
			return err
		}
		r, err := s.Recv()
		if err != nil {
			return err
		}
		if r.GetImmediateResponse() != nil {
			return errors.New("unexpected immediate response")
		}
		return nil
	}
	msgs := Messages(sc)
	for _, m := range msgs {
		if err := exchange(m); err != nil {
			return err
		}
	}
	return s.CloseSend()
}

// Messages are the ext_proc messages of sc in the order Envoy sends them.
func Messages(sc *Scenario) []*extprocv3.ProcessingRequest {
	msgs := []*extprocv3.ProcessingRequest{
		{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: hm(
			":method", "POST", ":path", sc.Path, ":authority", "gw", ":scheme", "http", "content-type", "application/json",
			"accept", "application/json, text/event-stream", "mcp-protocol-version", "2025-06-18", "mcp-session-id", "bench-session",
			"content-length", fmt.Sprint(len(sc.RequestBody)))}}},
		{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: sc.RequestBody, EndOfStream: true}}},
		{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: hm(":status", "200", "content-type", sc.ResponseCT)}}},
	}
	for i, chunk := range sc.ResponseBody {
		msgs = append(msgs, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: chunk, EndOfStream: i == len(sc.ResponseBody)-1}}})
	}
	return msgs
}

// Register registers the null processor on g.
func (n NullProcessor) Register(g *grpc.Server) { extprocv3.RegisterExternalProcessorServer(g, n) }
