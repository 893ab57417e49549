package approval

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// Factor is one named contribution to the risk score, with the reason shown
// to approvers.
type Factor struct {
	Name   string `json:"name"`
	Score  int    `json:"score"`
	Weight int    `json:"weight"`
	Reason string `json:"reason,omitempty"`
}

// Binding is the call an approval is for. The fields up to PolicyVersion
// form the Key: a grant never unlocks a call that differs in any of them.
// Rule, Score and Factors explain the request to approvers; the remaining
// fields carry protocol context and are never stored.
type Binding struct {
	Principal     string `json:"principal"`      // agent identity
	User          string `json:"user,omitempty"` // end user, where known
	Server        string `json:"server"`         // route
	Method        string `json:"method"`         // e.g. tools/call
	Tool          string `json:"tool"`           // tool name
	ArgsDigest    string `json:"args_digest"`    // CanonicalDigest(arguments)
	PolicyVersion string `json:"policy_version"` // version that asked for approval

	Rule    string   `json:"rule,omitempty"`
	Score   int      `json:"score"`
	Factors []Factor `json:"factors,omitempty"`

	// Arguments is the raw JSON of the call's arguments. The Service keeps
	// only its digest and the redacted view; callers may leave it nil when
	// ArgsDigest is set.
	Arguments []byte `json:"-"`
	// Revision is the client's MCP protocol revision ("2026-07-28", …).
	Revision string `json:"-"`
	// RequestState is the sealed state a 2026-07-28 client echoed back.
	RequestState string `json:"-"`
	// SelfApproval is true when the client answered the gateway's form
	// elicitation with "approve" (the calling user approves their own call).
	SelfApproval bool `json:"-"`
	// ElicitForm / ElicitURL: the client declared form / URL elicitation.
	ElicitForm, ElicitURL bool `json:"-"`
}

// Key is the binding's identity: sha256 over the bound fields, each
// length-prefixed so no two different bindings collide by concatenation.
func (b *Binding) Key() string {
	h := sha256.New()
	var n [8]byte
	for _, f := range [...]string{b.Principal, b.User, b.Server, b.Method, b.Tool, b.ArgsDigest, b.PolicyVersion} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Status is where a request is in its lifecycle.
type Status string

// Statuses. Pending is the only one approvers can act on; approved turns
// into used when the call goes through; rejected and expired are final.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	StatusExpired  Status = "expired"
	StatusUsed     Status = "used"
	// StatusInvalid is a Check outcome only: the echoed requestState is
	// forged, expired or for another call.
	StatusInvalid Status = "invalid"
)

// Result is what Check decided for one call.
type Result struct {
	Status Status
	ID     string // approval request id (apr_…)
	URL    string // console page for this request ("" without a console URL)
	// Expires is when a pending request times out, or when a granted one
	// can no longer be used.
	Expires time.Time
	// Reason explains rejected, expired, used and invalid outcomes.
	Reason string
	// By lists who approved or rejected.
	By []string
	// Approvals so far and Quorum needed.
	Approvals, Quorum int
	// RequestState is the sealed state for a 2026-07-28 InputRequiredResult.
	RequestState string
	// SelfAllowed is true when the calling user may approve this call
	// themselves (form elicitation is offered only then).
	SelfAllowed bool
}

// Vote is one approver's decision.
type Vote struct {
	By      string    `json:"by"`
	Approve bool      `json:"approve"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
	Self    bool      `json:"self,omitempty"`
}

// Policy is the resolved approver rule a request was created under; it is
// stored with the request so a configuration change cannot widen who may
// approve a request already pending.
type Policy struct {
	Rule      string   `json:"rule,omitempty"`
	Approvers []string `json:"approvers,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	Quorum    int      `json:"quorum"`
	AllowSelf bool     `json:"allow_self,omitempty"`
	// SelfMaxScore: self-approval is refused at or above this score
	// (separation of duties); 0 means no limit.
	SelfMaxScore int `json:"self_max_score,omitempty"`
	// OnTimeout is the outcome when nobody decides in time.
	OnTimeout Status `json:"on_timeout"`
}

// Request is one stored approval request.
type Request struct {
	ID      string  `json:"id"`
	Key     string  `json:"key"`
	Binding Binding `json:"binding"`
	// Arguments is the redacted view of the arguments, for approvers.
	Arguments []byte    `json:"arguments,omitempty"`
	Status    Status    `json:"status"`
	Created   time.Time `json:"created"`
	// Expires: pending deadline, then (once approved) the grant's use-by time.
	Expires time.Time `json:"expires"`
	Decided time.Time `json:"decided,omitzero"`
	Used    time.Time `json:"used,omitzero"`
	Nonce   string    `json:"nonce"`
	Policy  Policy    `json:"policy"`
	Votes   []Vote    `json:"votes,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// Notified lists the channels that accepted the notification.
	Notified []string `json:"notified,omitempty"`
}

// Approvals counts approving votes.
func (r *Request) Approvals() int {
	n := 0
	for _, v := range r.Votes {
		if v.Approve {
			n++
		}
	}
	return n
}

// Deciders lists who voted, in order.
func (r *Request) Deciders() []string {
	out := make([]string, 0, len(r.Votes))
	for _, v := range r.Votes {
		out = append(out, v.By)
	}
	return out
}

// Final reports whether no transition can follow (except used after approved).
func (s Status) Final() bool { return s == StatusRejected || s == StatusExpired || s == StatusUsed }

// Approver is an authenticated person acting in the console or CLI.
type Approver struct {
	ID     string
	Groups []string
	// Insecure marks identities taken from an unauthenticated development
	// mode; they are recorded as such.
	Insecure bool
}

// Errors returned by Decide and the stores.
var (
	ErrNotFound     = errors.New("approval request not found")
	ErrNotPending   = errors.New("approval request is no longer pending")
	ErrNotAllowed   = errors.New("not allowed to decide this approval request")
	ErrAlreadyVoted = errors.New("already decided this approval request")
	ErrConflict     = errors.New("approval request changed concurrently")
)
