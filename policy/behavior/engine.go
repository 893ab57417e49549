package behavior

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
)

// Call is one tools/call on the request plane.
type Call struct {
	Agent, Session, Server, Tool string
	Args                         []byte // raw JSON arguments
}

// Result is one tools/call result on the response plane.
type Result struct {
	Agent, Session, Server, Tool string
	Bytes                        int // size of the result content
	Records                      int // rows/items returned, if known
	// Sensitive lists finding categories (pii, pci, secret, internal, …).
	Sensitive []string
	// Values are sensitive values seen in the result; only salted hashes
	// are kept.
	Values  [][]byte
	IsError bool
}

// Verdict is the engine's opinion of one call.
type Verdict struct {
	// Score is the 0-100 behavioural anomaly score for the risk factor.
	Score int
	// Reason explains Score (and Action), most important first; empty
	// when Score is 0 and there is no Action.
	Reason string
	// Action is "", "block" or "require_approval"; Rule names what forced
	// it: "pinning:changed-tool", "rate:<name>", "sequence:<name>" or
	// "sequence:verbatim".
	Action string
	Rule   string
}

// Engine evaluates calls and results against per-agent baselines and the
// behaviour rules. Safe for concurrent use; all state lives in the Store.
type Engine struct {
	cfg    Config
	store  Store
	now    func() time.Time
	salt   []byte
	catBit map[string]uint64
	seqs   []seqRule
	sens   uint64 // mask of all sensitive categories
	errs   atomic.Int64
}

type seqRule struct {
	name       string
	mask       uint64
	then       []string
	action     string
	minRecords int64
	minBytes   int64
}

// session totals vector fields
const (
	sBytes = iota
	sRecords
	sResults
	sErrors
	nSession
)

// window vector fields
const (
	fCalls = iota
	fErrors
	fBytes
	fRecords
	fNewRes
	fNewTools
	nFields
)

// New returns an Engine. cfg should come from ParseConfig or the policy
// (defaults are applied again here, so a zero Config works); store nil means
// a default MemoryStore; now nil means time.Now.
func New(cfg Config, store Store, now func() time.Time) *Engine {
	cfg.ApplyDefaults()
	if now == nil {
		now = time.Now
	}
	if store == nil {
		store = NewMemoryStore(MemoryOptions{Now: now})
	}
	e := &Engine{cfg: cfg, store: store, now: now, catBit: map[string]uint64{}}
	if cfg.Salt != "" {
		e.salt = []byte(cfg.Salt)
	} else {
		e.salt = make([]byte, 32)
		_, _ = rand.Read(e.salt)
	}
	for i, c := range cfg.SensitiveCategories {
		if i < 64 {
			e.catBit[c] = 1 << uint(i)
			e.sens |= 1 << uint(i)
		}
	}
	for _, s := range cfg.Sequences {
		r := seqRule{name: s.Name, then: s.Then, action: s.Action, minRecords: s.MinRecords, minBytes: s.MinBytes}
		if len(r.then) == 0 {
			r.then = cfg.EgressTools
		}
		if len(s.After) == 0 {
			r.mask = e.sens
		}
		for _, c := range s.After {
			r.mask |= e.catBit[c]
		}
		e.seqs = append(e.seqs, r)
	}
	return e
}

// StoreErrors counts store operations that failed (a counter for metrics);
// the engine fails open on them.
func (e *Engine) StoreErrors() int64 { return e.errs.Load() }

func (e *Engine) fail(err error) bool {
	if err != nil {
		e.errs.Add(1)
		return true
	}
	return false
}

// matchTool matches a glob against "server/tool" when it contains '/',
// else against the tool name.
func matchTool(g, server, tool string) bool {
	if strings.IndexByte(g, '/') >= 0 {
		return len(g) > 0 && globST(g, server, tool)
	}
	return config.Glob(g, tool)
}

func globST(g, server, tool string) bool {
	// Avoid building "server/tool" unless the server part can match.
	i := strings.IndexByte(g, '/')
	if !strings.ContainsAny(g[:i], "*?") {
		return g[:i] == server && config.Glob(g[i+1:], tool)
	}
	return config.Glob(g, server+"/"+tool)
}

