package gateway_test

import (
	"testing"
)

// TestApprovalsPendingMetric: portcullis_approvals_pending follows the
// store: one held call makes it 1, a second distinct one 2, approving and
// rejecting bring it back to 0.
func TestApprovalsPendingMetric(t *testing.T) {
	e := startApprovalEnv(t, approvalOpts{})
	admin := e.gw.AdminAddr()
	a := e.connect(t, "agent-a")
	pending := func(want float64) {
		t.Helper()
		eventually(t, "portcullis_approvals_pending to follow the store", func() bool {
			return metricValue(t, admin, "portcullis_approvals_pending") == want
		})
	}
	pending(0)
	ids := make([]string, 0, 2)
	for _, path := range []string{"one.txt", "two.txt"} {
		code, msg, d := write(t, a, map[string]any{"path": path, "content": "x"})
		if code != -32002 {
			t.Fatalf("want a held call, got %d %s", code, msg)
		}
		ids = append(ids, d["approval_id"].(string))
		pending(float64(len(ids)))
	}
	if out, err := cli(t, "approvals", "approve", ids[0], "--admin", e.admin, "--as", "alice"); err != nil {
		t.Fatalf("approve: %v %s", err, out)
	}
	pending(1)
	if out, err := cli(t, "approvals", "reject", ids[1], "--admin", e.admin, "--as", "bob"); err != nil {
		t.Fatalf("reject: %v %s", err, out)
	}
	pending(0)
}
