package gateway

import (
	"strings"
	"testing"
)

func TestLocalRule(t *testing.T) {
	for _, tc := range []struct{ details, want string }{
		{"path_normalization_failed", "dataplane:path-normalization-failed"},
		{"request_payload_too_large", "dataplane:request-payload-too-large"},
		{"upstream_reset_before_response_started{connection_failure}", "dataplane:upstream-reset-before-response-started-connection-failure"},
		{"ext_proc_error_gRPC_error_14{unavailable}", "dataplane:ext-proc-error-grpc-error-14-unavailable"},
		{"", "dataplane:local-reply"},
		{"__", "dataplane:local-reply"},
		{"a b\nc\"d", "dataplane:a-b-c-d"},
	} {
		if got := localRule(tc.details); got != tc.want {
			t.Errorf("localRule(%q) = %q, want %q", tc.details, got, tc.want)
		}
	}
	if long := localRule("x_" + strings.Repeat("y", 200)); len(long) != maxLocalRule {
		t.Errorf("rule of %d bytes, want %d (cut)", len(long), maxLocalRule)
	}
}
