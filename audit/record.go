package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/portcullis-mcp/portcullis/internal/jsonstr"
)

// Plane says which half of a tool call a record describes.
type Plane uint8

// Planes.
const (
	PlaneRequest Plane = iota + 1 // the client's JSON-RPC request
	PlaneResult                   // the server's response / result
)

func (p Plane) String() string {
	switch p {
	case PlaneRequest:
		return "request"
	case PlaneResult:
		return "result"
	}
	return "unknown"
}

// Decision is the gateway's verdict on one message.
type Decision uint8

// Decisions. Each maps to an OCSF security_control action_id / disposition_id.
const (
	DecisionAllow    Decision = iota + 1 // allowed unchanged
	DecisionBlock                        // refused (JSON-RPC error to the client)
	DecisionApproval                     // held for human approval (delayed)
	DecisionSandbox                      // re-routed to a sandbox (isolated)
	DecisionDryRun                       // shadow mode: would-be decision only logged
	DecisionRedact                       // allowed with content modified (redaction)
)

// String is the stable lower-case name used in records and metric labels.
func (d Decision) String() string {
	switch d {
	case DecisionAllow:
		return "allow"
	case DecisionBlock:
		return "block"
	case DecisionApproval:
		return "approval"
	case DecisionSandbox:
		return "sandbox"
	case DecisionDryRun:
		return "dry_run"
	case DecisionRedact:
		return "redact"
	}
	return "unknown"
}

// OCSF returns the OCSF security_control action_id, action, disposition_id
// and disposition for d (docs/policy-audit-telemetry.md §3.1).
func (d Decision) OCSF() (actionID int, action string, dispositionID int, disposition string) {
	switch d {
	case DecisionAllow:
		return 1, "Allowed", 1, "Allowed"
	case DecisionBlock:
		return 2, "Denied", 2, "Blocked"
	case DecisionApproval:
		return 4, "Modified", 14, "Delayed"
	case DecisionSandbox:
		return 4, "Modified", 4, "Isolated"
	case DecisionDryRun:
		return 3, "Observed", 17, "Logged"
	case DecisionRedact:
		return 4, "Modified", 1, "Allowed"
	}
	return 0, "Unknown", 0, "Unknown"
}

// Factor is one named contribution to a risk score: its value, the weight
// the policy gave it and the policy's short reason (generated text such as
// "trust untrusted" or "2 finding(s), most sensitive email", never message
// content), so `portcullis explain` can show why a score is what it is.
type Factor struct {
	Name   string
	Score  int
	Weight int
	Reason string
}

// Finding is a detector hit summarised as a type and a count. Raw matched
// values are never recorded.
type Finding struct {
	Type  string
	Count int
}

// Content is the message content, recorded only when Config.Content is true
// (the Log clears it otherwise, before the record is queued). Callers pass
// already-redacted content.
type Content struct {
	Arguments string // JSON text of params.arguments
	Result    string // JSON text of the result
	Error     string // error message
	// Redacted says the caller already redacted the content. For a redact
	// decision (Decision or WouldBe) content that is not marked redacted is
	// redacted by the Log's ContentRedactor, or withheld when there is none:
	// content: true never stores what a redact decision protected.
	Redacted bool
}

// Record is one audited decision, shaped after OCSF API Activity (6003) with
// the security_control profile. Fill it, then hand it to Log.Append, which
// takes ownership (do not touch it afterwards). Metadata fields must not carry
// content: tool and server names are allow-listed identifiers, digests are
// produced by Digest.
type Record struct {
	Time          time.Time
	Plane         Plane
	Decision      Decision
	WouldBe       Decision // for DecisionDryRun: what enforcement would have done
	Agent         string   // agent / client identity
	ClientID      string   // the agent's OAuth client (OCSF actor.app_uid)
	Actor         []string // RFC 8693 delegation chain, current actor first
	Session       string   // MCP session id
	Server        string   // upstream server name
	Tool          string   // tool (or prompt/resource) name
	Method        string   // JSON-RPC method, e.g. tools/call
	RPCID         string   // JSON-RPC id in string form
	DecisionID    string   // the gateway's decision id, as returned to the client in error data
	Rules         []string // matched policy rule ids
	Risk          int      // 0..100
	Factors       []Factor
	Findings      []Finding
	PolicyVersion string
	TraceID       string // W3C trace id (hex)
	ArgsDigest    string // Digest of the arguments
	ResultDigest  string // Digest of the result
	ErrorType     string // JSON-RPC error code as string, or "tool_error"
	Duration      time.Duration
	Content       *Content

	kind     string // "" (decision), "gap", "recovery"
	dropped  uint64 // gap records: records dropped
	note     string // recovery records
	withheld string // why Content was not stored, if it was dropped
}

var recordPool = sync.Pool{New: func() any { return new(Record) }}

