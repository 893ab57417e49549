package policy

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzDecodeArgs: decodeArgs never panics, and whatever it accepts is a map
// whose numbers are all finite float64 values (nothing CEL would see
// differently from the JSON).
func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{``, `{}`, `null`, `[1]`, `"x"`, `{"a":1e400}`, `{"a":9007199254740993}`, `{"a":9007199254740992}`,
		`{"a":{"b":[1,2,{"c":-1e-400}]}}`, `{"ref":"12345678901234567890","x":1}`, `{"a":-0}`, `{"a":1.5e308}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeArgs(raw)
		if err != nil {
			if m != nil {
				t.Fatal("map returned with an error")
			}
			return
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for _, c := range x {
					walk(c)
				}
			case []any:
				for _, c := range x {
					walk(c)
				}
			case float64:
				if math.IsInf(x, 0) || math.IsNaN(x) {
					t.Fatalf("non-finite number accepted from %q", raw)
				}
			case json.Number:
				t.Fatalf("json.Number left in the map from %q", raw)
			}
		}
		walk(m)
	})
}