// baseline is an agent's learned behaviour, folded over active windows.
type baseline struct {
	cur   int64 // window index the counters are accumulating in
	n     int64 // active windows folded
	prev  [nFields]int64
	ewma  [nFields]float64
	dirty bool
}

const baselineSize = 16 + nFields*16

func (b *baseline) decode(p []byte) bool {
	if len(p) != baselineSize {
		return false
	}
	b.cur = int64(binary.LittleEndian.Uint64(p))
	b.n = int64(binary.LittleEndian.Uint64(p[8:]))
	for i := range nFields {
		b.prev[i] = int64(binary.LittleEndian.Uint64(p[16+8*i:]))
		b.ewma[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[16+8*nFields+8*i:]))
	}
	return true
}

func (b *baseline) encode() []byte {
	p := make([]byte, baselineSize)
	binary.LittleEndian.PutUint64(p, uint64(b.cur))
	binary.LittleEndian.PutUint64(p[8:], uint64(b.n))
	for i := range nFields {
		binary.LittleEndian.PutUint64(p[16+8*i:], uint64(b.prev[i]))
		binary.LittleEndian.PutUint64(p[16+8*nFields+8*i:], math.Float64bits(b.ewma[i]))
	}
	return p
}

func windowKey(agent string, w int64) string {
	var buf [20]byte
	return "a\x00" + agent + "\x00w" + string(strconv.AppendInt(buf[:0], w, 10))
}

var zeros [nFields]int64

func baselineKey(agent string) string { return "a\x00" + agent + "\x00b" }

// rollBaseline decodes the agent's baseline from get (the batched read of
// baselineKey) and rolls it forward to window w: when the agent's last
// active window has ended, its counters are folded into the EWMA (idle
// windows are not folded, so bursty agents are judged against their active
// windows). A baseline that could not be read is not overwritten.
func (e *Engine) rollBaseline(ctx context.Context, agent string, w int64, get *Op) baseline {
	var b baseline
	if get.Err != nil {
		return baseline{cur: w}
	}
	if !b.decode(get.Val) {
		b = baseline{cur: w}
		b.dirty = true
	}
	if b.cur < w {
		var c [nFields]int64
		if !e.fail(e.store.Add(ctx, windowKey(agent, b.cur), zeros[:], c[:], 2*e.cfg.Window)) {
			a := e.cfg.Alpha
			for i := range nFields {
				if b.n == 0 {
					b.ewma[i] = float64(c[i])
				} else {
					b.ewma[i] = a*float64(c[i]) + (1-a)*b.ewma[i]
				}
			}
			b.n++
			if b.cur == w-1 {
				b.prev = c
			} else {
				b.prev = zeros
			}
		}
		b.cur = w
		b.dirty = true
	}
	if b.dirty {
		e.fail(e.store.Put(ctx, baselineKey(agent), b.encode(), e.cfg.BaselineTTL))
	}
	return b
}

// do runs a batch and counts its failed operations.
func (e *Engine) do(ctx context.Context, ops []Op) {
	if Do(ctx, e.store, ops) == nil {
		return
	}
	for i := range ops {
		e.fail(ops[i].Err)
	}
}

// signal is one scored observation.
type signal struct {
	score  int
	reason string
}

type verdictBuilder struct {
	v   Verdict
	sig [6]signal
	n   int
}

func (vb *verdictBuilder) add(score int, reason string) {
	if score <= 0 || vb.n == len(vb.sig) {
		return
	}
	vb.sig[vb.n] = signal{min(score, 100), reason}
	vb.n++
}

func (vb *verdictBuilder) hard(action, rule, reason string) {
	if action == "" {
		return
	}
	if vb.v.Action == ActionBlock || (vb.v.Action == action) {
		return
	}
	vb.v.Action, vb.v.Rule = action, rule
	if reason != "" {
		if vb.v.Reason != "" {
			vb.v.Reason = reason + "; " + vb.v.Reason
		} else {
			vb.v.Reason = reason
		}
	}
}

func (vb *verdictBuilder) done() Verdict {
	if vb.n == 0 {
		return vb.v
	}
	// Highest score first; the score is the highest signal plus a little
	// for each corroborating one.
	s := vb.sig[:vb.n]
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].score > s[j-1].score; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	score := s[0].score
	for _, x := range s[1:] {
		score += x.score / 10
	}
	vb.v.Score = min(score, 100)
	var sb strings.Builder
	for i, x := range s {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(x.reason)
	}
	if vb.v.Reason != "" {
		sb.WriteString("; ")
		sb.WriteString(vb.v.Reason)
	}
	vb.v.Reason = sb.String()
	return vb.v
}

