package detectors

import (
	"slices"
	"strings"

	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
	"github.com/portcullis-mcp/portcullis/detectors/pii"
	"github.com/portcullis-mcp/portcullis/detectors/secrets"
)

// Values split across fields ({"card_first":"4111 1111","card_last":"1111
// 1111"}, ["372","18","4421"]) escape a per-leaf scan. Runs of adjacent
// short sibling leaves (consecutive string values of one object or array)
// are therefore joined and scanned once more; a match that covers parts of
// two or more leaves is mapped back to a span in each of them, so the
// decision sees it and redaction rewrites every part. Each leaf belongs to
// at most one run and each run is joined at most three times (PII with the
// run's own separator, and with none when a leaf starts like an IBAN;
// secrets with none), each join only when the run has enough digits or
// bytes to hold a value, so the cost is linear in the short leaves' bytes;
// long leaves are never joined.

// splitMaxPart is the longest leaf joined with its siblings: parts of a
// card, an SSN, an IBAN or a token are short; prose is scanned alone.
const splitMaxPart = 64

// splitTypes are the PII types matched across leaves: structured values a
// checksum or a fixed shape validates (Luhn and issuer, SSA rules, mod-97),
// so two unrelated short numbers rarely join into one by chance.
var splitTypes = map[string]bool{pii.CreditCard: true, pii.USSSN: true, pii.IBAN: true}

// splitHits are the matches that cross into one leaf, with spans local to
// that leaf (the same shapes rawChecks keeps per leaf).
type splitHits struct {
	leaf    int // index in the walk's leaves
	pii     []pii.Entity
	secrets []secrets.Match
	// values are the PII types of the matches that start in this leaf
	// (each value counts once for bulk-exfiltration, however many parts).
	values []string
}

// splitMap holds the cross-leaf matches by the leaf's RawStart (unique
// among leaves and object keys, so redaction looks either up alike).
type splitMap map[int]*splitHits

// of returns the matches crossing into l (nil for none, or for a key).
func (m splitMap) of(l jsonwalk.Leaf) *splitHits { return m[l.RawStart] }

// splitFind returns the PII and secret matches that span
// adjacent short sibling leaves. It is nil when there are none (the common
// case: no run of two short siblings, or nothing matches across a boundary).
func (e *Engine) splitFind(leaves []jsonwalk.Leaf) splitMap {
	var j joiner
	return e.splitFindWith(&j, leaves)
}

func (e *Engine) splitFindWith(j *joiner, leaves []jsonwalk.Leaf) splitMap {
	if e.opts.DisablePII && e.opts.DisableSecrets {
		return nil
	}
	var out splitMap
	for i := 0; i < len(leaves); {
		if !splitCandidate(leaves[i].Value) {
			i++
			continue
		}
		k := i + 1
		for k < len(leaves) && leaves[k].Parent == leaves[i].Parent && splitCandidate(leaves[k].Value) {
			k++
		}
		if k-i >= 2 {
			out = e.splitRun(j, leaves, i, k, out)
		}
		i = k
	}
	return out
}

// splitCandidate: a non-empty short leaf that could hold part of a value.
func splitCandidate(s string) bool { return len(s) > 0 && len(s) <= splitMaxPart }

// joiner builds the joined text of one run and remembers where each leaf
// starts in it; its buffers are reused across runs.
type joiner struct {
	b      strings.Builder
	starts []int
	joined int // bytes joined in all (the work bound TestSplitLinear checks)
}

func (j *joiner) join(leaves []jsonwalk.Leaf, sep string) string {
	j.b.Reset()
	j.starts = j.starts[:0]
	for n, l := range leaves {
		if n > 0 {
			j.b.WriteString(sep)
		}
		j.starts = append(j.starts, j.b.Len())
		j.b.WriteString(l.Value)
	}
	j.joined += j.b.Len()
	return j.b.String()
}

// parts maps the joined span [ms,me) back to the leaves it covers: the
// first leaf index (relative to the run) and the local spans. ok is false
// when the span lies inside one leaf (the per-leaf scan already saw it).
func (j *joiner) parts(leaves []jsonwalk.Leaf, ms, me int, f func(n, start, end int)) bool {
	// the leaf holding ms: the last start at or before it (binary search,
	// so a run with many matches stays linear-logarithmic)
	first, _ := slices.BinarySearch(j.starts, ms+1)
	first--
	if first < 0 {
		return false
	}
	if ms >= j.starts[first]+len(leaves[first].Value) {
		first++ // ms is in the separator after that leaf
	}
	last := first
	for last+1 < len(j.starts) && j.starts[last+1] < me {
		last++
	}
	if first >= len(j.starts) || first == last {
		return false
	}
	for n := first; n <= last; n++ {
		st := j.starts[n]
		f(n, max(ms, st)-st, min(me, st+len(leaves[n].Value))-st)
	}
	return true
}

