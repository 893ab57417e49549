package policy

import (
	"testing"
	"time"
)

func TestSmokeExample(t *testing.T) {
	p, err := Load("../examples/policies/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	d := p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "database", Tool: "execute_sql", Args: []byte(`{"query":"DELETE FROM x"}`),
		Agent: Identity{ID: "a", Groups: []string{"data-team"}, Trust: "medium", Source: SourceJWT}, Now: now})
	t.Logf("%+v", d)
	d = p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "filesystem", Tool: "read_file", Args: []byte(`{"path":"/workspace/a"}`),
		Agent: Identity{ID: "a", Trust: "high", Source: SourceJWT}, Now: now})
	t.Logf("%+v", d)
}
