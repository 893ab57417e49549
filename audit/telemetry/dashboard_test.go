package telemetry_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/audit/telemetry/telemetrytest"
)

const observabilityDir = "../../examples/observability"

// The example dashboard and alert rules use only metrics and labels the
// registry exposes, and the dashboard shows every portcullis metric.
func TestDashboardAndAlertsMatchMetrics(t *testing.T) {
	tel := telemetry.New()
	telemetrytest.ExerciseAll(tel)
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	fams, err := telemetrytest.ParseExposition(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	refs, err := telemetrytest.Refs(observabilityDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) < 20 {
		t.Fatalf("only %d metric references found; the extractor is broken", len(refs))
	}
	if err := telemetrytest.Check(refs, fams); err != nil {
		t.Errorf("dashboard/alerts drifted from the metrics:\n%v\nexposed: %v", err, telemetrytest.Names(fams))
	}
	var dashRefs []telemetrytest.Ref
	for _, r := range refs {
		if r.File == telemetrytest.DashboardFile {
			dashRefs = append(dashRefs, r)
		}
	}
	if missing := telemetrytest.Unreferenced(dashRefs, fams); len(missing) > 0 {
		t.Errorf("metrics not on the dashboard: %v", missing)
	}
}

// The checker itself catches drift: a renamed metric, an unknown label.
func TestCheckCatchesDrift(t *testing.T) {
	fams, err := telemetrytest.ParseExposition("# TYPE portcullis_x_total counter\nportcullis_x_total{server=\"a\"} 1\n# TYPE portcullis_h_seconds histogram\nportcullis_h_seconds_bucket{le=\"1\"} 1\nportcullis_h_seconds_sum 1\nportcullis_h_seconds_count 1\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want string
	}{
		{`rate(portcullis_x_total{server="a"}[5m])`, ""},
		{`histogram_quantile(0.9, rate(portcullis_h_seconds_bucket[5m]))`, ""},
		{`rate(portcullis_y_total[5m])`, "portcullis_y_total is not exposed"},
		{`rate(portcullis_x_total{tool="a"}[5m])`, `has no label "tool"`},
		{`portcullis_x_total_bucket`, "not exposed"},
	}
	for _, tt := range tests {
		err := telemetrytest.Check(telemetrytest.RefsIn("f", tt.expr), fams)
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.expr, err, tt.want)
		}
	}
}
