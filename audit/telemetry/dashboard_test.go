package telemetry_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// The dashboard is well-formed for Grafana: unique panel ids, panels inside
// the 24-column grid and not overlapping, every query on the selectable
// Prometheus data source with a unique refId.
func TestDashboardLayout(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(observabilityDir, telemetrytest.DashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int                      `json:"id"`
			Type    string                   `json:"type"`
			Title   string                   `json:"title"`
			GridPos struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []struct {
				RefID      string `json:"refId"`
				Expr       string `json:"expr"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatal("dashboard without uid or panels")
	}
	ids := map[int]bool{}
	type cell struct{ x, y int }
	used := map[cell]string{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("duplicate panel id %d", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q outside the grid: %+v", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
				}
				used[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if q.Expr == "" || q.RefID == "" || refs[q.RefID] || q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: bad target %+v", p.Title, q)
			}
			refs[q.RefID] = true
		}
	}
}
