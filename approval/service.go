package approval

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one lifecycle transition, handed to the Recorder. It carries no
// argument content: the binding's names, digest, score and the ids.
type Event struct {
	Kind    string // requested, notified, vote, approved, rejected, expired, used, invalid
	Time    time.Time
	Request *Request // snapshot after the transition (nil for invalid)
	// By is who acted (approver id, "timeout", or the requester for used).
	By       string
	Insecure bool   // By was not authenticated (development mode)
	Channel  string // notified: the channel
	Reason   string
}

// Event kinds.
const (
	EventRequested = "requested"
	EventNotified  = "notified"
	EventVote      = "vote"
	EventApproved  = "approved"
	EventRejected  = "rejected"
	EventExpired   = "expired"
	EventUsed      = "used"
	EventInvalid   = "invalid"
)

// Recorder appends transitions to the audit log. An error means the
// transition could not be recorded; the Service then refuses (fail closed).
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// Notice is what notification channels receive: enough to find the request
// in the console, no argument content.
type Notice struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Principal string    `json:"principal"`
	Server    string    `json:"server"`
	Tool      string    `json:"tool"`
	Rule      string    `json:"rule,omitempty"`
	Score     int       `json:"score"`
	Factors   []Factor  `json:"factors,omitempty"`
	Expires   time.Time `json:"expires"`
	Quorum    int       `json:"quorum"`
}

// Notifier is one notification channel.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, n Notice) error
}

