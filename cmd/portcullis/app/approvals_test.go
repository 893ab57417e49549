package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/console"
)

func approvalsServer(t *testing.T) (*httptest.Server, *approval.Service) {
	t.Helper()
	cfg := approval.Config{Rules: []approval.Rule{{Approvers: []string{"alice", "bob"}, Quorum: 2}}}
	cfg.ApplyDefaults()
	svc, err := approval.New(cfg, approval.NewMemoryStore(0))
	require.NoError(t, err)
	h, err := console.New(console.Options{Service: svc, Auth: console.InsecureDev{}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, svc
}

func TestApprovalsCLI(t *testing.T) {
	srv, svc := approvalsServer(t)
	ctx := context.Background()
	res, err := svc.Check(ctx, approval.Binding{Principal: "agent-1", Server: "files", Method: "tools/call", Tool: "write_file",
		Arguments: []byte(`{"path":"out.txt","password":"hunter2"}`), Score: 60,
		Factors: []approval.Factor{{Name: "action", Score: 80, Weight: 3, Reason: "destructive tool"}}})
	require.NoError(t, err)
	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := Main(ctx, append(args, "--admin", srv.URL), &out, &errb)
		return out.String() + errb.String(), err
	}
	cases := []struct {
		name string
		args []string
		want []string
		err  string
	}{
		{"list needs an identity", []string{"approvals", "list"}, nil, "X-Portcullis-Approver"},
		{"list", []string{"approvals", "list", "--as", "alice", "--status", "pending"}, []string{res.ID, "pending", "write_file", "agent-1", "60"}, ""},
		{"show", []string{"approvals", "show", res.ID, "--as", "alice"}, []string{"tools/call write_file on files by agent-1", "action 80 ×3  destructive tool", "«redacted»", "quorum   2"}, ""},
		{"outsider", []string{"approvals", "approve", res.ID, "--as", "mallory"}, nil, "not an approver"},
		{"first of two", []string{"approvals", "approve", res.ID, "--as", "alice", "--comment", "ok"}, []string{res.ID + ": pending (1 of 2 approvals)"}, ""},
		{"second of two", []string{"approvals", "approve", res.ID, "--as", "bob"}, []string{res.ID + ": approved (2 of 2 approvals)"}, ""},
		{"too late", []string{"approvals", "reject", res.ID, "--as", "bob"}, nil, "409"},
		{"missing id", []string{"approvals", "approve", "--as", "bob"}, nil, "want 1 argument"},
		{"unknown id", []string{"approvals", "show", "apr_nope", "--as", "bob"}, nil, "404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(tc.args...)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err, out)
				return
			}
			require.NoError(t, err, out)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			require.False(t, strings.Contains(out, "hunter2"), "arguments are redacted")
		})
	}
	got, err := svc.Check(ctx, approval.Binding{Principal: "agent-1", Server: "files", Method: "tools/call", Tool: "write_file",
		Arguments: []byte(`{"password":"hunter2","path":"out.txt"}`), Score: 60})
	require.NoError(t, err)
	require.Equal(t, approval.StatusApproved, got.Status)
}
