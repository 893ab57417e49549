package audit

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Reason classifies the first integrity failure found by Verify.
type Reason string

// Reasons.
const (
	ReasonEdited       Reason = "edited"
	ReasonDeleted      Reason = "deleted"
	ReasonReordered    Reason = "reordered"
	ReasonInserted     Reason = "inserted"
	ReasonBadSignature Reason = "bad signature"
	ReasonTorn         Reason = "torn write"
	// ReasonUnanchored: records no signed checkpoint covers although the
	// writer's signed promise says one must exist (or none exists at all).
	ReasonUnanchored Reason = "unanchored"
	// ReasonStale: the newest checkpoint is older than its promise allows
	// at the time of verification.
	ReasonStale Reason = "stale checkpoints"
)

// Break is the first integrity failure.
type Break struct {
	Reason Reason `json:"reason"`
	File   string `json:"file"`           // segment or checkpoints file
	Line   int    `json:"line,omitempty"` // 1-based line in File
	Seq    uint64 `json:"seq,omitempty"`  // sequence number concerned
	Detail string `json:"detail"`
}

func (b *Break) String() string {
	loc := b.File
	if b.Line > 0 {
		loc = fmt.Sprintf("%s:%d", b.File, b.Line)
	}
	if b.Seq > 0 {
		return fmt.Sprintf("record %d at %s: %s: %s", b.Seq, loc, b.Reason, b.Detail)
	}
	return fmt.Sprintf("%s: %s: %s", loc, b.Reason, b.Detail)
}

// Torn describes an incomplete last write at the end of the newest segment
// (a crash mid-write). It is not an integrity failure as long as no
// checkpoint covers it.
type Torn struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Bytes  int    `json:"bytes"`
}

// Report is the result of Verify.
type Report struct {
	Dir              string   `json:"dir"`
	Segments         int      `json:"segments"`
	SegmentsValid    int      `json:"segments_valid"`
	Records          uint64   `json:"records"` // records read (up to the break)
	RecordsValid     uint64   `json:"records_valid"`
	FirstSeq         uint64   `json:"first_seq"`
	LastSeq          uint64   `json:"last_seq"`
	FirstTime        string   `json:"first_time,omitempty"`
	LastTime         string   `json:"last_time,omitempty"`
	Checkpoints      int      `json:"checkpoints"`
	CheckpointsValid int      `json:"checkpoints_valid"`
	AnchoredSize     uint64   `json:"anchored_size"` // records covered by the last valid checkpoint
	Unanchored       uint64   `json:"unanchored"`    // valid records after it
	KeySource        string   `json:"key_source"`
	External         int      `json:"external_checkpoints,omitempty"` // checkpoints read from --checkpoints files
	Gaps             uint64   `json:"dropped_in_gaps"`                // records dropped under on_full: drop
	Recoveries       []string `json:"recoveries,omitempty"`
	Torn             *Torn    `json:"torn_tail,omitempty"`
	Break            *Break   `json:"break,omitempty"`
	Warnings         []string `json:"warnings,omitempty"`
}

// Valid reports whether no integrity failure was found.
func (r *Report) Valid() bool { return r.Break == nil }

// WriteText prints the report in the style of CloudTrail validate-logs.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Validating audit log in %s\n", r.Dir)
	if r.Records > 0 {
		fmt.Fprintf(w, "Records found: seq %d to %d (%s to %s)\n", r.FirstSeq, r.LastSeq, r.FirstTime, r.LastTime)
	}
	fmt.Fprintf(w, "%d/%d segments valid\n", r.SegmentsValid, r.Segments)
	fmt.Fprintf(w, "%d/%d records valid\n", r.RecordsValid, r.Records)
	fmt.Fprintf(w, "%d/%d checkpoints valid (keys: %s)\n", r.CheckpointsValid, r.Checkpoints, r.KeySource)
	if r.External > 0 {
		fmt.Fprintf(w, "%d of them from external copies (--checkpoints)\n", r.External)
	}
	fmt.Fprintf(w, "Anchored by the last checkpoint: %d records; unanchored tail: %d records\n", r.AnchoredSize, r.Unanchored)
	if r.Gaps > 0 {
		fmt.Fprintf(w, "Gap records: %d records dropped (queue full, on_full: drop)\n", r.Gaps)
	}
	for _, n := range r.Recoveries {
		fmt.Fprintf(w, "Recovered after crash: %s\n", n)
	}
	if r.Torn != nil {
		fmt.Fprintf(w, "Torn last write: %d bytes at offset %d of %s (incomplete record from a crash; not covered by a checkpoint)\n", r.Torn.Bytes, r.Torn.Offset, r.Torn.File)
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", s)
	}
	if r.Break != nil {
		fmt.Fprintf(w, "INVALID: %s\n", r.Break)
		return
	}
	fmt.Fprintln(w, "VALID")
}

