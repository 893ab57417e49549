package decisionlog

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Factor is one risk factor's contribution: its score (0-100), the weight
// the policy gives it and the reason the engine reports.
type Factor struct {
	Name   string `json:"name"`
	Score  int    `json:"score"`
	Weight int    `json:"weight"`
	Reason string `json:"reason,omitempty"`
}

// Finding is a detector hit without its content: the entity type
// ("email", "secret.github_token", "injection"), the detector rule that
// matched, and where (JSON path of the leaf and rune offsets in it).
// N returns how many hits it stands for.
type Finding struct {
	Type  string `json:"type"`
	Rule  string `json:"rule,omitempty"`
	Path  string `json:"path,omitempty"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Count > 1 when the detector reports several hits as one finding
	// (no span then); 0 means one.
	Count int `json:"count,omitempty"`
}

// N is the number of hits the finding stands for (at least 1).
func (f Finding) N() int { return max(f.Count, 1) }

// Latency is the time spent per phase of one decision. A phase that did not
// run is zero.
type Latency struct {
	Parse  time.Duration
	Trust  time.Duration
	Detect time.Duration
	Policy time.Duration
	Audit  time.Duration
	Total  time.Duration
}

// Phases are the phase names, in processing order, used in log lines and as
// the phase label of telemetry's latency histogram.
var Phases = []string{"parse", "trust", "detect", "policy", "audit", "total"}

// Each calls f for every phase name with its duration, in Phases order.
func (l Latency) Each(f func(phase string, d time.Duration)) {
	f("parse", l.Parse)
	f("trust", l.Trust)
	f("detect", l.Detect)
	f("policy", l.Policy)
	f("audit", l.Audit)
	f("total", l.Total)
}

// MarshalJSON writes microseconds per phase: {"parse":12,...}.
func (l Latency) MarshalJSON() ([]byte, error) { return appendLatency(make([]byte, 0, 96), l), nil }

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Latency) UnmarshalJSON(b []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("latency_us: %w", err)
	}
	us := func(k string) time.Duration { return time.Duration(m[k]) * time.Microsecond }
	*l = Latency{Parse: us("parse"), Trust: us("trust"), Detect: us("detect"), Policy: us("policy"), Audit: us("audit"), Total: us("total")}
	return nil
}

// Decision is the one structured, content-free record of a gateway decision.
type Decision struct {
	Time      time.Time `json:"time"`
	ID        string    `json:"decision_id"`
	Principal string    `json:"principal,omitempty"`
	// ClientID is the principal's OAuth client and Actor its RFC 8693
	// delegation chain, current actor first (from the validated token).
	ClientID string   `json:"client_id,omitempty"`
	Actor    []string `json:"actor,omitempty"`
	Server   string   `json:"server,omitempty"`
	Method   string   `json:"method,omitempty"`
	Tool     string   `json:"tool,omitempty"`
	// Plane is "request" or "result".
	Plane string `json:"plane,omitempty"`
	// Action is what the gateway did; WouldAction what enforcement of every
	// rule would have done. Enforced is Action == WouldAction.
	Action        string    `json:"action"`
	WouldAction   string    `json:"would_action,omitempty"`
	Mode          string    `json:"mode,omitempty"`
	Enforced      bool      `json:"enforced"`
	Rule          string    `json:"rule,omitempty"`
	PolicyVersion string    `json:"policy_version,omitempty"`
	Score         int       `json:"score"`
	Factors       []Factor  `json:"factors,omitempty"`
	Findings      []Finding `json:"findings,omitempty"`
	Latency       Latency   `json:"latency_us"`
}

// Refusal reports whether the decision refused or held the call, or would
// have in enforce mode (a dry-run block is what an operator rolling out
// wants to see). Redaction and sandboxing let the call proceed.
func (d *Decision) Refusal() bool { return refusing(d.Action) || refusing(d.WouldAction) }

func refusing(action string) bool {
	switch action {
	case "block", "require_approval", "approval":
		return true
	}
	return false
}

// Level selects which decisions are logged.
type Level uint8

// Levels, the values of log.decisions.
const (
	LevelOff Level = iota
	LevelRefusals
	LevelAll
)

// ParseLevel parses "all", "refusals" or "off" ("" is off).
func ParseLevel(s string) (Level, error) {
	switch s {
	case "", "off":
		return LevelOff, nil
	case "refusals":
		return LevelRefusals, nil
	case "all":
		return LevelAll, nil
	}
	return LevelOff, fmt.Errorf("unknown level %q (want all, refusals or off)", s)
}

func (l Level) String() string {
	switch l {
	case LevelRefusals:
		return "refusals"
	case LevelAll:
		return "all"
	}
	return "off"
}

// DecisionLogger writes one JSON line per selected decision. A nil
// *DecisionLogger logs nothing.
type DecisionLogger struct {
	level  Level
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	errors atomic.Uint64
}

// New returns a logger writing to w at level.
func New(w io.Writer, level Level) *DecisionLogger {
	if w == nil {
		level = LevelOff
	}
	return &DecisionLogger{w: w, level: level}
}

// Level returns the configured level.
func (l *DecisionLogger) Level() Level {
	if l == nil {
		return LevelOff
	}
	return l.level
}

// Wants reports whether d would be logged; callers may skip building
// expensive fields when it is false.
func (l *DecisionLogger) Wants(d *Decision) bool {
	if l == nil || d == nil {
		return false
	}
	switch l.level {
	case LevelAll:
		return true
	case LevelRefusals:
		return d.Refusal()
	}
	return false
}

// Log writes d as one line if the level selects it.
func (l *DecisionLogger) Log(d *Decision) error {
	if !l.Wants(d) {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(appendDecision(l.buf[:0], d), '\n')
	if _, err := l.w.Write(l.buf); err != nil {
		l.errors.Add(1)
		return fmt.Errorf("decision log: write %s: %w", d.ID, err)
	}
	return nil
}

// Errors is the number of lines that could not be written.
func (l *DecisionLogger) Errors() uint64 {
	if l == nil {
		return 0
	}
	return l.errors.Load()
}

// Parse reads one decision log line.
func Parse(line []byte) (Decision, error) {
	var d Decision
	if err := json.Unmarshal(line, &d); err != nil {
		return Decision{}, fmt.Errorf("decision log line: %w", err)
	}
	return d, nil
}
