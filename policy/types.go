package policy

import (
	"time"
)

// Plane says which part of the MCP exchange is being decided.
type Plane string

// Planes.
const (
	PlaneRequest Plane = "request" // a client→server call (tools/call arguments, …)
	PlaneResult  Plane = "result"  // a tool result flowing back to the client
	PlaneList    Plane = "list"    // tools/list visibility
)

// Action is the effect of a decision.
type Action string

// Actions, from least to most severe.
const (
	ActionAllow           Action = "allow"
	ActionRedact          Action = "redact" // allow, but mutate the body (Decision.Redact says how)
	ActionSandbox         Action = "sandbox"
	ActionRequireApproval Action = "require_approval"
	ActionBlock           Action = "block"
)

// Severity orders actions from allow (0) to block (4); callers combining
// decisions keep the more severe one.
func (a Action) Severity() int { return a.severity() }

// severity orders actions: deny overrides everything.
func (a Action) severity() int {
	switch a {
	case ActionAllow:
		return 0
	case ActionRedact:
		return 1
	case ActionSandbox:
		return 2
	case ActionRequireApproval:
		return 3
	case ActionBlock:
		return 4
	}
	return 4
}

// Mode is a rollout mode, per policy and per rule.
type Mode string

// Modes.
const (
	ModeEnforce Mode = "enforce"
	ModeDryRun  Mode = "dry-run" // evaluate, record WouldAction, let the call through
	ModeShadow  Mode = "shadow"  // like dry-run, but the caller evaluates off the request path
	ModeStaged  Mode = "staged"  // enforce for a deterministic percentage of agents or sessions
)

// Identity is who the agent is. It is produced by policy/identity.
type Identity struct {
	ID     string   // principal: JWT sub, SPIFFE ID, header value or the policy's anonymous id
	Groups []string // from claims
	// ClientID is the OAuth client the token was issued to (client_id or
	// azp claim) and Actor the RFC 8693 delegation chain (act claim), current
	// actor first. Both come from a validated token, never from a session.
	ClientID string
	Actor    []string
	Roles    []string // from claims
	Trust    string   // trust level name, e.g. high|medium|low|untrusted
	// Source is how the identity was established: jwt, spiffe, header or anonymous.
	Source string
	// Insecure is true for identities taken from a plain header (development only).
	Insecure bool
}

// Identity sources.
const (
	SourceJWT       = "jwt"
	SourceSPIFFE    = "spiffe"
	SourceHeader    = "header"
	SourceAnonymous = "anonymous"
)

// Finding is one detector result, reduced to what policy needs.
type Finding struct {
	Detector   string  // e.g. "pii", "secrets", "injection"
	Category   string  // e.g. "pii", "pci", "phi", "secret", "prompt_injection"
	EntityType string  // e.g. "email", "credit_card", "us_ssn"
	Confidence float64 // 0..1
	Count      int     // occurrences; 0 is treated as 1
}

// ToolAnnotations are MCP tool hints as advertised by the (untrusted)
// server. nil pointers mean "absent"; per the MCP spec destructiveHint and
// openWorldHint then default to true.
type ToolAnnotations struct {
	ReadOnlyHint    *bool
	DestructiveHint *bool
	IdempotentHint  *bool
	OpenWorldHint   *bool
}

// BehaviorSignal is the session/behaviour engine's opinion (score 0-100).
type BehaviorSignal struct {
	Score  int
	Reason string
}

// Input is everything Evaluate looks at for one call or result. The caller
// owns it; Evaluate does not retain it.
type Input struct {
	Plane  Plane
	Method string // "tools/call", "tools/list", "resources/read", …
	Server string
	Tool   string
	// Args is the raw JSON of the tool arguments (request plane). CEL sees it
	// as `args`; it is decoded only if a matching rule's `when` needs it.
	Args []byte
	// ParsedArgs, when set, returns Args already decoded by the caller's
	// parser (objects as map[string]any, numbers through ArgNumber, null
	// as nil), so they are not parsed a second time. It must describe
	// exactly the bytes of Args, which are present.
	ParsedArgs  func() (any, error)
	Agent       Identity
	Session     string
	Findings    []Finding
	Annotations *ToolAnnotations
	// Environment overrides the server's environment tag from the policy
	// (normally left empty).
	Environment string
	Behavior    *BehaviorSignal
	// Now is the time used for temporal factors; zero means time.Now().
	Now time.Time
}

// Factor names, in the order they appear in Decision.Factors.
const (
	FactorAction          = "action"
	FactorAgent           = "agent"
	FactorTemporal        = "temporal"
	FactorEnvironmental   = "environmental"
	FactorBehavioral      = "behavioral"
	FactorCompliance      = "compliance"
	FactorDataSensitivity = "data_sensitivity"
)

// FactorNames lists the seven risk factors in Decision order.
var FactorNames = [7]string{FactorAction, FactorAgent, FactorTemporal, FactorEnvironmental, FactorBehavioral, FactorCompliance, FactorDataSensitivity}

// Factor is one risk-score contribution.
type Factor struct {
	Name   string `json:"name"`
	Value  int    `json:"value"`  // 0-100
	Weight int    `json:"weight"` // relative weight from the policy
	Reason string `json:"reason"`
}

// Decision is the outcome for one Input.
type Decision struct {
	// ID is unique per decision (32 hex chars, time-ordered prefix).
	ID string `json:"id"`
	// Action is what the gateway must do now.
	Action Action `json:"action"`
	// Enforced is true when Action equals WouldAction, i.e. nothing was
	// softened by a dry-run, shadow or staged rollout.
	Enforced bool `json:"enforced"`
	// Mode is the rollout mode of the component that produced WouldAction.
	Mode Mode `json:"mode"`
	// WouldAction is the decision with every rule enforced.
	WouldAction Action `json:"would_action"`
	// Rule names what decided WouldAction: a rule name, "risk:<band>",
	// "default-deny:unknown-server", "default-deny:unknown-tool",
	// "default-deny:not-permitted" or "anonymous".
	Rule    string   `json:"rule"`
	Score   int      `json:"score"`
	Factors []Factor `json:"factors"`
	// Reasons are short human-readable explanations, most important first.
	Reasons       []string `json:"reasons,omitempty"`
	PolicyVersion string   `json:"policy_version"`
	// Redact is the redaction style ("mask", "hash", "remove") when
	// WouldAction is redact; RedactTypes limits it to entity types (empty =
	// every finding).
	Redact      string   `json:"redact,omitempty"`
	RedactTypes []string `json:"redact_types,omitempty"`
	// ResultMode applies to blocked results: "block" (replace the whole
	// result with an error) or "notice" (replace offending content blocks
	// with a notice).
	ResultMode string `json:"result_mode,omitempty"`
}

// Result modes.
const (
	ResultBlock  = "block"
	ResultNotice = "notice"
)
