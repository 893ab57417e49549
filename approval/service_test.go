package approval_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
)

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)} }

// recorder keeps every event; fail makes it refuse.
type recorder struct {
	mu     sync.Mutex
	events []approval.Event
	fail   atomic.Bool
}

func (r *recorder) Record(_ context.Context, e approval.Event) error {
	if r.fail.Load() {
		return errors.New("disk full")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func newService(t *testing.T, cfg approval.Config, opts ...approval.Option) (*approval.Service, *clock, *recorder) {
	t.Helper()
	cfg.ApplyDefaults()
	require.NoError(t, cfg.Validate())
	c, rec := newClock(), &recorder{}
	s, err := approval.New(cfg, approval.NewMemoryStore(0), append([]approval.Option{approval.WithClock(c.now), approval.WithRecorder(rec)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, c, rec
}

func call(args string) approval.Binding {
	return approval.Binding{Principal: "agent-1", Server: "files", Method: "tools/call", Tool: "write_file",
		PolicyVersion: "v1", Rule: "risk:medium", Score: 55, Arguments: []byte(args),
		Factors: []approval.Factor{{Name: "action", Score: 80, Weight: 3, Reason: "destructive tool"}}}
}

var alice = approval.Approver{ID: "alice", Groups: []string{"ops"}}

func TestLifecycle(t *testing.T) {
	s, _, rec := newService(t, approval.Config{ConsoleURL: "http://127.0.0.1:9901"})
	ctx := context.Background()
	first, err := s.Check(ctx, call(`{"path":"out.txt","content":"hi"}`))
	require.NoError(t, err)
	require.Equal(t, approval.StatusPending, first.Status)
	require.Regexp(t, `^apr_[a-z2-7]{26}$`, first.ID)
	require.Equal(t, "http://127.0.0.1:9901/approvals/"+first.ID, first.URL)

	// A retry (keys in another order, other whitespace) is the same call.
	again, err := s.Check(ctx, call(`{ "content":"hi", "path":"out.txt" }`))
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "a retry does not mint a new id")

	_, err = s.Decide(ctx, first.ID, alice, true, "looks fine")
	require.NoError(t, err)
	ok, err := s.Check(ctx, call(`{"path":"out.txt","content":"hi"}`))
	require.NoError(t, err)
	require.Equal(t, approval.StatusApproved, ok.Status)
	require.Equal(t, first.ID, ok.ID)
	r, err := s.Get(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, approval.StatusUsed, r.Status)

	second, err := s.Check(ctx, call(`{"path":"out.txt","content":"hi"}`))
	require.NoError(t, err)
	require.Equal(t, approval.StatusPending, second.Status, "a grant is single use")
	require.NotEqual(t, first.ID, second.ID)
	require.Equal(t, []string{"requested", "approved", "used", "requested"}, rec.kinds())
	for _, e := range rec.events {
		require.NotContains(t, string(e.Request.Binding.Arguments), "hi", "events carry no argument content")
	}
}

func TestGrantIsBoundToTheCall(t *testing.T) {
	base := call(`{"path":"out.txt"}`)
	cases := []struct {
		name string
		mut  func(*approval.Binding)
	}{
		{"other arguments", func(b *approval.Binding) { b.Arguments = []byte(`{"path":"/etc/passwd"}`) }},
		{"other agent", func(b *approval.Binding) { b.Principal = "agent-2" }},
		{"other user", func(b *approval.Binding) { b.User = "mallory" }},
		{"other server", func(b *approval.Binding) { b.Server = "files-prod" }},
		{"other tool", func(b *approval.Binding) { b.Tool = "delete_file" }},
		{"other method", func(b *approval.Binding) { b.Method = "prompts/get" }},
		{"later policy version", func(b *approval.Binding) { b.PolicyVersion = "v2" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newService(t, approval.Config{})
			ctx := context.Background()
			res, err := s.Check(ctx, base)
			require.NoError(t, err)
			_, err = s.Decide(ctx, res.ID, alice, true, "")
			require.NoError(t, err)
			other := base
			tc.mut(&other)
			got, err := s.Check(ctx, other)
			require.NoError(t, err)
			require.Equal(t, approval.StatusPending, got.Status)
			require.NotEqual(t, res.ID, got.ID)
			// The original call still holds its grant.
			orig, err := s.Check(ctx, base)
			require.NoError(t, err)
			require.Equal(t, approval.StatusApproved, orig.Status)
		})
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("pending times out, default reject", func(t *testing.T) {
		s, c, rec := newService(t, approval.Config{Timeout: time.Minute})
		ctx := context.Background()
		res, _ := s.Check(ctx, call(`{}`))
		c.add(time.Minute)
		got, err := s.Check(ctx, call(`{}`))
		require.NoError(t, err)
		require.Equal(t, approval.StatusExpired, got.Status)
		require.Equal(t, res.ID, got.ID)
		require.Contains(t, got.Reason, "timed out")
		require.Contains(t, got.Reason, "default outcome: reject")
		_, err = s.Decide(ctx, res.ID, alice, true, "")
		require.ErrorIs(t, err, approval.ErrNotPending, "too late to approve")
		next, _ := s.Check(ctx, call(`{}`))
		require.Equal(t, approval.StatusPending, next.Status, "the next call asks again")
		require.Equal(t, []string{"requested", "expired", "requested"}, rec.kinds())
	})
	t.Run("rule says approve on timeout", func(t *testing.T) {
		s, c, rec := newService(t, approval.Config{Timeout: time.Minute, Rules: []approval.Rule{{Name: "lenient", Tools: []string{"write_*"}, OnTimeout: "approve"}}})
		ctx := context.Background()
		s.Check(ctx, call(`{}`))
		c.add(2 * time.Minute)
		got, err := s.Check(ctx, call(`{}`))
		require.NoError(t, err)
		require.Equal(t, approval.StatusApproved, got.Status)
		require.Equal(t, []string{"requested", "approved", "used"}, rec.kinds())
	})
	t.Run("unused grant expires", func(t *testing.T) {
		s, c, _ := newService(t, approval.Config{GrantTTL: time.Minute})
		ctx := context.Background()
		res, _ := s.Check(ctx, call(`{}`))
		_, err := s.Decide(ctx, res.ID, alice, true, "")
		require.NoError(t, err)
		c.add(time.Minute)
		got, err := s.Check(ctx, call(`{}`))
		require.NoError(t, err)
		require.Equal(t, approval.StatusExpired, got.Status)
		require.Contains(t, got.Reason, "not used before")
	})
	t.Run("sweep records timeouts nobody asked about", func(t *testing.T) {
		s, c, rec := newService(t, approval.Config{Timeout: time.Minute})
		ctx := context.Background()
		s.Check(ctx, call(`{}`))
		c.add(time.Hour)
		require.NoError(t, s.Sweep(ctx))
		require.Equal(t, []string{"requested", "expired"}, rec.kinds())
	})
}

func TestWhoMayApprove(t *testing.T) {
	bob := approval.Approver{ID: "bob"}
	carol := approval.Approver{ID: "carol", Groups: []string{"security"}}
	self := approval.Approver{ID: "agent-1"}
	type vote struct {
		a       approval.Approver
		approve bool
		err     error
	}
	cases := []struct {
		name  string
		rules []approval.Rule
		score int
		votes []vote
		final approval.Status
	}{
		{"default: anyone but the requester", nil, 55, []vote{{self, true, approval.ErrNotAllowed}, {bob, true, nil}}, approval.StatusApproved},
		{"named approvers", []approval.Rule{{Approvers: []string{"alice"}}}, 55, []vote{{bob, true, approval.ErrNotAllowed}, {alice, true, nil}}, approval.StatusApproved},
		{"groups", []approval.Rule{{Groups: []string{"security"}}}, 55, []vote{{alice, true, approval.ErrNotAllowed}, {carol, true, nil}}, approval.StatusApproved},
		{"2-of-3 quorum", []approval.Rule{{Approvers: []string{"alice", "bob", "carol"}, Quorum: 2}}, 55,
			[]vote{{alice, true, nil}, {alice, true, approval.ErrAlreadyVoted}, {bob, true, nil}}, approval.StatusApproved},
		{"quorum not reached stays pending", []approval.Rule{{Approvers: []string{"alice", "bob"}, Quorum: 2}}, 55, []vote{{alice, true, nil}}, approval.StatusPending},
		{"one rejection rejects", []approval.Rule{{Approvers: []string{"alice", "bob"}, Quorum: 2}}, 55, []vote{{alice, true, nil}, {bob, false, nil}, {carol, true, approval.ErrNotPending}}, approval.StatusRejected},
		{"self-approval allowed", []approval.Rule{{AllowSelf: true}}, 55, []vote{{self, true, nil}}, approval.StatusApproved},
		{"separation of duties at high risk", []approval.Rule{{AllowSelf: true, SeparationOfDutiesScore: 70}}, 80, []vote{{self, true, approval.ErrNotAllowed}, {bob, true, nil}}, approval.StatusApproved},
		{"self-approval below the duty threshold", []approval.Rule{{AllowSelf: true, SeparationOfDutiesScore: 70}}, 69, []vote{{self, true, nil}}, approval.StatusApproved},
		{"requester may withdraw", nil, 55, []vote{{self, false, nil}}, approval.StatusRejected},
		{"first matching rule wins", []approval.Rule{{Tools: []string{"delete_*"}, Approvers: []string{"carol"}}, {Tools: []string{"write_*"}, Approvers: []string{"bob"}}}, 55,
			[]vote{{carol, true, approval.ErrNotAllowed}, {bob, true, nil}}, approval.StatusApproved},
		{"min score selects the rule", []approval.Rule{{MinScore: 90, Approvers: []string{"carol"}}, {Approvers: []string{"bob"}}}, 95,
			[]vote{{bob, true, approval.ErrNotAllowed}, {carol, true, nil}}, approval.StatusApproved},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newService(t, approval.Config{Rules: tc.rules})
			ctx := context.Background()
			b := call(`{"path":"a"}`)
			b.Score = tc.score
			res, err := s.Check(ctx, b)
			require.NoError(t, err)
			for i, v := range tc.votes {
				_, err := s.Decide(ctx, res.ID, v.a, v.approve, "")
				if v.err == nil {
					require.NoError(t, err, "vote %d", i)
				} else {
					require.ErrorIs(t, err, v.err, "vote %d", i)
				}
			}
			r, err := s.Get(ctx, res.ID)
			require.NoError(t, err)
			require.Equal(t, tc.final, r.Status)
		})
	}
}

func TestConcurrentRetriesUseTheGrantOnce(t *testing.T) {
	s, _, _ := newService(t, approval.Config{})
	ctx := context.Background()
	res, _ := s.Check(ctx, call(`{"x":1}`))
	_, err := s.Decide(ctx, res.ID, alice, true, "")
	require.NoError(t, err)
	var approved atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Check(ctx, call(`{"x":1}`))
			if err == nil && r.Status == approval.StatusApproved {
				approved.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), approved.Load())
}

func TestFailClosedOnAudit(t *testing.T) {
	s, _, rec := newService(t, approval.Config{})
	ctx := context.Background()
	rec.fail.Store(true)
	_, err := s.Check(ctx, call(`{}`))
	require.ErrorContains(t, err, "audit approval requested")
	rec.fail.Store(false)
	res, err := s.Check(ctx, call(`{}`))
	require.NoError(t, err)
	rec.fail.Store(true)
	_, err = s.Decide(ctx, res.ID, alice, true, "")
	require.Error(t, err)
	r, _ := s.Get(ctx, res.ID)
	require.Equal(t, approval.StatusRejected, r.Status, "an unrecorded approval does not stand")
}

func TestRequestState(t *testing.T) {
	s, c, _ := newService(t, approval.Config{Rules: []approval.Rule{{AllowSelf: true}}})
	ctx := context.Background()
	b := call(`{"path":"a"}`)
	res, err := s.Check(ctx, b)
	require.NoError(t, err)
	require.True(t, approval.IsState(res.RequestState))
	require.True(t, res.SelfAllowed)

	t.Run("for another call", func(t *testing.T) {
		other := call(`{"path":"b"}`)
		other.RequestState = res.RequestState
		got, err := s.Check(ctx, other)
		require.NoError(t, err)
		require.Equal(t, approval.StatusInvalid, got.Status)
		require.Contains(t, got.Reason, "different call")
	})
	t.Run("tampered", func(t *testing.T) {
		bad := b
		bad.RequestState = res.RequestState[:len(res.RequestState)-2] + "AA"
		got, err := s.Check(ctx, bad)
		require.NoError(t, err)
		require.Equal(t, approval.StatusInvalid, got.Status)
		require.Contains(t, got.Reason, "signature")
	})
	t.Run("self-approval through the form", func(t *testing.T) {
		retry := b
		retry.RequestState, retry.SelfApproval = res.RequestState, true
		got, err := s.Check(ctx, retry)
		require.NoError(t, err)
		require.Equal(t, approval.StatusApproved, got.Status)
		require.Equal(t, []string{"agent-1"}, got.By)
	})
	t.Run("expired state", func(t *testing.T) {
		res, _ := s.Check(ctx, call(`{"path":"z"}`))
		c.add(24 * time.Hour)
		retry := call(`{"path":"z"}`)
		retry.RequestState = res.RequestState
		got, err := s.Check(ctx, retry)
		require.NoError(t, err)
		require.Equal(t, approval.StatusInvalid, got.Status)
		require.Contains(t, got.Reason, "expired")
	})
}

func TestSealerRotation(t *testing.T) {
	k1 := approval.SealKey{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	k2 := approval.SealKey{ID: "k2", Secret: []byte("fedcba9876543210fedcba9876543210")}
	old, err := approval.NewSealer(k1)
	require.NoError(t, err)
	rotated, err := approval.NewSealer(k2, k1)
	require.NoError(t, err)
	dropped, err := approval.NewSealer(k2)
	require.NoError(t, err)
	now := time.Unix(1000, 0)
	st := approval.State{ID: "apr_x", Key: "k", Nonce: "n", Exp: 2000}
	v := old.Seal(st)
	got, err := rotated.Open(v, now)
	require.NoError(t, err, "a rotated gateway still opens states sealed with the old key")
	require.Equal(t, st, got)
	_, err = dropped.Open(v, now)
	require.ErrorContains(t, err, "signature")
	_, err = rotated.Open(rotated.Seal(st), now)
	require.NoError(t, err)
	_, err = approval.NewSealer(approval.SealKey{ID: "short", Secret: []byte("x")})
	require.Error(t, err)
}

func TestHold(t *testing.T) {
	s, _, _ := newService(t, approval.Config{Hold: 20 * time.Second}, approval.WithPollInterval(time.Hour))
	ctx := context.Background()
	done := make(chan approval.Result, 1)
	go func() {
		r, err := s.Check(ctx, call(`{"held":true}`))
		require.NoError(t, err)
		done <- r
	}()
	// Wait for the request to exist (created → the held call is waiting).
	var id string
	for id == "" {
		changed := s.Changed()
		rs, err := s.List(ctx, 1)
		require.NoError(t, err)
		if len(rs) == 1 {
			id = rs[0].ID
			break
		}
		<-changed
	}
	_, err := s.Decide(ctx, id, alice, true, "")
	require.NoError(t, err)
	r := <-done
	require.Equal(t, approval.StatusApproved, r.Status, "a quick approval completes the held call")
}

func TestConfigValidate(t *testing.T) {
	cfg := approval.Config{Hold: time.Minute, OnTimeout: "maybe", Rules: []approval.Rule{{Approvers: []string{"a"}, Quorum: 3}, {Tools: []string{"[x"}}},
		StateKeys: []approval.Secret{{ID: "k"}, {ID: "k", Value: "v"}}, Auth: approval.Auth{InsecureDev: true, JWT: &approval.JWTAuth{}},
		Notify: approval.Notify{Webhook: &approval.Webhook{URL: "ftp://x"}}}
	cfg.ApplyDefaults()
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{"hold:", "on_timeout:", "rules[0].quorum:", "rules[1].servers/tools[0]:", "state_keys[0]:", "state_keys[1].id:",
		"auth.jwt.issuer:", "auth.insecure_dev:", "notify.webhook.url:", "notify.webhook.secret:"} {
		require.ErrorContains(t, err, want)
	}
	ok := approval.Config{}
	ok.ApplyDefaults()
	require.NoError(t, ok.Validate())
}