// NewRecord returns a zeroed Record from a pool, stamped with the current
// time. Log.Append returns it to the pool after encoding it.
func NewRecord(plane Plane, d Decision) *Record {
	r := recordPool.Get().(*Record)
	r.Time = time.Now()
	r.Plane = plane
	r.Decision = d
	return r
}

func (r *Record) release() {
	rules, factors, findings, actor := r.Rules[:0], r.Factors[:0], r.Findings[:0], r.Actor[:0]
	*r = Record{Rules: rules, Factors: factors, Findings: findings, Actor: actor}
	recordPool.Put(r)
}

// Digest returns "sha256:<hex>" of b, or "hmac-sha256:<hex>" when key is
// non-empty (recommended: plain hashes of low-entropy arguments can be
// reversed by dictionary).
func Digest(key, b []byte) string {
	var sum [32]byte
	prefix := "sha256:"
	if len(key) > 0 {
		m := hmac.New(sha256.New, key)
		m.Write(b)
		m.Sum(sum[:0])
		prefix = "hmac-sha256:"
	} else {
		sum = sha256.Sum256(b)
	}
	out := make([]byte, 0, len(prefix)+64)
	out = append(out, prefix...)
	out = hex.AppendEncode(out, sum[:])
	return string(out)
}

func riskLevel(score int) (int, string) {
	switch {
	case score >= 90:
		return 4, "Critical"
	case score >= 70:
		return 3, "High"
	case score >= 40:
		return 2, "Medium"
	case score > 0:
		return 1, "Low"
	}
	return 0, "Info"
}