// ratioScore maps an observed value over a threshold to 50-100: 50 at the
// threshold, 75 at twice it, approaching 100.
func ratioScore(v, thr float64) int {
	if v <= thr || thr <= 0 {
		return 0
	}
	return 50 + int(50*(1-thr/v))
}

func (e *Engine) windowName() string {
	if e.cfg.Window == time.Minute {
		return "min"
	}
	return e.cfg.Window.String()
}

// OnCall records a call and scores it. Call it on the request plane before
// the policy decision: it updates the agent's windows (calls, distinct
// resources, new tools and servers), checks pinning, rate limits and
// toxic-flow sequences, and looks for sensitive values from earlier results
// in the arguments.
//
// Store traffic is batched: every read and write that depends on no other
// result goes in one batch (one Redis round trip); a second, small batch
// runs only when the call touched a new resource or tool, calls an egress
// tool after sensitive results, or runs in a session whose results carried
// sensitive values. A failed pin read or rate-limit count blocks the call
// unless Config.OnStoreError opens it; the scores fail open (0, with the
// reason).
func (e *Engine) OnCall(ctx context.Context, c Call) Verdict {
	var vb verdictBuilder
	now := e.now().UnixNano()
	win := int64(e.cfg.Window)
	w := now / win
	frac := float64(now%win) / float64(win)

	res, sensRes := extractResource(c.Args)
	var cur [nFields]int64
	d := [nFields]int64{fCalls: 1}
	pb := getOps()
	ops := pb.ops[:0]
	defer func() { putOps(pb, ops) }()
	pinOp := -1
	if e.cfg.Pinning.Mode == PinBlock {
		pinOp = len(ops)
		ops = append(ops, Op{Kind: OpGet, Key: pinKey(c.Server, c.Tool)})
	}
	baseOp := len(ops)
	ops = append(ops, Op{Kind: OpGet, Key: baselineKey(c.Agent)})
	resOp := -1
	if res != "" {
		resOp = len(ops)
		ops = append(ops, Op{Kind: OpSetAdd, Key: "a\x00" + c.Agent + "\x00r", Member: c.Server + "|" + res, Max: 1024, TTL: e.cfg.BaselineTTL})
	}
	toolOp := len(ops)
	ops = append(ops, Op{Kind: OpSetAdd, Key: "a\x00" + c.Agent + "\x00t", Member: c.Server + "/" + c.Tool, Max: 4096, TTL: e.cfg.BaselineTTL})
	winOp := len(ops)
	ops = append(ops, Op{Kind: OpAdd, Key: windowKey(c.Agent, w), Deltas: d[:], Out: cur[:], TTL: 2 * e.cfg.Window})
	ops, limits := e.queueLimits(ops, c, now)
	catOp, lenOp := -1, -1
	if c.Session != "" {
		if len(e.seqs) > 0 {
			catOp = len(ops)
			ops = append(ops, Op{Kind: OpOrBits, Key: "s\x00" + c.Session + "\x00c", TTL: e.cfg.SessionTTL})
		}
		if len(c.Args) > 0 {
			lenOp = len(ops)
			ops = append(ops, Op{Kind: OpOrBits, Key: "s\x00" + c.Session + "\x00l", TTL: e.cfg.SessionTTL})
		}
	}
	e.do(ctx, ops)

	if pinOp >= 0 {
		if ops[pinOp].Err != nil {
			if !e.cfg.OnStoreError.PinsOpen {
				vb.hard(ActionBlock, "pinning:unavailable", "tool pins unavailable (state store error; pins fail closed)")
			}
		} else if blocked, why := pinBlocked(ops[pinOp].Val); blocked {
			vb.hard(ActionBlock, "pinning:changed-tool", why)
		}
	}
	b := e.rollBaseline(ctx, c.Agent, w, &ops[baseOp])
	warm := b.n >= int64(e.cfg.Warmup)
	newRes := resOp >= 0 && ops[resOp].Err == nil && ops[resOp].Bool
	newTool := ops[toolOp].Err == nil && ops[toolOp].Bool
	winErr := ops[winOp].Err

	// Second batch, only when needed.
	pb2 := getOps()
	more := pb2.ops[:3]
	defer func() { putOps(pb2, more) }()
	n := 0
	var corr [nFields]int64
	corrOp := -1
	if winErr == nil && (newRes || newTool) {
		var dn [nFields]int64
		if newRes {
			dn[fNewRes] = 1
		}
		if newTool {
			dn[fNewTools] = 1
		}
		corrOp = n
		more[n] = Op{Kind: OpAdd, Key: windowKey(c.Agent, w), Deltas: dn[:], Out: corr[:], TTL: 2 * e.cfg.Window}
		n++
	}
	var cats uint64
	if catOp >= 0 && ops[catOp].Err == nil {
		cats = ops[catOp].Bits
	}
	var tot [nSession]int64
	totOp := -1
	if cats != 0 && e.sequenceCandidate(cats, c) {
		totOp = n
		more[n] = Op{Kind: OpAdd, Key: "s\x00" + c.Session + "\x00n", Deltas: zeros[:nSession], Out: tot[:], TTL: e.cfg.SessionTTL}
		n++
	}
	hasOp := -1
	if lenOp >= 0 && ops[lenOp].Err == nil && ops[lenOp].Bits != 0 {
		if hashes := e.candidateHashes(c.Args, ops[lenOp].Bits); len(hashes) > 0 {
			hasOp = n
			more[n] = Op{Kind: OpSetHasAny, Key: "s\x00" + c.Session + "\x00v", Members: hashes}
			n++
		}
	}
	e.do(ctx, more[:n])

	if winErr != nil {
		e.checkLimits(&vb, ops, limits)
		if vb.v.Reason == "" {
			vb.v.Reason = "behaviour store unavailable"
		} else {
			vb.v.Reason += "; behaviour store unavailable"
		}
		return vb.done()
	}
	if corrOp >= 0 {
		if more[corrOp].Err == nil {
			cur = corr
		} else {
			if newRes {
				cur[fNewRes]++
			}
			if newTool {
				cur[fNewTools]++
			}
		}
	}

	if warm {
		a := &e.cfg.Anomaly
		rate := float64(cur[fCalls]) + float64(b.prev[fCalls])*(1-frac)
		base := max(b.ewma[fCalls], 1)
		if s := ratioScore(rate, max(float64(a.MinCalls), base*a.VelocityRatio)); s > 0 {
			vb.add(s, fmt.Sprintf("velocity %.0f calls/%s vs baseline %.1f (%.0fx)", rate, e.windowName(), b.ewma[fCalls], rate/base))
		}
		bytes := float64(cur[fBytes]) + float64(b.prev[fBytes])*(1-frac)
		bbase := max(b.ewma[fBytes], 1)
		if s := ratioScore(bytes, max(float64(a.MinBytes), bbase*a.VolumeRatio)); s > 0 {
			vb.add(s, fmt.Sprintf("volume %d bytes/%s returned vs baseline %.0f (%.0fx)", int64(bytes), e.windowName(), b.ewma[fBytes], bytes/bbase))
		}
		recs := float64(cur[fRecords]) + float64(b.prev[fRecords])*(1-frac)
		rbase := max(b.ewma[fRecords], 1)
		if s := ratioScore(recs, max(100, rbase*a.VolumeRatio)); s > 0 {
			vb.add(s, fmt.Sprintf("volume %d records/%s returned vs baseline %.0f (%.0fx)", int64(recs), e.windowName(), b.ewma[fRecords], recs/rbase))
		}
		if cur[fErrors] >= 5 && 2*cur[fErrors] > cur[fCalls] {
			erate := float64(cur[fErrors]) / float64(cur[fCalls])
			brate := b.ewma[fErrors] / max(b.ewma[fCalls], 1)
			if erate > 3*brate {
				vb.add(40, fmt.Sprintf("error burst %d/%d calls failed this window vs baseline %.0f%%", cur[fErrors], cur[fCalls], 100*brate))
			}
		}
		if newRes {
			s := a.NewResourceScore
			if sensRes {
				s += 30
			}
			vb.add(s, "resource escalation: first access to "+res+" on "+c.Server)
		} else if sensRes && cur[fNewRes] > 0 {
			vb.add(a.NewResourceScore/2, "sensitive location "+res+" after new resources this window")
		}
		if newTool {
			vb.add(a.NewToolScore, "first use of tool "+c.Server+"/"+c.Tool)
		}
	}

	e.checkLimits(&vb, ops, limits)
	if totOp >= 0 {
		if more[totOp].Err != nil {
			clear(tot[:])
		}
		e.checkSequences(&vb, c, cats, tot)
	}
	if hasOp >= 0 && more[hasOp].Err == nil && more[hasOp].Bool {
		vb.add(e.cfg.Verbatim.Score, "a sensitive value from an earlier result appears verbatim in the arguments of "+c.Server+"/"+c.Tool)
		vb.hard(*e.cfg.Verbatim.Action, "sequence:verbatim", "")
	}
	return vb.done()
}

