package extproc

import (
	"strings"
	"testing"
)

// planeDetector is a fakeDetector with a request plane: REQINJ is an
// injection the request plane scores 0.7, below the result-plane floor
// (RequestInjectionMinConfidence); REQLOW is flagged at 0.3, below
// RequestPlaneInjectionMinConfidence. Scan (the result plane) sees neither.
type planeDetector struct {
	fakeDetector
	requestScans int
}

func (p *planeDetector) ScanRequest(raw []byte) ([]Finding, error) {
	p.requestScans++
	out, err := p.Scan(raw)
	if strings.Contains(string(raw), "REQINJ") {
		out = append(out, Finding{Detector: "injection", Category: "prompt_injection", Count: 1, Confidence: 0.7})
	}
	if strings.Contains(string(raw), "REQLOW") {
		out = append(out, Finding{Detector: "injection", Category: "prompt_injection", Count: 1, Confidence: 0.3})
	}
	return out, err
}

// Client→server content is judged with the request plane when the detector
// has one, and the built-in floor refuses its findings from
// RequestPlaneInjectionMinConfidence; a detector without one keeps the
// high-confidence result-plane floor.
func TestRequestPlaneInjectionFloor(t *testing.T) {
	call := func(id, arg string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"read_file","arguments":{"q":"` + arg + `"}}}`
	}
	for _, tc := range []struct {
		name      string
		plane     bool
		body      string
		refused   bool
		wantScans int
	}{
		{"request plane flags: refused", true, call("1", "REQINJ"), true, 1},
		{"request plane: 0.6 refused", true, call("2", "LOWINJ"), true, 1},
		{"request plane: flagged at 0.3 audited, not refused", true, call("7", "REQLOW"), false, 1},
		{"request plane clean: passes", true, call("3", "SELECT 1"), false, 1},
		{"prompts/get judged on the request plane", true, `{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"p","arguments":{"x":"REQINJ"}}}`, true, 1},
		{"no request plane: low score passes", false, call("5", "LOWINJ"), false, 0},
		{"no request plane: high score refused", false, call("6", "INJECT"), true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			pd := &planeDetector{}
			if tc.plane {
				h.srv.eng.Detector = pd
			}
			replies := h.exchange(t, []string{"mcp-session-id", "s"}, tc.body, "", "")
			down := bodyOf(replies[len(replies)-1])
			if got := strings.Contains(down, "blocked by policy: injection"); got != tc.refused {
				t.Fatalf("refused = %v, want %v: %q", got, tc.refused, down)
			}
			if pd.requestScans != tc.wantScans {
				t.Fatalf("request-plane scans %d, want %d", pd.requestScans, tc.wantScans)
			}
			if len(h.obs.got) != 1 || h.obs.got[0].Plane.String() != "request" {
				t.Fatalf("outcomes %+v", h.obs.got)
			}
			if tc.refused && (h.obs.got[0].Decision.String() != "block" || !strings.Contains(strings.Join(h.obs.got[0].Rules, ","), "builtin:injection")) {
				t.Fatalf("outcome %+v, want a builtin:injection block", h.obs.got[0])
			}
		})
	}
}
