package protocol_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/protocol"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

var decision = policy.Decision{ID: "0123abcd", Rule: "writes-need-approval", Score: 42, PolicyVersion: "v1", Reasons: []string{"rule writes-need-approval: require_approval"}}

func msg(t *testing.T, body string, rev string) *mcp.Message {
	t.Helper()
	m, perr := mcp.ParseMessage([]byte(body), 64)
	require.Nil(t, perr)
	return &m
}

const (
	plainCall = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"a.txt","content":"x"}}}`
	urlCall   = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"a.txt"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{"url":{}}}}}}`
	formCall  = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"a.txt"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}}}`
	noCaps    = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"a.txt"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
)

func TestReplyGolden(t *testing.T) {
	exp := time.Date(2026, 12, 1, 10, 15, 0, 0, time.UTC)
	pending := approval.Result{Status: approval.StatusPending, ID: "apr_x", URL: "http://127.0.0.1:9090/approvals/apr_x", Expires: exp, Quorum: 1, RequestState: "pcap1.k1.e30.sig"}
	cases := []struct {
		name, body, rev string
		res             approval.Result
		self            bool
		err             error
	}{
		{"pending-2025-06-18", plainCall, "2025-06-18", pending, false, nil},
		{"pending-quorum", plainCall, "2025-11-25", approval.Result{Status: approval.StatusPending, ID: "apr_x", Approvals: 1, Quorum: 2, Expires: exp}, false, nil},
		{"pending-2026-url", urlCall, "2026-07-28", pending, false, nil},
		{"pending-2026-form-self", formCall, "2026-07-28", pending, true, nil},
		{"pending-2026-form-not-self", formCall, "2026-07-28", pending, false, nil},
		{"pending-2026-no-caps", noCaps, "2026-07-28", pending, false, nil},
		{"rejected", plainCall, "2025-06-18", approval.Result{Status: approval.StatusRejected, ID: "apr_x", Reason: "rejected by bob: no"}, false, nil},
		{"expired", plainCall, "2025-06-18", approval.Result{Status: approval.StatusExpired, ID: "apr_x", Reason: "approval apr_x timed out: nobody decided within 15m0s (default outcome: reject)"}, false, nil},
		{"invalid", urlCall, "2026-07-28", approval.Result{Status: approval.StatusInvalid, ID: "apr_x", Reason: "requestState belongs to a different call"}, false, nil},
		{"unavailable", plainCall, "2025-06-18", approval.Result{}, false, os.ErrDeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := msg(t, tc.body, tc.rev)
			b := protocol.NewBinding(policy.Identity{ID: "agent-1"}, "files", m, tc.rev, decision)
			tc.res.SelfAllowed = tc.self
			out := protocol.Reply(m.ID, b, decision, tc.res, tc.err)
			require.True(t, json.Valid(out), "%s", out)
			require.Equal(t, "7", gjson.GetBytes(out, "id").Raw)
			var pretty any
			require.NoError(t, json.Unmarshal(out, &pretty))
			got, _ := json.MarshalIndent(pretty, "", "  ")
			path := filepath.Join("testdata", tc.name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run with -update to create")
			require.JSONEq(t, string(want), string(got))
		})
	}
}

func TestNewBinding(t *testing.T) {
	m := msg(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"b":1,"a":2},"requestState":"pcap1.k.p.s",`+
		`"inputResponses":{"portcullis_approval":{"result":{"action":"accept","content":{"approve":true}}}},`+
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{},"url":{}}}}}}`, "")
	d := decision
	d.Factors = []policy.Factor{{Name: "action", Value: 80, Weight: 3, Reason: "destructive"}}
	b := protocol.NewBinding(policy.Identity{ID: "agent-1", Groups: []string{"g"}}, "files", m, "", d)
	require.Equal(t, "2026-07-28", b.Revision)
	require.Equal(t, "pcap1.k.p.s", b.RequestState)
	require.True(t, b.SelfApproval)
	require.True(t, b.ElicitURL)
	require.True(t, b.ElicitForm)
	require.Equal(t, `{"b":1,"a":2}`, string(b.Arguments))
	require.Equal(t, []approval.Factor{{Name: "action", Score: 80, Weight: 3, Reason: "destructive"}}, b.Factors)

	// Before 2026-07-28 the retry fields are not the gateway's protocol.
	old := msg(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","requestState":"pcap1.k.p.s","inputResponses":{"portcullis_approval":{"action":"accept","content":{"approve":true}}}}}`, "")
	b = protocol.NewBinding(policy.Identity{ID: "a"}, "s", old, "2025-06-18", decision)
	require.Empty(t, b.RequestState)
	require.False(t, b.SelfApproval)
	// A foreign requestState (an upstream's own) is left alone.
	foreign := msg(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","requestState":"upstream-state","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, "")
	b = protocol.NewBinding(policy.Identity{ID: "a"}, "s", foreign, "", decision)
	require.Empty(t, b.RequestState)
}

func TestStripRetry(t *testing.T) {
	in := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{},"requestState":"pcap1.x","inputResponses":{"portcullis_approval":{"result":{}},"other":{"result":{}}}}}`)
	out := protocol.StripRetry(in)
	require.False(t, gjson.GetBytes(out, "params.requestState").Exists())
	require.False(t, gjson.GetBytes(out, "params.inputResponses.portcullis_approval").Exists())
	require.True(t, gjson.GetBytes(out, "params.inputResponses.other").Exists(), "other input responses are the upstream's")
}