// limitRef ties a rate limit to its two batched counters (this window +1,
// the previous window read) at ops[op] and ops[op+1].
type limitRef struct {
	rule int
	id   string
	op   int
	now  int64
	cur  [1]int64
	prev [1]int64
}

var one = [1]int64{1}

// queueLimits appends the counters of every rate limit that applies to c.
func (e *Engine) queueLimits(ops []Op, c Call, now int64) ([]Op, []limitRef) {
	if len(e.cfg.RateLimits) == 0 {
		return ops, nil
	}
	// Fixed capacity: ops point into refs, which must never move.
	refs := make([]limitRef, 0, len(e.cfg.RateLimits))
	var buf [24]byte
	for i := range e.cfg.RateLimits {
		r := &e.cfg.RateLimits[i]
		var id string
		switch r.Scope {
		case ScopeAgent:
			if r.Match != "" && !config.Glob(r.Match, c.Agent) {
				continue
			}
			id = c.Agent
		case ScopeServer:
			if r.Match != "" && !config.Glob(r.Match, c.Server) {
				continue
			}
			id = c.Server
		case ScopeTool:
			if r.Match != "" && !matchTool(r.Match, c.Server, c.Tool) {
				continue
			}
			id = c.Server + "/" + c.Tool
		default:
			continue
		}
		w := now / int64(r.Window)
		prefix := "r\x00" + strconv.Itoa(i) + "\x00" + id + "\x00"
		refs = append(refs, limitRef{rule: i, id: id, op: len(ops), now: now})
		ref := &refs[len(refs)-1]
		// Two statements: both keys format into buf.
		curKey := prefix + string(strconv.AppendInt(buf[:0], w, 10))
		prevKey := prefix + string(strconv.AppendInt(buf[:0], w-1, 10))
		ops = append(ops,
			Op{Kind: OpAdd, Key: curKey, Deltas: one[:], Out: ref.cur[:], TTL: 2 * r.Window},
			Op{Kind: OpAdd, Key: prevKey, Deltas: zeros[:1], Out: ref.prev[:], TTL: 2 * r.Window})
	}
	return ops, refs
}