// VerifyOptions tune VerifyWith.
type VerifyOptions struct {
	// Keys are the trusted checkpoint keys. Empty: the checkpoint-*.pub
	// files in the directory are used, which only proves internal
	// consistency, and missing or stale checkpoints are warnings.
	Keys []ed25519.PublicKey
	// Now is the time the log is judged at (default time.Now()); set it to
	// when a copy of the directory was taken to verify an archive.
	Now time.Time
	// Slack is added to every checkpoint deadline (default 30s) for fsync
	// and scheduling delays.
	Slack time.Duration
	// CheckpointFiles hold copies of checkpoints kept outside the directory
	// (exported from a sink or witness), one JSON checkpoint per line. They
	// are checked like the directory's own and merged with them, so a log
	// truncated together with its checkpoints.jsonl still contradicts them.
	CheckpointFiles []string
}

// DefaultVerifySlack is added to checkpoint deadlines.
const DefaultVerifySlack = 30 * time.Second

// Verify is VerifyWith(dir, VerifyOptions{Keys: pubs}).
func Verify(dir string, pubs []ed25519.PublicKey) (*Report, error) {
	return VerifyWith(dir, VerifyOptions{Keys: pubs})
}

// VerifyWith checks the audit directory dir: every segment's hash chain, the
// sequence numbers across segments, every checkpoint's signature and that
// each checkpoint's head matches the chain. With trusted keys it also
// requires the log to be anchored: at least one signed checkpoint, and the
// records and time after the newest one within that checkpoint's signed
// promise (so deleting the newest checkpoints, with or without the records
// they covered, is detected). It returns an error only when the directory
// could not be read at all; integrity failures are in Report.Break.
func VerifyWith(dir string, opt VerifyOptions) (*Report, error) {
	pubs := opt.Keys
	strict := len(pubs) > 0
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Slack == 0 {
		opt.Slack = DefaultVerifySlack
	}
	rep := &Report{Dir: dir, KeySource: "--pubkey"}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if len(pubs) == 0 {
		rep.KeySource = "directory (not independent; pass --pubkey)"
		matches, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*.pub"))
		for _, m := range matches {
			if k, err := ReadPublicKey(m); err == nil {
				pubs = append(pubs, k)
			}
		}
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range pubs {
		keys[KeyID(k)] = k
	}
	cps, err := rep.loadCheckpointFile(filepath.Join(dir, checkpointsFile), checkpointsFile, keys, true)
	if err != nil {
		return nil, err
	}
	for _, f := range opt.CheckpointFiles {
		if rep.Break != nil {
			break
		}
		ext, err := rep.loadCheckpointFile(f, f, keys, false)
		if err != nil {
			return nil, err
		}
		rep.External += len(ext)
		cps = mergeCheckpoints(cps, ext)
	}
	if len(segs) == 0 {
		if len(cps) == 0 {
			return nil, fmt.Errorf("verify: no audit segments (%s*%s) in %s", segPrefix, segSuffix, dir)
		}
	}
	rep.Segments = len(segs)
	if rep.Break != nil {
		return rep, nil
	}
	v := verifier{rep: rep, cps: cps, lastMatch: -1}
	for i, idx := range segs {
		name := segmentName(idx)
		want := i + 1
		if idx != want {
			rep.Break = &Break{Reason: ReasonDeleted, File: name, Seq: v.seq + 1,
				Detail: fmt.Sprintf("segment %s is missing (segments must be numbered from 1 without gaps)", segmentName(want))}
			break
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		if !v.segment(name, data, i == len(segs)-1) {
			break
		}
		rep.SegmentsValid++
	}
	if rep.Break == nil {
		v.finish()
	}
	rep.RecordsValid = v.valid
	if rep.AnchoredSize <= rep.RecordsValid {
		rep.Unanchored = rep.RecordsValid - rep.AnchoredSize
	}
	if rep.Break == nil {
		v.anchors(strict, opt.Now, opt.Slack)
	}
	return rep, nil
}

// anchors checks that the end of the log is covered as the newest matched
// checkpoint promised. With trusted keys a failure is a Break, otherwise a
// warning (whoever can write the directory can also replace its keys).
func (v *verifier) anchors(strict bool, now time.Time, slack time.Duration) {
	rep := v.rep
	problem := func(reason Reason, file string, seq uint64, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if strict {
			rep.Break = &Break{Reason: reason, File: file, Seq: seq, Detail: msg}
			return
		}
		rep.Warnings = append(rep.Warnings, msg+" (not enforced without --pubkey)")
	}
	if rep.RecordsValid > 0 && v.lastMatch < 0 {
		problem(ReasonUnanchored, checkpointsFile, 0,
			"no signed checkpoint covers the log (%d records): %s is missing, empty or holds only checkpoints of size 0, so a rewritten or truncated log cannot be told from the original",
			rep.RecordsValid, checkpointsFile)
		return
	}
	if v.lastMatch < 0 {
		return // empty log
	}
	// The last matched checkpoint is the newest of its size (an idle
	// heartbeat or the closing one carries the newest promise).
	cp := v.cps[v.lastMatch]
	if cp.Every == 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the newest checkpoint (size %d) states no checkpoint interval (written by an older version): removal of the checkpoints and records after it cannot be detected", cp.Size))
		return
	}
	cpTime, err := time.Parse(time.RFC3339Nano, cp.Time)
	if err != nil {
		problem(ReasonEdited, checkpointsFile, cp.Size, "checkpoint for size %d has an unreadable time %q", cp.Size, cp.Time)
		return
	}
	interval := time.Duration(cp.IntervalMS) * time.Millisecond
	idle := time.Duration(cp.IdleMS) * time.Millisecond
	tail := rep.RecordsValid - rep.AnchoredSize
	switch {
	// The writer checkpoints as soon as Every records are unanchored, so
	// even Every records after a checkpoint mean one is missing.
	case tail >= cp.Every:
		problem(ReasonUnanchored, strings.TrimSpace(cp.Segment), cp.Size+1,
			"%d records follow the newest signed checkpoint (size %d of %s), which promises a checkpoint every %d records: the checkpoints after it were removed, or records were appended without the key",
			tail, cp.Size, cp.Time, cp.Every)
	case tail > 0 && v.tailFirstMs > 0 && time.UnixMilli(v.tailFirstMs).Add(interval+slack).Before(now):
		problem(ReasonStale, strings.TrimSpace(cp.Segment), cp.Size+1,
			"record %d (written %s) and the %d records after it are covered by no signed checkpoint although one was due within %s: the newest checkpoints were removed, or the writer stopped without closing the log (to verify a copy, pass the time it was taken with --as-of)",
			cp.Size+1, time.UnixMilli(v.tailFirstMs).UTC().Format(time.RFC3339), tail-1, interval)
	case tail == 0 && !cp.Final && cpTime.Add(idle+interval+slack).Before(now):
		problem(ReasonStale, checkpointsFile, cp.Size,
			"the newest signed checkpoint (size %d of %s) is not a closing checkpoint and no checkpoint followed it within the idle interval of %s: checkpoints, and possibly the records they covered, were removed from the end, or the writer stopped without closing the log (to verify a copy, pass the time it was taken with --as-of)",
			cp.Size, cp.Time, idle)
	}
}

// mergeCheckpoints adds the external checkpoints not already present and
// orders everything by size (stable, so the directory's own come first).
func mergeCheckpoints(own, ext []Checkpoint) []Checkpoint {
	seen := map[string]bool{}
	for _, c := range own {
		seen[c.Sig] = true
	}
	out := slices.Clone(own)
	for _, c := range ext {
		if !seen[c.Sig] {
			seen[c.Sig] = true
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	return out
}

// loadCheckpointFile reads a file of checkpoints (the directory's own
// checkpoints.jsonl when own, else an external copy) and checks
// signatures, and for the own file the order and a torn last line.
func (rep *Report) loadCheckpointFile(path, name string, keys map[string]ed25519.PublicKey, own bool) ([]Checkpoint, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && own {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var cps []Checkpoint
	lines := bytes.Split(data, []byte{'\n'})
	for i, ln := range lines {
		if !own {
			ln = bytes.TrimSpace(ln) // copies may come with CRLF or indentation
		}
		if len(ln) == 0 {
			continue
		}
		lineNo := i + 1
		if own && i == len(lines)-1 { // no trailing newline: torn last checkpoint write
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s:%d: incomplete last checkpoint ignored (torn write)", name, lineNo))
			break
		}
		rep.Checkpoints++
		cp, err := parseCheckpoint(ln)
		if err != nil {
			rep.Break = &Break{Reason: ReasonEdited, File: name, Line: lineNo, Detail: err.Error()}
			return nil, nil
		}
		k, ok := keys[cp.KeyID]
		if !ok {
			rep.Break = &Break{Reason: ReasonBadSignature, File: name, Line: lineNo, Seq: cp.Size,
				Detail: fmt.Sprintf("checkpoint signed by unknown key id %s", cp.KeyID)}
			return nil, nil
		}
		if !cp.Verify(k) {
			rep.Break = &Break{Reason: ReasonBadSignature, File: name, Line: lineNo, Seq: cp.Size,
				Detail: fmt.Sprintf("checkpoint for size %d: Ed25519 signature does not verify with key %s", cp.Size, cp.KeyID)}
			return nil, nil
		}
		if n := len(cps); own && n > 0 && cp.Size < cps[n-1].Size {
			rep.Break = &Break{Reason: ReasonReordered, File: name, Line: lineNo, Seq: cp.Size,
				Detail: fmt.Sprintf("checkpoint size %d after size %d", cp.Size, cps[n-1].Size)}
			return nil, nil
		}
		rep.CheckpointsValid++
		cps = append(cps, cp)
	}
	return cps, nil
}

type verifier struct {
	rep   *Report
	cps   []Checkpoint
	next  int // next checkpoint to match
	seq   uint64
	head  [32]byte
	valid uint64

	lastMs      int64
	warnedTime  bool
	tailFirstMs int64 // time of the first record no checkpoint covers yet (0: none)
	lastMatch   int   // index in cps of the newest checkpoint matched to the chain (-1: none)
}

func (v *verifier) fail(reason Reason, file string, lineNo int, seq uint64, format string, args ...any) bool {
	v.rep.Break = &Break{Reason: reason, File: file, Line: lineNo, Seq: seq, Detail: fmt.Sprintf(format, args...)}
	return false
}

// segment checks one segment; it returns false at the first break.
func (v *verifier) segment(name string, data []byte, last bool) bool {
	lines := bytes.SplitAfter(data, []byte{'\n'})
	var offset int64
	for i, raw := range lines {
		if len(raw) == 0 {
			continue
		}
		lineNo := i + 1
		if raw[len(raw)-1] != '\n' {
			if last && i == len(lines)-1 {
				v.rep.Torn = &Torn{File: name, Offset: offset, Bytes: len(raw)}
				return true
			}
			return v.fail(ReasonTorn, name, lineNo, v.seq+1, "incomplete record inside the log (only the newest segment may end in a torn write)")
		}
		offset += int64(len(raw))
		v.rep.Records++
		ln, err := parseLine(raw[:len(raw)-1])
		if err != nil {
			return v.fail(ReasonEdited, name, lineNo, v.seq+1, "line is not a well-formed record: %v", err)
		}
		want := v.seq + 1
		switch {
		case ln.seq > want:
			if v.findLater(lines[i+1:], want) {
				return v.fail(ReasonReordered, name, lineNo, ln.seq, "expected record %d here, found %d (record %d appears later)", want, ln.seq, want)
			}
			return v.fail(ReasonDeleted, name, lineNo, want, "records %d..%d are missing (found %d after %d)", want, ln.seq-1, ln.seq, v.seq)
		case ln.seq < want:
			return v.fail(ReasonInserted, name, lineNo, ln.seq, "record %d appears after record %d (duplicate or inserted record)", ln.seq, v.seq)
		}
		if chainHash(ln.prev, ln.rec) != ln.hash {
			return v.fail(ReasonEdited, name, lineNo, ln.seq, "content does not match its hash")
		}
		if ln.prev != v.head {
			if i+1 < len(lines) {
				if nx, err := parseLine(bytes.TrimSuffix(lines[i+1], []byte{'\n'})); err == nil && nx.seq == ln.seq {
					return v.fail(ReasonInserted, name, lineNo, ln.seq, "record %d does not link to record %d and is followed by another record %d (inserted record)", ln.seq, v.seq, ln.seq)
				}
			}
			if v.seq == 0 {
				return v.fail(ReasonEdited, name, lineNo, ln.seq, "first record's prev_hash is not the genesis (all zero) hash")
			}
			return v.fail(ReasonEdited, name, lineNo-1, v.seq, "record %d was rewritten: record %d's prev_hash %s does not match its hash %s", v.seq, ln.seq, short(ln.prev[:]), short(v.head[:]))
		}
		v.seq, v.head = ln.seq, ln.hash
		v.valid++
		ms := v.note(ln.rec)
		if v.tailFirstMs == 0 {
			v.tailFirstMs = ms
		}
		for v.next < len(v.cps) && v.cps[v.next].Size == v.seq {
			v.tailFirstMs = 0
			v.lastMatch = v.next
			cp := v.cps[v.next]
			if cp.Head != hex.EncodeToString(v.head[:]) {
				return v.fail(ReasonEdited, name, lineNo, v.seq, "chain rewritten: signed checkpoint of %s for size %d has head %s, log has %s", cp.Time, cp.Size, cp.Head[:16], short(v.head[:]))
			}
			v.rep.AnchoredSize = cp.Size
			v.next++
		}
		for v.next < len(v.cps) && v.cps[v.next].Size < v.seq { // e.g. a size-0 checkpoint
			v.next++
		}
	}
	return true
}

// note collects report facts from a record and returns its time (Unix ms).
func (v *verifier) note(rec []byte) int64 {
	if v.rep.FirstSeq == 0 {
		v.rep.FirstSeq = v.seq
		v.rep.FirstTime = gjson.GetBytes(rec, "time_dt").String()
	}
	v.rep.LastSeq = v.seq
	v.rep.LastTime = gjson.GetBytes(rec, "time_dt").String()
	// Time going backwards (beyond 1 s of clock jitter) is suspicious but not
	// proof of tampering (clocks get stepped): warn once.
	ms := gjson.GetBytes(rec, "time").Int()
	if v.lastMs-ms > 1000 && !v.warnedTime {
		v.warnedTime = true
		v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("record %d: time goes backwards by %d ms (clock step or reordering)", v.seq, v.lastMs-ms))
	}
	v.lastMs = max(v.lastMs, ms)
	if bytes.Contains(rec, []byte(`"kind":"decision"`)) {
		return ms
	}
	u := gjson.GetBytes(rec, "unmapped.portcullis")
	switch gjson.GetBytes(rec, "kind").String() {
	case "gap":
		v.rep.Gaps += u.Get("dropped").Uint()
	case "recovery":
		v.rep.Recoveries = append(v.rep.Recoveries, fmt.Sprintf("record %d: %s", v.seq, u.Get("note").String()))
	}
	return ms
}

func (v *verifier) findLater(lines [][]byte, seq uint64) bool {
	for _, raw := range lines {
		if ln, err := parseLine(bytes.TrimSuffix(raw, []byte{'\n'})); err == nil && ln.seq == seq {
			return true
		}
	}
	return false
}

func (v *verifier) finish() {
	if v.next < len(v.cps) {
		cp := v.cps[v.next]
		last := v.cps[len(v.cps)-1]
		v.rep.Break = &Break{Reason: ReasonDeleted, File: strings.TrimSpace(cp.Segment), Seq: v.seq + 1,
			Detail: fmt.Sprintf("log truncated: signed checkpoint of %s covers %d records, the log ends at record %d", last.Time, last.Size, v.seq)}
	}
}

func short(b []byte) string { return hex.EncodeToString(b)[:16] }
