package dataplane

import (
	"context"
	"errors"
	"io"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// inProcessTransport makes newEnv connect the proxy to its processor with
// InProcess instead of gRPC over an in-memory listener. Only
// TestMatrixInProcess sets it, around subtests that finish before the next
// top-level test starts.
var inProcessTransport bool

// TestMatrixInProcess runs the whole data-plane matrix over the in-process
// connection: it must behave exactly as over gRPC.
func TestMatrixInProcess(t *testing.T) {
	inProcessTransport = true
	t.Cleanup(func() { inProcessTransport = false })
	t.Run("request", TestMatrixRequestPath)
	t.Run("response", TestMatrixResponsePath)
	t.Run("errors", TestMatrixErrors)
}

// echoProc answers each request with an empty reply of the matching type,
// records the incoming metadata, and fails with the status in fail.
type echoProc struct {
	extprocv3.UnimplementedExternalProcessorServer
	md   chan metadata.MD
	fail error
	seen chan error
}

func (p *echoProc) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	md, _ := metadata.FromIncomingContext(s.Context())
	p.md <- md
	for {
		req, err := s.Recv()
		if err != nil {
			p.seen <- err
			return nil
		}
		if p.fail != nil {
			return p.fail
		}
		if err := s.Send(cont(req)[0]); err != nil {
			return err
		}
	}
}

func TestInProcessStream(t *testing.T) {
	reqHeaders := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{}}}
	for _, tc := range []struct {
		name    string
		fail    error
		cancel  bool       // cancel the client context instead of CloseSend
		wantRcv codes.Code // status of the client's Recv after the exchange (OK: io.EOF)
		wantSrv codes.Code // how the processor's Recv ended (OK: io.EOF)
	}{
		{name: "clean close", wantRcv: codes.OK, wantSrv: codes.OK},
		{name: "processor error", fail: status.Error(codes.PermissionDenied, "no"), wantRcv: codes.PermissionDenied},
		{name: "plain error becomes Unknown", fail: errors.New("boom"), wantRcv: codes.Unknown},
		{name: "client cancels", cancel: true, wantRcv: codes.Canceled, wantSrv: codes.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &echoProc{md: make(chan metadata.MD, 1), fail: tc.fail, seen: make(chan error, 1)}
			ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "x-portcullis-server", "files"))
			defer cancel()
			st, err := extprocv3.NewExternalProcessorClient(InProcess(p)).Process(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := <-p.md; len(got.Get("x-portcullis-server")) != 1 || got.Get("x-portcullis-server")[0] != "files" {
				t.Fatalf("metadata %v", got)
			}
			if err := st.Send(reqHeaders); err != nil {
				t.Fatal(err)
			}
			if tc.fail == nil {
				resp, err := st.Recv()
				if err != nil || resp.GetRequestHeaders() == nil {
					t.Fatalf("Recv = %v, %v", resp, err)
				}
			}
			if tc.cancel {
				cancel()
			} else {
				_ = st.CloseSend()
			}
			_, err = st.Recv()
			if tc.wantRcv == codes.OK {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("client Recv = %v, want io.EOF", err)
				}
			} else if status.Code(err) != tc.wantRcv {
				t.Fatalf("client Recv = %v, want %v", err, tc.wantRcv)
			}
			if tc.fail != nil {
				return
			}
			srvErr := <-p.seen
			if tc.wantSrv == codes.OK && !errors.Is(srvErr, io.EOF) || tc.wantSrv != codes.OK && status.Code(srvErr) != tc.wantSrv {
				t.Fatalf("processor Recv ended with %v, want %v", srvErr, tc.wantSrv)
			}
		})
	}
}