// checkLimits judges the counted rate limits. A limit whose counters could
// not be read blocks the call (rate limits fail closed) unless
// Config.OnStoreError opens them.
func (e *Engine) checkLimits(vb *verdictBuilder, ops []Op, refs []limitRef) {
	for k := range refs {
		ref := &refs[k]
		r := &e.cfg.RateLimits[ref.rule]
		if ops[ref.op].Err != nil || ops[ref.op+1].Err != nil {
			if !e.cfg.OnStoreError.RateLimitsOpen {
				vb.hard(ActionBlock, "rate:"+r.Name, fmt.Sprintf("rate limit %s: counters unavailable (state store error; rate limits fail closed)", r.Name))
			}
			continue
		}
		win := int64(r.Window)
		frac := float64(ref.now%win) / float64(win)
		est := float64(ref.cur[0]) + float64(ref.prev[0])*(1-frac)
		if est > float64(r.Limit) {
			vb.hard(r.Action, "rate:"+r.Name, fmt.Sprintf("rate limit %s: %.0f calls per %s for %s %s exceeds %d", r.Name, est, r.Window, r.Scope, ref.id, r.Limit))
		}
	}
}

// sequenceCandidate reports whether some sequence rule could fire for c
// given the session's sensitive categories.
func (e *Engine) sequenceCandidate(cats uint64, c Call) bool {
	for _, s := range e.seqs {
		if cats&s.mask != 0 && matchAny(s.then, c.Server, c.Tool) {
			return true
		}
	}
	return false
}