// splitRun scans the run leaves[i:k] and records its cross-leaf matches.
func (e *Engine) splitRun(j *joiner, all []jsonwalk.Leaf, i, k int, out splitMap) splitMap {
	run := all[i:k]
	hit := func(n int) *splitHits {
		if out == nil {
			out = splitMap{}
		}
		l := &all[i+n]
		h := out[l.RawStart]
		if h == nil {
			h = &splitHits{leaf: i + n}
			out[l.RawStart] = h
		}
		return h
	}
	shape := runShapeOf(run)
	if !e.opts.DisablePII && shape.digits >= minSplitDigits {
		// Joined with the run's own separator, values split on their
		// groups keep their shape; an IBAN cut inside a group needs the
		// parts joined with none (the only other join, made only when a
		// leaf starts like an IBAN).
		seps := []string{shape.sep}
		if shape.ibanStart {
			seps = append(seps, "")
		}
		for _, sep := range seps {
			for _, p := range pii.Find(j.join(run, sep)) {
				if !splitTypes[p.Type] {
					continue
				}
				first := true
				j.parts(run, p.Start, p.End, func(n, start, end int) {
					h := hit(n)
					if overlapsEntity(h.pii, start, end) {
						first = false // the other join found this value already
						return
					}
					h.pii = append(h.pii, pii.Entity{Type: p.Type, Start: start, End: end, Score: p.Score})
					if first && p.Score >= e.opts.MinPIIConfidence {
						h.values = append(h.values, p.Type)
						first = false
					}
				})
			}
		}
	}
	if !e.opts.DisableSecrets && shape.bytes >= minSplitSecret {
		joined := j.join(run, "")
		for _, m := range secrets.Find(joined) {
			j.parts(run, m.Start, m.End, func(n, start, end int) {
				h := hit(n)
				h.secrets = append(h.secrets, secrets.Match{Rule: m.Rule, Start: start, End: end, Confidence: m.Confidence})
			})
		}
	}
	return out
}

// Gates that keep the join off runs that cannot hold a split value: the
// shortest structured value has 9 digits (an SSN; cards 12, IBANs more),
// the shortest secret the rules match is longer than 16 bytes.
const (
	minSplitDigits = 9
	minSplitSecret = 16
)

// runShape is what one pass over a run's leaves tells about it.
type runShape struct {
	// sep is the digit-group separator the leaves use ("372-18" + "4421"
	// joins as "372-18-4421"), a space when they use none.
	sep       string
	digits    int  // ASCII digits in all
	bytes     int  // bytes in all
	ibanStart bool // some leaf has two letters and two digits at a word start
}

func runShapeOf(run []jsonwalk.Leaf) runShape {
	sh := runShape{sep: " "}
	found := false
	for _, l := range run {
		v := l.Value
		sh.bytes += len(v)
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case c >= '0' && c <= '9':
				sh.digits++
			case !found && (c == ' ' || c == '-' || c == '.' || c == '/'):
				sh.sep, found = v[i:i+1], true
			case !sh.ibanStart && i+3 < len(v) && letter(c) && letter(v[i+1]) && digit(v[i+2]) && digit(v[i+3]) &&
				(i == 0 || !letter(v[i-1]) && !digit(v[i-1])):
				sh.ibanStart = true
			}
		}
	}
	return sh
}

func letter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func digit(c byte) bool  { return c >= '0' && c <= '9' }

func overlapsEntity(es []pii.Entity, start, end int) bool {
	return slices.ContainsFunc(es, func(x pii.Entity) bool { return start < x.End && x.Start < end })
}

// splitChecks adds the cross-leaf matches of a scanned document to the
// report: one finding per covered leaf (Path and span name that leaf's
// part), and the matches kept for RedactReport so every part is redacted.
// Short leaves are joined whatever the scan limits skipped (a truncated
// report is refused by the gateway and not reused for redaction).
func (e *Engine) splitChecks(st *scanState, leaves []jsonwalk.Leaf) {
	hits := e.splitFind(leaves)
	if len(hits) == 0 {
		return
	}
	idx := make([]int, 0, len(hits))
	for _, h := range hits {
		idx = append(idx, h.leaf)
	}
	slices.Sort(idx) // document order
	for _, i := range idx {
		l := &leaves[i]
		h := hits[l.RawStart]
		for _, p := range h.pii {
			if p.Score < e.opts.MinPIIConfidence || (e.piiTypes != nil && !e.piiTypes[p.Type]) {
				continue
			}
			st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetPII, Category: p.Type, EntityType: p.Type,
				Confidence: p.Score, Path: l.Path, Start: p.Start, End: p.End, Value: l.Value[p.Start:p.End]})
		}
		for _, t := range h.values {
			if e.piiTypes == nil || e.piiTypes[t] {
				st.bulk.Add(t)
			}
		}
		for _, m := range h.secrets {
			st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetSecret, Category: m.Rule, Confidence: m.Confidence,
				Path: l.Path, Start: m.Start, End: m.End, Value: l.Value[m.Start:m.End]})
		}
		if st.rep.scan != nil {
			st.rep.scan.addSplit(l, h)
		}
	}
}

// addSplit merges a leaf's cross-leaf matches into the kept items, which
// stay in document order for the leaves.
func (r *scanRecord) addSplit(l *jsonwalk.Leaf, h *splitHits) {
	n, found := slices.BinarySearchFunc(r.items, l.RawStart, func(it scannedItem, start int) int { return it.rawStart - start })
	if found && r.items[n].rawEnd == l.RawEnd {
		it := &r.items[n]
		it.pii = append(slices.Clip(it.pii), h.pii...)
		it.secrets = append(slices.Clip(it.secrets), h.secrets...)
		return
	}
	r.items = slices.Insert(r.items, n, scannedItem{path: l.Path, value: l.Value, rawStart: l.RawStart, rawEnd: l.RawEnd, pii: h.pii, secrets: h.secrets})
}