// appendCanonical appends the canonical JSON encoding of r (fixed field
// order, empty fields omitted, no insignificant whitespace, strings escaped
// per RFC 8259 with invalid UTF-8 replaced by U+FFFD). seq and prev are the
// chain position and the previous record's hash.
func (r *Record) appendCanonical(b []byte, seq uint64, prev []byte, withContent bool) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"prev_hash":"`...)
	b = hex.AppendEncode(b, prev)
	b = append(b, '"')
	kind := r.kind
	if kind == "" {
		kind = "decision"
	}
	b = appendStrField(b, "kind", kind)
	ts := r.Time.UTC()
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, ts.UnixMilli(), 10)
	b = append(b, `,"time_dt":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = append(b, `,"class_uid":6003,"category_uid":6,"activity_id":99,"type_uid":600399`...)
	b = append(b, `,"metadata":{"version":"1.8.0","log_name":"portcullis.audit","product":{"name":"Portcullis","vendor_name":"Portcullis"},"profiles":["security_control"]}`...)
	if kind != "decision" {
		b = append(b, `,"severity_id":3,"unmapped":{"portcullis":{"event":"`...)
		b = append(b, kind...)
		b = append(b, '"')
		if r.dropped > 0 {
			b = append(b, `,"dropped":`...)
			b = strconv.AppendUint(b, r.dropped, 10)
		}
		b = appendStrField(b, "note", r.note)
		return append(b, "}}}"...)
	}
	aid, an, did, dn := r.Decision.OCSF()
	b = append(b, `,"action_id":`...)
	b = strconv.AppendInt(b, int64(aid), 10)
	b = appendStrField(b, "action", an)
	b = append(b, `,"disposition_id":`...)
	b = strconv.AppendInt(b, int64(did), 10)
	b = appendStrField(b, "disposition", dn)
	lvl, lname := riskLevel(r.Risk)
	b = append(b, `,"severity_id":`...)
	b = strconv.AppendInt(b, int64(lvl+1), 10)
	b = append(b, `,"risk_score":`...)
	b = strconv.AppendInt(b, int64(r.Risk), 10)
	b = append(b, `,"risk_level_id":`...)
	b = strconv.AppendInt(b, int64(lvl), 10)
	b = appendStrField(b, "risk_level", lname)
	if r.ErrorType != "" || r.Decision == DecisionBlock {
		b = append(b, `,"status_id":2,"status":"Failure"`...)
	} else {
		b = append(b, `,"status_id":1,"status":"Success"`...)
	}
	b = append(b, `,"actor":{`...)
	if r.ClientID != "" {
		b = append(b, `"app_uid":"`...)
		b = jsonstr.AppendInner(b, r.ClientID)
		b = append(b, `",`...)
	}
	b = append(b, `"user":{"uid":"`...)
	b = jsonstr.AppendInner(b, r.Agent)
	b = append(b, `"},"session":{"uid":"`...)
	b = jsonstr.AppendInner(b, r.Session)
	b = append(b, `"}},"api":{"operation":"`...)
	b = jsonstr.AppendInner(b, r.Method)
	b = append(b, `","service":{"name":"`...)
	b = jsonstr.AppendInner(b, r.Server)
	b = append(b, `"},"request":{"uid":"`...)
	b = jsonstr.AppendInner(b, r.RPCID)
	b = append(b, `"}},"resources":[{"type":"mcp_tool","name":"`...)
	b = jsonstr.AppendInner(b, r.Tool)
	b = append(b, `"}],"policy":{"uid":"`...)
	for i, id := range r.Rules {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.AppendInner(b, id)
	}
	b = append(b, `","version":"`...)
	b = jsonstr.AppendInner(b, r.PolicyVersion)
	b = append(b, `"}`...)
	if r.TraceID != "" {
		b = append(b, `,"trace":{"uid":"`...)
		b = jsonstr.AppendInner(b, r.TraceID)
		b = append(b, `"}`...)
	}
	b = append(b, `,"unmapped":{"portcullis":{`...)
	if r.DecisionID != "" {
		b = append(b, `"decision_id":"`...)
		b = jsonstr.AppendInner(b, r.DecisionID)
		b = append(b, `",`...)
	}
	b = append(b, `"plane":"`...)
	b = append(b, r.Plane.String()...)
	b = append(b, `","decision":"`...)
	b = append(b, r.Decision.String()...)
	b = append(b, '"')
	if r.WouldBe != 0 {
		b = appendStrField(b, "would_be", r.WouldBe.String())
	}
	if len(r.Actor) > 0 {
		b = append(b, `,"delegation":[`...)
		for i, a := range r.Actor {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = jsonstr.AppendInner(b, a)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = append(b, `,"rule_ids":[`...)
	for i, id := range r.Rules {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = jsonstr.AppendInner(b, id)
		b = append(b, '"')
	}
	b = append(b, `],"risk_factors":[`...)
	for i, f := range r.Factors {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":"`...)
		b = jsonstr.AppendInner(b, f.Name)
		b = append(b, `","score":`...)
		b = strconv.AppendInt(b, int64(f.Score), 10)
		b = append(b, `,"weight":`...)
		b = strconv.AppendInt(b, int64(f.Weight), 10)
		if f.Reason != "" {
			b = append(b, `,"reason":"`...)
			b = jsonstr.AppendInner(b, f.Reason)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, `],"findings":[`...)
	for i, f := range r.Findings {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"`...)
		b = jsonstr.AppendInner(b, f.Type)
		b = append(b, `","count":`...)
		b = strconv.AppendInt(b, int64(f.Count), 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendStrField(b, "args_digest", r.ArgsDigest)
	b = appendStrField(b, "result_digest", r.ResultDigest)
	b = appendStrField(b, "error_type", r.ErrorType)
	if r.Duration > 0 {
		b = append(b, `,"duration_us":`...)
		b = strconv.AppendInt(b, r.Duration.Microseconds(), 10)
	}
	b = appendStrField(b, "content_withheld", r.withheld)
	if withContent && r.Content != nil {
		b = append(b, `,"content":{"arguments":"`...)
		b = jsonstr.AppendInner(b, r.Content.Arguments)
		b = append(b, `","result":"`...)
		b = jsonstr.AppendInner(b, r.Content.Result)
		b = append(b, `","error":"`...)
		b = jsonstr.AppendInner(b, r.Content.Error)
		b = append(b, `"}`...)
	}
	return append(b, "}}}"...)
}

// MaxFieldBytes bounds every identifier a record stores (agent, session,
// server, tool, method, JSON-RPC id, rule and finding names, ...). Many are
// chosen by the client: a longer value keeps a short prefix and a digest of
// the whole, so one huge request cannot write megabytes of audit.
const MaxFieldBytes = 128

// boundedPrefix is how much of an over-long identifier is kept readable.
const boundedPrefix = 40

// bound returns s when it is short enough, else a valid-UTF-8 prefix, "…",
// and the digest of all of s (keyed when a digest key is configured).
func bound(key []byte, s string) string {
	if len(s) <= MaxFieldBytes {
		return s
	}
	cut := boundedPrefix
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…" + Digest(key, []byte(s))
}

// sanitize bounds every identifier and, in content-free mode, replaces the
// session id (a bearer capability in MCP) by its digest.
func (r *Record) sanitize(key []byte, content bool) {
	if !content && r.Session != "" {
		r.Session = Digest(key, []byte(r.Session))
	}
	for i := range r.Actor {
		r.Actor[i] = bound(key, r.Actor[i])
	}
	for _, f := range [...]*string{&r.Agent, &r.ClientID, &r.Session, &r.Server, &r.Tool, &r.Method, &r.RPCID,
		&r.DecisionID, &r.PolicyVersion, &r.TraceID, &r.ErrorType, &r.ArgsDigest, &r.ResultDigest} {
		*f = bound(key, *f)
	}
	for i := range r.Rules {
		r.Rules[i] = bound(key, r.Rules[i])
	}
	for i := range r.Factors {
		r.Factors[i].Name = bound(key, r.Factors[i].Name)
		r.Factors[i].Reason = bound(key, r.Factors[i].Reason)
	}
	for i := range r.Findings {
		r.Findings[i].Type = bound(key, r.Findings[i].Type)
	}
}

func appendStrField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":"`...)
	b = jsonstr.AppendInner(b, v)
	return append(b, '"')
}