func (e *Engine) checkSequences(vb *verdictBuilder, c Call, cats uint64, tot [nSession]int64) {
	for _, s := range e.seqs {
		if cats&s.mask == 0 || !matchAny(s.then, c.Server, c.Tool) {
			continue
		}
		if tot[sRecords] < s.minRecords && tot[sBytes] < s.minBytes {
			continue
		}
		why := fmt.Sprintf("toxic flow %s: %s/%s after this session received %s data (%d records, %d bytes in %d results)",
			s.name, c.Server, c.Tool, e.catNames(cats&s.mask), tot[sRecords], tot[sBytes], tot[sResults])
		vb.add(90, why)
		vb.hard(s.action, "sequence:"+s.name, "")
	}
}

func matchAny(globs []string, server, tool string) bool {
	for _, g := range globs {
		if matchTool(g, server, tool) {
			return true
		}
	}
	return false
}

func (e *Engine) catNames(bits uint64) string {
	var out []string
	for i, c := range e.cfg.SensitiveCategories {
		if i < 64 && bits&(1<<uint(i)) != 0 {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}

// OnResult records a result: bytes, records and errors into the agent's
// window, sensitive categories and salted hashes of sensitive values into
// the session. Everything goes in one batch (one Redis round trip).
func (e *Engine) OnResult(ctx context.Context, r Result) {
	now := e.now().UnixNano()
	w := now / int64(e.cfg.Window)
	d := [nFields]int64{fBytes: int64(max(r.Bytes, 0)), fRecords: int64(max(r.Records, 0))}
	if r.IsError {
		d[fErrors] = 1
	}
	var out [nFields]int64
	pb := getOps()
	ops := pb.ops[:1]
	defer func() { putOps(pb, ops) }()
	ops[0] = Op{Kind: OpAdd, Key: windowKey(r.Agent, w), Deltas: d[:], Out: out[:], TTL: 2 * e.cfg.Window}
	if r.Session != "" {
		st := [nSession]int64{sBytes: d[fBytes], sRecords: d[fRecords], sResults: 1, sErrors: d[fErrors]}
		var sout [nSession]int64
		ops = append(ops, Op{Kind: OpAdd, Key: "s\x00" + r.Session + "\x00n", Deltas: st[:], Out: sout[:], TTL: e.cfg.SessionTTL})
		var bits uint64
		for _, c := range r.Sensitive {
			bits |= e.catBit[c]
		}
		if bits != 0 {
			ops = append(ops, Op{Kind: OpOrBits, Key: "s\x00" + r.Session + "\x00c", Bits: bits, TTL: e.cfg.SessionTTL})
		}
		var lens uint64
		var nb [maxValueLen]byte
		for i, v := range r.Values {
			if i == 256 {
				break
			}
			n := normalize(nb[:0], v)
			if len(n) < minValueLen {
				continue
			}
			lens |= lenBit(len(n))
			ops = append(ops, Op{Kind: OpSetAdd, Key: "s\x00" + r.Session + "\x00v", Member: e.hash(n), Max: 4096, TTL: e.cfg.SessionTTL})
		}
		if lens != 0 {
			ops = append(ops, Op{Kind: OpOrBits, Key: "s\x00" + r.Session + "\x00l", Bits: lens, TTL: e.cfg.SessionTTL})
		}
	}
	e.do(ctx, ops)
}

const (
	minValueLen = 4
	maxValueLen = 256
)

func lenBit(n int) uint64 { return 1 << uint(min(n, 63)) }

// normalize appends v without ASCII whitespace and dashes, lower-cased, to
// dst (at most maxValueLen bytes), so "4111 1111-1111 1111" and
// "4111111111111111" match.
func normalize(dst, v []byte) []byte {
	for _, c := range v {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if len(dst) == maxValueLen {
			break
		}
		dst = append(dst, c)
	}
	return dst
}

func (e *Engine) hash(n []byte) string {
	h := sha256.New()
	h.Write(e.salt)
	h.Write(n)
	var sum [sha256.Size]byte
	return string(h.Sum(sum[:0])[:12])
}
