package decisionlog

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

// plain has Decision's fields and tags but none of its code paths: the
// reference encoding.
type plain Decision

var encodeCases = []struct {
	name string
	d    Decision
}{
	{"sample", *sample()},
	{"empty", Decision{}},
	{"escapes", Decision{ID: "a\"b\\c\n\t\r\b\f\x01", Principal: "<script>&", Rule: "risk:high", Tool: "t\u2028\u2029",
		Factors: []Factor{{Name: "behavioral", Score: 75, Weight: 2, Reason: "velocity 12/min (6x) → block"}}}},
	{"oauth principal", Decision{ID: "d1", Principal: "alice", ClientID: "https://app.example/cimd", Actor: []string{"portcullis", "ci\"bot"}}},
	{"invalid utf8", Decision{ID: "x\xff\xfey", Findings: []Finding{{Type: "\xc3", Start: -1, End: 1 << 40}, {Type: "email", Count: 3}}}},
	{"negative and zone", Decision{Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600)), Score: -5,
		Latency: Latency{Total: -time.Microsecond, Parse: 1500 * time.Nanosecond}}},
}

func TestAppendMatchesMarshal(t *testing.T) {
	for _, tt := range encodeCases {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(plain(tt.d))
			if err != nil {
				t.Fatal(err)
			}
			if got := appendDecision(nil, &tt.d); !bytes.Equal(got, want) {
				t.Errorf("appendDecision:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// FuzzAppendMatchesMarshal: for any strings and numbers, the hand-written
// encoder writes exactly what encoding/json writes. Seeded from encodeCases;
// new interesting inputs are kept under testdata/fuzz.
func FuzzAppendMatchesMarshal(f *testing.F) {
	for _, tt := range encodeCases {
		var reason, ftype string
		if len(tt.d.Factors) > 0 {
			reason = tt.d.Factors[0].Reason
		}
		if len(tt.d.Findings) > 0 {
			ftype = tt.d.Findings[0].Type
		}
		f.Add(tt.d.ID, tt.d.Principal, tt.d.Tool, reason, ftype, tt.d.Score, int64(tt.d.Latency.Total), tt.d.Enforced)
	}
	f.Fuzz(func(t *testing.T, id, principal, tool, reason, ftype string, score int, total int64, enforced bool) {
		d := Decision{Time: time.Unix(0, total).UTC(), ID: id, Principal: principal, Tool: tool, Action: tool, Score: score, Enforced: enforced,
			Factors:  []Factor{{Name: principal, Score: score, Weight: -score, Reason: reason}},
			Findings: []Finding{{Type: ftype, Rule: reason, Path: id, Start: score, End: -score, Count: score}},
			Latency:  Latency{Total: time.Duration(total), Detect: time.Duration(score)}}
		want, err := json.Marshal(plain(d))
		if err != nil {
			t.Skip(err) // times outside RFC 3339's year range
		}
		if got := appendDecision(nil, &d); !bytes.Equal(got, want) {
			t.Fatalf("appendDecision:\n%q\nencoding/json:\n%q", got, want)
		}
		back, err := Parse(want)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(id) && back.ID != id {
			t.Fatalf("round trip id %q -> %q", d.ID, back.ID)
		}
	})
}

// BenchmarkEncode compares the hand-written encoder with encoding/json
// (baseline) on the same decision in the same run.
func BenchmarkEncode(b *testing.B) {
	d := sample()
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendDecision(buf[:0], d)
		}
	})
	b.Run("encoding-json-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(plain(*d)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