// Service decides require_approval calls. It is safe for concurrent use;
// several Services (gateway instances) may share one Store.
type Service struct {
	cfg       Config
	store     Store
	rec       Recorder
	notifiers []Notifier
	sealer    *Sealer
	redact    func([]byte) []byte
	now       func() time.Time
	log       *slog.Logger
	poll      time.Duration

	console atomic.Pointer[string] // console base URL (set late: the admin port may be 0)

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every local transition
	wg      sync.WaitGroup
	closed  chan struct{}
	once    sync.Once
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRecorder sets where transitions are recorded.
func WithRecorder(r Recorder) Option { return func(s *Service) { s.rec = r } }

// WithNotifiers sets the notification channels.
func WithNotifiers(n ...Notifier) Option {
	return func(s *Service) { s.notifiers = append(s.notifiers, n...) }
}

// WithSealer sets the requestState sealer (default: from Config.StateKeys,
// else a random per-process key).
func WithSealer(x *Sealer) Option { return func(s *Service) { s.sealer = x } }

// WithRedactor sets how arguments are shown to approvers (default
// RedactArguments).
func WithRedactor(f func([]byte) []byte) Option { return func(s *Service) { s.redact = f } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithPollInterval sets how often a held call re-reads a shared store
// (default 250ms; local decisions wake it at once).
func WithPollInterval(d time.Duration) Option { return func(s *Service) { s.poll = d } }

// New builds a Service over store. cfg must have defaults applied.
func New(cfg Config, store Store, opts ...Option) (*Service, error) {
	s := &Service{cfg: cfg, store: store, now: time.Now, log: slog.Default(), poll: 250 * time.Millisecond,
		changed: make(chan struct{}), closed: make(chan struct{}), redact: RedactArguments}
	for _, o := range opts {
		o(s)
	}
	if s.sealer == nil {
		if len(cfg.StateKeys) == 0 {
			s.sealer = RandomSealer()
		} else {
			var keys []SealKey
			for i, k := range cfg.StateKeys {
				b, err := k.Resolve()
				if err != nil {
					return nil, fmt.Errorf("approvals.state_keys[%d]: %w", i, err)
				}
				keys = append(keys, SealKey{ID: k.ID, Secret: b})
			}
			var err error
			if s.sealer, err = NewSealer(keys...); err != nil {
				return nil, fmt.Errorf("approvals.state_keys: %w", err)
			}
		}
	}
	return s, nil
}

// Close waits for notifications in flight.
func (s *Service) Close() {
	s.once.Do(func() { close(s.closed) })
	s.wg.Wait()
}

// Config returns the configuration the service runs with.
func (s *Service) Config() Config { return s.cfg }

// SetConsoleURL sets the console's base URL when the configuration does not
// (the gateway derives it from the bound admin listener).
func (s *Service) SetConsoleURL(u string) { s.console.Store(&u) }

// URL is the console page of a request ("" when no console URL is known).
func (s *Service) URL(id string) string {
	base := s.cfg.ConsoleURL
	if p := s.console.Load(); base == "" && p != nil {
		base = *p
	}
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/approvals/" + id
}

// Check decides one call that policy says needs approval: a granted unused
// approval for exactly this binding is consumed (Status approved: let the
// call through); a pending one for the same binding returns the same id; a
// rejected or expired one says so (and the next call starts afresh);
// otherwise a new request is created, recorded and notified (pending).
// An error means the call must be refused (store or audit unavailable).
func (s *Service) Check(ctx context.Context, b Binding) (Result, error) {
	now := s.now()
	if b.ArgsDigest == "" {
		d, err := CanonicalDigest(b.Arguments)
		if err != nil {
			return Result{Status: StatusInvalid, Reason: "the arguments cannot be approved: " + err.Error()}, nil
		}
		b.ArgsDigest = d
	}
	key := b.Key()
	if b.RequestState != "" {
		st, err := s.sealer.Open(b.RequestState, now)
		if err == nil && st.Key != key {
			err = errors.New("requestState belongs to a different call (arguments, agent, server, tool or policy version changed); approval " + st.ID + " does not cover this call")
		}
		if err != nil {
			if rerr := s.record(ctx, Event{Kind: EventInvalid, Time: now, By: b.Principal, Reason: err.Error()}); rerr != nil {
				return Result{}, rerr
			}
			return Result{Status: StatusInvalid, ID: st.ID, Reason: err.Error()}, nil
		}
		if b.SelfApproval {
			a := Approver{ID: b.Principal}
			if _, err := s.Decide(ctx, st.ID, a, true, "approved by the calling user in the client"); err != nil &&
				!errors.Is(err, ErrAlreadyVoted) && !errors.Is(err, ErrNotPending) {
				if errors.Is(err, ErrNotAllowed) {
					return Result{Status: StatusPending, ID: st.ID, URL: s.URL(st.ID), Reason: err.Error()}, nil
				}
				return Result{}, err
			}
		}
	}
	for range 4 {
		r, err := s.store.ByKey(ctx, key)
		if err != nil {
			return Result{}, fmt.Errorf("approval store: %w", err)
		}
		if r == nil {
			if r, err = s.create(ctx, &b, key, now); err != nil {
				return Result{}, err
			}
		}
		if r, err = s.expire(ctx, r, now); err != nil {
			return Result{}, err
		}
		switch r.Status {
		case StatusPending:
			if s.cfg.Hold > 0 {
				if r, err = s.hold(ctx, r); err != nil {
					return Result{}, err
				}
				if r.Status != StatusPending {
					now = s.now()
					continue // decided while held: consume or report it
				}
			}
			return s.result(r), nil
		case StatusApproved:
			u, err := s.consume(ctx, r, now)
			if errors.Is(err, ErrConflict) {
				continue // someone else consumed or changed it: look again
			}
			if err != nil {
				return Result{}, err
			}
			return s.result(u), nil
		case StatusRejected, StatusExpired:
			// Reported once; the next identical call asks again.
			if err := s.store.Release(ctx, key, r.ID); err != nil {
				return Result{}, fmt.Errorf("approval store: %w", err)
			}
			return s.result(r), nil
		case StatusUsed:
			// A stale index (the consumer released it already): start afresh.
			if err := s.store.Release(ctx, key, r.ID); err != nil {
				return Result{}, fmt.Errorf("approval store: %w", err)
			}
		}
	}
	return Result{}, errors.New("approval store: too much contention for this call; retry")
}

func (s *Service) create(ctx context.Context, b *Binding, key string, now time.Time) (*Request, error) {
	r := &Request{ID: NewID(), Key: key, Status: StatusPending, Created: now, Expires: now.Add(s.cfg.Timeout),
		Nonce: nonce(), Policy: s.cfg.resolve(b)}
	r.Binding = *b
	r.Binding.Arguments, r.Binding.RequestState = nil, ""
	if len(b.Arguments) > 0 && s.redact != nil {
		r.Arguments = s.redact(b.Arguments)
	}
	cur, created, err := s.store.Create(ctx, r, s.cfg.Timeout+s.cfg.GrantTTL+24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("approval store: %w", err)
	}
	if !created {
		return cur, nil
	}
	if err := s.record(ctx, Event{Kind: EventRequested, Time: now, Request: r, By: b.Principal}); err != nil {
		s.abort(ctx, r, "the audit log could not record the request")
		return nil, err
	}
	s.broadcast()
	s.notify(r)
	return r, nil
}

// abort rejects a request whose transition could not be recorded.
func (s *Service) abort(ctx context.Context, r *Request, reason string) {
	_, _ = s.store.Update(ctx, r.ID, func(x *Request) error {
		x.Status, x.Reason = StatusRejected, reason
		return nil
	})
	_ = s.store.Release(ctx, r.Key, r.ID)
}

// expire applies the timeout outcome to a pending request past its deadline
// and expires an unused grant past its use-by time.
func (s *Service) expire(ctx context.Context, r *Request, now time.Time) (*Request, error) {
	if (r.Status != StatusPending && r.Status != StatusApproved) || now.Before(r.Expires) {
		return r, nil
	}
	var ev Event
	u, err := s.store.Update(ctx, r.ID, func(x *Request) error {
		if (x.Status != StatusPending && x.Status != StatusApproved) || now.Before(x.Expires) {
			ev = Event{}
			return nil
		}
		switch {
		case x.Status == StatusApproved:
			x.Status = StatusExpired
			x.Reason = "approval " + x.ID + " was granted but not used before " + x.Expires.UTC().Format(time.RFC3339)
			ev = Event{Kind: EventExpired, By: "timeout"}
		case x.Policy.OnTimeout == StatusApproved:
			x.Status, x.Decided = StatusApproved, now
			x.Votes = append(x.Votes, Vote{By: "timeout", Approve: true, At: now})
			x.Expires = now.Add(s.cfg.GrantTTL)
			x.Reason = "approved by default: nobody decided within " + s.cfg.Timeout.String()
			ev = Event{Kind: EventApproved, By: "timeout"}
		default:
			x.Status, x.Decided = StatusExpired, now
			x.Reason = "approval " + x.ID + " timed out: nobody decided within " + s.cfg.Timeout.String() + " (default outcome: reject)"
			ev = Event{Kind: EventExpired, By: "timeout"}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approval store: %w", err)
	}
	if ev.Kind != "" {
		ev.Time, ev.Request, ev.Reason = now, u, u.Reason
		if err := s.record(ctx, ev); err != nil {
			return nil, err
		}
		s.broadcast()
	}
	return u, nil
}

// consume turns an approved request into used, atomically: of two
// concurrent retries (on any replicas) exactly one gets the grant.
func (s *Service) consume(ctx context.Context, r *Request, now time.Time) (*Request, error) {
	u, err := s.store.Update(ctx, r.ID, func(x *Request) error {
		if x.Status != StatusApproved || !now.Before(x.Expires) {
			return ErrConflict
		}
		x.Status, x.Used = StatusUsed, now
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ErrConflict
		}
		return nil, fmt.Errorf("approval store: %w", err)
	}
	if err := s.store.Release(ctx, r.Key, r.ID); err != nil {
		return nil, fmt.Errorf("approval store: %w", err)
	}
	// The grant is burnt either way; if the audit log cannot record its use
	// the call is refused.
	if err := s.record(ctx, Event{Kind: EventUsed, Time: now, Request: u, By: u.Binding.Principal}); err != nil {
		return nil, err
	}
	s.broadcast()
	// Report approved: the caller lets the call through.
	out := *u
	out.Status = StatusApproved
	return &out, nil
}

// hold waits up to Config.Hold for a decision on a pending request.
func (s *Service) hold(ctx context.Context, r *Request) (*Request, error) {
	deadline := time.NewTimer(s.cfg.Hold)
	defer deadline.Stop()
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		cur, err := s.store.Get(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("approval store: %w", err)
		}
		if cur.Status != StatusPending {
			return cur, nil
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline.C:
			return cur, nil
		case <-ctx.Done():
			return cur, nil
		case <-s.closed:
			return cur, nil
		}
	}
}

func (s *Service) broadcast() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Changed returns a channel closed at the next local transition (console
// live updates and tests).
func (s *Service) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Decide records one approver's decision. A rejection by any eligible
// approver rejects; approvals count toward the quorum.
func (s *Service) Decide(ctx context.Context, id string, a Approver, approve bool, comment string) (*Request, error) {
	now := s.now()
	if a.ID == "" {
		return nil, fmt.Errorf("%w: no approver identity", ErrNotAllowed)
	}
	comment = truncate(strings.TrimSpace(comment), 500)
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r, err = s.expire(ctx, r, now); err != nil {
		return nil, err
	}
	var kind string
	u, err := s.store.Update(ctx, id, func(x *Request) error {
		if x.Status != StatusPending || !now.Before(x.Expires) {
			return fmt.Errorf("%w (it is %s)", ErrNotPending, x.Status)
		}
		self := a.ID == x.Binding.Principal || (x.Binding.User != "" && a.ID == x.Binding.User)
		if err := mayDecide(x, a, self, approve); err != nil {
			return err
		}
		for _, v := range x.Votes {
			if v.By == a.ID {
				return ErrAlreadyVoted
			}
		}
		x.Votes = append(x.Votes, Vote{By: a.ID, Approve: approve, At: now, Comment: comment, Self: self})
		switch {
		case !approve:
			x.Status, x.Decided = StatusRejected, now
			x.Reason = "rejected by " + a.ID
			if comment != "" {
				x.Reason += ": " + comment
			}
			kind = EventRejected
		case x.Approvals() >= x.Policy.Quorum:
			x.Status, x.Decided = StatusApproved, now
			x.Expires = now.Add(s.cfg.GrantTTL)
			x.Reason = ""
			kind = EventApproved
		default:
			kind = EventVote
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotPending) || errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrAlreadyVoted) {
			return r, err
		}
		return nil, fmt.Errorf("approval store: %w", err)
	}
	if err := s.record(ctx, Event{Kind: kind, Time: now, Request: u, By: a.ID, Insecure: a.Insecure, Reason: comment}); err != nil {
		s.abort(ctx, u, "the audit log could not record the decision")
		return nil, err
	}
	s.broadcast()
	return u, nil
}

// mayDecide applies the request's approver policy to a.
func mayDecide(r *Request, a Approver, self, approve bool) error {
	p := r.Policy
	if self {
		if !approve {
			return nil // the requester may always withdraw their own call
		}
		if !p.AllowSelf {
			return fmt.Errorf("%w: %s requested this call and may not approve it (self-approval is not allowed for it)", ErrNotAllowed, a.ID)
		}
		if p.SelfMaxScore > 0 && r.Binding.Score >= p.SelfMaxScore {
			return fmt.Errorf("%w: separation of duties: %s requested this call (risk %d ≥ %d) and may not approve it", ErrNotAllowed, a.ID, r.Binding.Score, p.SelfMaxScore)
		}
		return nil
	}
	if len(p.Approvers) == 0 && len(p.Groups) == 0 {
		return nil
	}
	if slices.Contains(p.Approvers, a.ID) {
		return nil
	}
	for _, g := range a.Groups {
		if slices.Contains(p.Groups, g) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not an approver for this call (rule %q)", ErrNotAllowed, a.ID, p.Rule)
}

// Get returns one request, with any due timeout applied.
func (s *Service) Get(ctx context.Context, id string) (*Request, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.expire(ctx, r, s.now())
}

// List returns recent requests (newest first), with due timeouts applied.
func (s *Service) List(ctx context.Context, limit int) ([]*Request, error) {
	rs, err := s.store.List(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("approval store: %w", err)
	}
	now := s.now()
	for i, r := range rs {
		if rs[i], err = s.expire(ctx, r, now); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// Sweep applies due timeouts to every listed request (run periodically so
// timeouts are recorded even when nobody retries or looks).
func (s *Service) Sweep(ctx context.Context) error {
	_, err := s.List(ctx, 1000)
	return err
}

// Run sweeps every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Sweep(ctx); err != nil {
				s.log.Warn("approval sweep failed", "error", err)
			}
		}
	}
}

func (s *Service) result(r *Request) Result {
	res := Result{Status: r.Status, ID: r.ID, URL: s.URL(r.ID), Expires: r.Expires, Reason: r.Reason,
		By: r.Deciders(), Approvals: r.Approvals(), Quorum: r.Policy.Quorum}
	if r.Status == StatusPending {
		res.RequestState = s.sealer.Seal(State{ID: r.ID, Key: r.Key, Nonce: r.Nonce, Exp: r.Expires.Add(s.cfg.GrantTTL).Unix()})
		res.SelfAllowed = r.Policy.AllowSelf && (r.Policy.SelfMaxScore == 0 || r.Binding.Score < r.Policy.SelfMaxScore)
	}
	return res
}

func (s *Service) record(ctx context.Context, e Event) error {
	if s.rec == nil {
		return nil
	}
	if err := s.rec.Record(ctx, e); err != nil {
		return fmt.Errorf("audit approval %s: %w", e.Kind, err)
	}
	return nil
}

// notify tells every channel about a new request, off the call's path.
func (s *Service) notify(r *Request) {
	if len(s.notifiers) == 0 {
		return
	}
	n := Notice{ID: r.ID, URL: s.URL(r.ID), Principal: r.Binding.Principal, Server: r.Binding.Server, Tool: r.Binding.Tool,
		Rule: r.Binding.Rule, Score: r.Binding.Score, Factors: r.Binding.Factors, Expires: r.Expires, Quorum: r.Policy.Quorum}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, ch := range s.notifiers {
			if err := ch.Notify(ctx, n); err != nil {
				s.log.Warn("approval notification failed", "channel", ch.Name(), "id", n.ID, "error", err)
				continue
			}
			u, err := s.store.Update(ctx, n.ID, func(x *Request) error {
				x.Notified = append(x.Notified, ch.Name())
				return nil
			})
			if err != nil {
				s.log.Warn("approval store", "id", n.ID, "error", err)
				continue
			}
			if err := s.record(ctx, Event{Kind: EventNotified, Time: s.now(), Request: u, Channel: ch.Name()}); err != nil {
				s.log.Warn("approval audit", "id", n.ID, "error", err)
			}
		}
	}()
}

var idEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a fresh request id, "apr_" + 26 base32 characters.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "apr_" + idEnc.EncodeToString(b)
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
