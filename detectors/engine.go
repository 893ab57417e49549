package detectors

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/portcullis-mcp/portcullis/detectors/exfil"
	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
	"github.com/portcullis-mcp/portcullis/detectors/pii"
	"github.com/portcullis-mcp/portcullis/detectors/poison"
	"github.com/portcullis-mcp/portcullis/detectors/redact"
	"github.com/portcullis-mcp/portcullis/detectors/secrets"
)

// InjectionScorer scores one normalised text for prompt injection. The
// default is the detectors/injection package; tests may plug in fakes.
type InjectionScorer interface {
	ScoreView(v *normalize.View) InjectionSummary
}

// Options select detectors and bound the work. The zero value enables every
// detector with default limits.
type Options struct {
	DisableInjection, DisablePII, DisableSecrets, DisableExfil, DisableInvisible bool

	// PIITypes restricts PII findings to these entity types (nil = all).
	PIITypes []string
	// MinPIIConfidence drops weaker PII matches; default 0.5.
	MinPIIConfidence float64

	// Injection overrides the prompt-injection scorer (nil = built-in default).
	Injection InjectionScorer
	// Plane selects the calibrated injection threshold: injection.PlaneResult
	// (the zero value: tool output, server-to-client content) or
	// injection.PlaneRequest (prompts and tool arguments).
	Plane injection.Plane
	// MinInjectionBytes: leaves shorter than this are not scored for
	// injection on their own (enum-like values such as "text" carry no
	// instruction; in ScanJSON they are still part of the flattened text).
	// Default 20; negative = score every leaf.
	MinInjectionBytes int

	MaxDocumentBytes int // ScanJSON input cap; default 8 MiB (larger is an error)
	MaxDepth         int // JSON nesting cap; default 64
	MaxLeaves        int // string leaves per document; default 20000
	MaxLeafBytes     int // bytes of one leaf scanned; default 256 KiB (the rest is skipped, Report.Truncated)
	MaxScanBytes     int // total bytes scanned per document; default 4 MiB
}

// Engine runs the detectors. It is immutable after NewEngine and safe for
// concurrent use.
type Engine struct {
	opts     Options
	inj      InjectionScorer
	piiTypes map[string]bool
	// leafView computes a leaf's view for viewChecks: normalize.Inspect
	// (tests swap in the full normalize.Normalize to check equivalence).
	leafView func(string) *normalize.View
}

// NewEngine validates opts and builds an engine.
func NewEngine(opts Options) (*Engine, error) {
	if opts.MinPIIConfidence == 0 {
		opts.MinPIIConfidence = 0.5
	}
	if opts.MinPIIConfidence < 0 || opts.MinPIIConfidence > 1 {
		return nil, fmt.Errorf("detectors: MinPIIConfidence %v outside 0..1", opts.MinPIIConfidence)
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	if opts.MinInjectionBytes == 0 {
		opts.MinInjectionBytes = 20
	}
	def(&opts.MaxDocumentBytes, 8<<20)
	def(&opts.MaxDepth, 64)
	def(&opts.MaxLeaves, 20000)
	def(&opts.MaxLeafBytes, 256<<10)
	def(&opts.MaxScanBytes, 4<<20)
	e := &Engine{opts: opts, inj: opts.Injection, leafView: normalize.Inspect}
	if e.inj == nil && !opts.DisableInjection {
		e.inj = defaultInjection()
	}
	if len(opts.PIITypes) > 0 {
		e.piiTypes = map[string]bool{}
		for _, t := range opts.PIITypes {
			if !slices.Contains(pii.Types, t) {
				return nil, fmt.Errorf("detectors: unknown PII type %q (known: %s)", t, strings.Join(pii.Types, ", "))
			}
			e.piiTypes[t] = true
		}
	}
	return e, nil
}

type scanState struct {
	rep     Report
	scanned int
	bulk    exfil.Counter
	// item is the JSON token being scanned (nil for plain text): its raw
	// PII and secret matches are kept for RedactReport.
	item *jsonwalk.Leaf
}

// ScanText scans one plain text (Path "" in findings).
func (e *Engine) ScanText(s string) *Report {
	st := &scanState{}
	e.scanLeaf(st, "", s, true)
	e.finish(st)
	return &st.rep
}

// KeySuffix ends the Path of a finding in an object key rather than in
// its value ("user.jo@example.org#key").
const KeySuffix = "#key"

// PlaneScorer is an InjectionScorer with per-plane thresholds (the
// built-in scorer is one); the engine uses Options.Plane with it.
type PlaneScorer interface {
	ScoreViewPlane(v *normalize.View, p injection.Plane) InjectionSummary
}

// ScanJSON scans every string leaf of a JSON document for PII, secrets,
// exfiltration and invisible characters, and scores the document for
// prompt injection once, on its flattened prose (injection.FlattenLeaves:
// the prose-like leaves in document order, one per line, JSON held in a
// string leaf expanded in place), so an instruction split across fields or
// content blocks is one text. Invalid, too large or too deep documents are
// an error (the caller decides whether to fail closed).
func (e *Engine) ScanJSON(raw []byte) (*Report, error) {
	res, err := jsonwalk.Walk(raw, jsonwalk.Limits{MaxBytes: e.opts.MaxDocumentBytes, MaxDepth: e.opts.MaxDepth, MaxLeaves: e.opts.MaxLeaves})
	if err != nil {
		return nil, fmt.Errorf("detectors: scan json: %w", err)
	}
	st := &scanState{}
	st.rep.scan = &scanRecord{by: e, raw: raw}
	type leaf struct{ path, s string }
	kept := make([]leaf, 0, len(res.Leaves))
	for i := range res.Leaves {
		l := &res.Leaves[i]
		s, ok := e.clampLeaf(st, l.Value)
		if !ok {
			continue
		}
		st.item = l
		e.rawChecks(st, l.Path, s)
		kept = append(kept, leaf{l.Path, s})
	}
	// Values split across adjacent short sibling leaves (split.go).
	e.splitChecks(st, res.Leaves)
	// Data hidden in object keys ({"4111 1111 1111 1111": 1}).
	for i := range res.Keys {
		k := &res.Keys[i]
		if s, ok := e.clampLeaf(st, k.Value); ok {
			st.item = k
			e.rawChecks(st, k.Path+KeySuffix, s)
		}
	}
	st.item = nil
	// One normalisation of the flattened prose serves injection and, in
	// the common case, the invisible-character and encoded-secret checks:
	// only when it shows invisible characters or decodable payloads are
	// the leaves normalised one by one to say where they are.
	needView := !e.opts.DisableInvisible || !e.opts.DisableSecrets
	var b strings.Builder
	var parts []injection.Part
	if e.inj != nil || needView {
		b.Grow(flatSize(res.Leaves, e.opts.MaxScanBytes))
		parts = injection.FlattenLeaves(&b, res.Leaves, "", e.opts.MaxScanBytes, 0, nil)
	}
	var fv *normalize.View
	if b.Len() > 0 {
		if e.inj != nil {
			fv = normalize.Normalize(b.String())
			e.scoreFlattened(st, b.String(), fv, parts)
		} else {
			fv = normalize.Inspect(b.String()) // nothing reads the folded forms
		}
	}
	if needView {
		// Leaves are inspected alone (invisible characters and decodings,
		// not re-folded: viewChecks reads neither folded form) only to
		// say where what the flattened view showed is.
		perLeaf := fv != nil && (fv.Invisible > 0 || len(fv.Decoded) > 0)
		for _, l := range kept {
			if perLeaf || (!injection.Prose(l.s) && !ascii(l.s)) {
				e.viewChecks(st, l.path, l.s, e.leafView(l.s))
			}
		}
	}
	e.finish(st)
	return &st.rep, nil
}

// flatSize is an upper bound of the flattened prose's size (prose leaves
// and their line breaks, capped at max), so the builder is sized once.
func flatSize(leaves []jsonwalk.Leaf, max int) int {
	n := 0
	for _, l := range leaves {
		if injection.Prose(l.Value) {
			n += len(l.Value) + 1
		}
	}
	if max > 0 && n > max {
		n = max
	}
	return n
}

// scoreFlattened scores the flattened prose of a document. Only when it is
// flagged are the parts scored alone, to name the field that carries the
// instruction (the common, clean case costs one pass); when no part is
// flagged alone the instruction is split across fields.
func (e *Engine) scoreFlattened(st *scanState, flat string, fv *normalize.View, parts []injection.Part) {
	v := e.score(fv)
	if !v.Flagged || len(parts) == 0 {
		e.mergeInjection(st, v, "", 0, 0, "")
		return
	}
	if len(parts) == 1 {
		e.mergeInjection(st, v, parts[0].Path, 0, parts[0].End-parts[0].Start, "")
		return
	}
	best, bestScore := -1, 0.0
	for i, p := range parts {
		if p.End-p.Start < e.opts.MinInjectionBytes {
			continue
		}
		pv := e.score(normalize.Normalize(flat[p.Start:p.End]))
		if pv.Flagged && pv.Score > bestScore {
			best, bestScore = i, pv.Score
		}
	}
	if best >= 0 {
		p := parts[best]
		e.mergeInjection(st, v, p.Path, 0, p.End-p.Start, "")
		return
	}
	e.mergeInjection(st, v, commonParent(parts), 0, 0, "split_across_fields")
}

// score runs the injection scorer with the engine's plane threshold when
// the scorer supports planes.
func (e *Engine) score(v *normalize.View) InjectionSummary {
	if ps, ok := e.inj.(PlaneScorer); ok {
		return ps.ScoreViewPlane(v, e.opts.Plane)
	}
	return e.inj.ScoreView(v)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// commonParent returns the longest common container path of the parts.
func commonParent(parts []injection.Part) string {
	pre := parts[0].Path
	for _, p := range parts[1:] {
		for !strings.HasPrefix(p.Path, pre) || (len(p.Path) > len(pre) && pre != "" && p.Path[len(pre)] != '.' && p.Path[len(pre)] != '>') {
			i := strings.LastIndexAny(pre, ".>")
			if i < 0 {
				pre = ""
				break
			}
			pre = pre[:i]
		}
	}
	return pre
}

func (e *Engine) mergeInjection(st *scanState, v InjectionSummary, path string, start, end int, extra string) {
	if v.Score > st.rep.Injection.Score {
		st.rep.Injection.Score = v.Score
	}
	if !v.Flagged {
		return
	}
	st.rep.Injection.Flagged = true
	for _, r := range v.Reasons {
		if !slices.Contains(st.rep.Injection.Reasons, r) {
			st.rep.Injection.Reasons = append(st.rep.Injection.Reasons, r)
		}
	}
	if extra != "" && !slices.Contains(st.rep.Injection.Reasons, extra) {
		st.rep.Injection.Reasons = append(st.rep.Injection.Reasons, extra)
	}
	st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetInjection, Category: "prompt_injection", Confidence: v.Score, Path: path, Start: start, End: end})
}

// clampLeaf applies the per-leaf and per-document byte bounds; ok is false
// when the leaf is not scanned at all.
func (e *Engine) clampLeaf(st *scanState, s string) (string, bool) {
	if len(s) > e.opts.MaxLeafBytes {
		s = s[:e.opts.MaxLeafBytes]
		for len(s) > 0 && !utf8.RuneStart(s[len(s)-1]) {
			s = s[:len(s)-1]
		}
		st.rep.Truncated = true
	}
	if st.scanned+len(s) > e.opts.MaxScanBytes {
		st.rep.Truncated = true
		return "", false
	}
	st.scanned += len(s)
	return s, len(s) > 0
}

// scanLeaf runs every detector on one plain text; it reports whether
// injection flagged it.
func (e *Engine) scanLeaf(st *scanState, path, s string, withInjection bool) bool {
	s, ok := e.clampLeaf(st, s)
	if !ok {
		return false
	}
	// One normalised view is shared by injection, invisible-char and
	// encoded-secret checks.
	view := normalize.Normalize(s)
	flagged := false
	withInjection = withInjection && len(s) >= e.opts.MinInjectionBytes
	if e.inj != nil && withInjection {
		iv := view
		if injection.LooksLikeJSON(s) {
			// a JSON document given as text: score its flattened prose
			if flat := injection.PrepareText(s); flat != s {
				iv = normalize.Normalize(flat)
			}
		}
		v := e.score(iv)
		e.mergeInjection(st, v, path, 0, len(s), "")
		flagged = v.Flagged
	}
	e.viewChecks(st, path, s, view)
	e.rawChecks(st, path, s)
	return flagged
}

// viewChecks reports invisible characters and secrets hidden behind an
// encoding, from the normalised view of s.
func (e *Engine) viewChecks(st *scanState, path, s string, view *normalize.View) {
	if !e.opts.DisableInvisible && view.Invisible > 0 {
		st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetInvisible, Category: strings.Join(invisibleSignals(view), ","),
			Confidence: min(1, 0.5+0.05*float64(view.Invisible)), Path: path, Start: 0, End: len(s)})
	}
	if !e.opts.DisableSecrets {
		// Secrets hidden behind an encoding: report on the whole leaf.
		for _, d := range view.Decoded {
			if len(d)*10 > len(s)*9 {
				// whole-text transforms (rot13, near-identity unescaping):
				// the raw scan saw these bytes.
				continue
			}
			for _, m := range secrets.FindDecoded(d) {
				st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetSecret, Category: m.Rule + "_encoded", Confidence: m.Confidence * 0.9,
					Path: path, Start: 0, End: len(s), Value: d[m.Start:m.End]})
			}
		}
	}
}

// rawChecks runs the detectors that read the raw text: PII, secrets,
// exfiltration.
func (e *Engine) rawChecks(st *scanState, path, s string) {
	var ents []pii.Entity
	var secs []secrets.Match
	if !e.opts.DisablePII {
		ents = pii.Find(s)
	}
	if !e.opts.DisableSecrets {
		secs = secrets.Find(s)
	}
	if len(ents)+len(secs) > 0 && st.rep.Findings == nil {
		st.rep.Findings = make([]Finding, 0, 16) // one allocation for a usual report
	}
	if st.item != nil && (len(ents) > 0 || len(secs) > 0) {
		if st.rep.scan.items == nil {
			st.rep.scan.items = make([]scannedItem, 0, 8)
		}
		st.rep.scan.items = append(st.rep.scan.items, scannedItem{path: path, value: s, rawStart: st.item.RawStart, rawEnd: st.item.RawEnd, pii: ents, secrets: secs})
	}
	if !e.opts.DisablePII {
		for _, p := range ents {
			if p.Score < e.opts.MinPIIConfidence || (e.piiTypes != nil && !e.piiTypes[p.Type]) {
				continue
			}
			st.bulk.Add(p.Type)
			st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetPII, Category: p.Type, EntityType: p.Type,
				Confidence: p.Score, Path: path, Start: p.Start, End: p.End, Value: s[p.Start:p.End]})
		}
	}
	if !e.opts.DisableSecrets {
		for _, m := range secs {
			st.bulk.Add("SECRET")
			st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetSecret, Category: m.Rule, Confidence: m.Confidence,
				Path: path, Start: m.Start, End: m.End, Value: s[m.Start:m.End]})
		}
	}
	if !e.opts.DisableExfil {
		for _, h := range exfil.Scan(s) {
			st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetExfil, Category: h.Category, Confidence: h.Confidence,
				Path: path, Start: h.Start, End: h.End, Value: s[h.Start:h.End]})
		}
	}
}

func invisibleSignals(v *normalize.View) []string {
	var out []string
	for _, s := range v.Signals {
		switch s {
		case normalize.SigInvisible, normalize.SigBidi, normalize.SigTags, normalize.SigVariation:
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = append(out, normalize.SigInvisible)
	}
	return out
}

func (e *Engine) finish(st *scanState) {
	if !e.opts.DisableExfil {
		for _, h := range st.bulk.Hits() {
			st.rep.Findings = append(st.rep.Findings, Finding{Detector: DetExfil, Category: h.Category, Confidence: h.Confidence})
		}
	}
	if st.rep.Findings == nil {
		st.rep.Findings = []Finding{}
	}
}

// ScanTools checks a tools/list result ({"tools":[...]} or the whole
// JSON-RPC response) for tool poisoning. Every finding's Path names the
// tool field, e.g. "tools.2.description".
func (e *Engine) ScanTools(toolsListResult []byte) (*Report, error) {
	issues, err := poison.Scan(toolsListResult)
	if err != nil {
		return nil, fmt.Errorf("detectors: scan tools: %w", err)
	}
	rep := &Report{Findings: []Finding{}}
	for _, is := range issues {
		rep.Findings = append(rep.Findings, Finding{Detector: DetPoison, Category: is.Category, Confidence: is.Confidence,
			Path: is.Path, Start: is.Start, End: is.End, Value: is.Evidence})
	}
	return rep, nil
}

// RedactJSON rewrites PII (and secrets, unless disabled) in every string leaf
// with surrogates from v, keeping the document valid JSON. It returns the
// new document and the findings that were redacted (spans refer to the
// original leaves). A document with nothing to redact is returned unchanged.
func (e *Engine) RedactJSON(raw []byte, mode redact.Mode, v *redact.Vault) ([]byte, []Finding, error) {
	if v == nil {
		return nil, nil, fmt.Errorf("detectors: redact json: nil vault")
	}
	if _, err := redact.ParseMode(string(mode)); err != nil {
		return nil, nil, fmt.Errorf("detectors: redact json: %w", err)
	}
	res, err := jsonwalk.Walk(raw, jsonwalk.Limits{MaxBytes: e.opts.MaxDocumentBytes, MaxDepth: e.opts.MaxDepth, MaxLeaves: e.opts.MaxLeaves})
	if err != nil {
		return nil, nil, fmt.Errorf("detectors: redact json: %w", err)
	}
	var out []byte
	var found []Finding
	last := 0
	items := res.Leaves
	if len(res.Keys) > 0 {
		// keys and values are rewritten in document order
		items = make([]jsonwalk.Leaf, 0, len(res.Leaves)+len(res.Keys))
		for _, k := range res.Keys {
			k.Path += KeySuffix
			items = append(items, k)
		}
		items = append(items, res.Leaves...)
		slices.SortFunc(items, func(a, b jsonwalk.Leaf) int { return a.RawStart - b.RawStart })
	}
	split := e.splitFind(res.Leaves)
	for _, l := range items {
		spans, fs := e.redactionSpans(l.Path, l.Value, split.of(l))
		if len(spans) == 0 {
			continue
		}
		red, err := redact.Redact(l.Value, spans, mode, v)
		if err != nil {
			return nil, nil, fmt.Errorf("detectors: redact json at %s: %w", l.Path, err)
		}
		if out == nil {
			out = make([]byte, 0, len(raw)+64)
		}
		out = append(out, raw[last:l.RawStart]...)
		out = jsonwalk.AppendQuote(out, red)
		last = l.RawEnd
		found = append(found, fs...)
	}
	if out == nil {
		return raw, nil, nil
	}
	return append(out, raw[last:]...), found, nil
}

// RedactReport is RedactJSON for a document ScanJSON has already scanned:
// the PII and secret matches the scan kept for each leaf and key are
// filtered by e's options and redacted, without detecting again. rep must be
// the report of ScanJSON on exactly raw; when it is not, when that scan was
// truncated, or when the scanning engine did not run a detector e redacts
// with or had other walk limits, it falls back to RedactJSON. The result is
// the same as RedactJSON's (TestRedactReportMatchesRedactJSON).
func (e *Engine) RedactReport(raw []byte, rep *Report, mode redact.Mode, v *redact.Vault) ([]byte, []Finding, error) {
	if !e.canReuse(raw, rep) {
		return e.RedactJSON(raw, mode, v)
	}
	if v == nil {
		return nil, nil, fmt.Errorf("detectors: redact json: nil vault")
	}
	if _, err := redact.ParseMode(string(mode)); err != nil {
		return nil, nil, fmt.Errorf("detectors: redact json: %w", err)
	}
	items := rep.scan.items
	if !slices.IsSortedFunc(items, func(a, b scannedItem) int { return a.rawStart - b.rawStart }) {
		// keys were scanned after the values; rewrite in document order
		items = slices.Clone(items)
		slices.SortFunc(items, func(a, b scannedItem) int { return a.rawStart - b.rawStart })
	}
	var out []byte
	var found []Finding
	last := 0
	for _, it := range items {
		spans, fs := e.spansFrom(it.path, it.value, it.secrets, it.pii)
		if len(spans) == 0 {
			continue
		}
		red, err := redact.Redact(it.value, spans, mode, v)
		if err != nil {
			return nil, nil, fmt.Errorf("detectors: redact json at %s: %w", it.path, err)
		}
		if out == nil {
			out = make([]byte, 0, len(raw)+64)
		}
		out = append(out, raw[last:it.rawStart]...)
		out = jsonwalk.AppendQuote(out, red)
		last = it.rawEnd
		found = append(found, fs...)
	}
	if out == nil {
		return raw, nil, nil
	}
	return append(out, raw[last:]...), found, nil
}

// canReuse reports whether rep's kept matches give exactly what e's own
// detection of raw would.
func (e *Engine) canReuse(raw []byte, rep *Report) bool {
	if rep == nil || rep.scan == nil || rep.Truncated || !bytes.Equal(rep.scan.raw, raw) {
		return false
	}
	so, eo := rep.scan.by.opts, e.opts
	return (eo.DisablePII || !so.DisablePII) && (eo.DisableSecrets || !so.DisableSecrets) &&
		eo.MaxLeafBytes >= so.MaxLeafBytes && eo.MaxDocumentBytes == so.MaxDocumentBytes &&
		eo.MaxDepth == so.MaxDepth && eo.MaxLeaves == so.MaxLeaves
}

// RedactText is RedactJSON for one plain text.
func (e *Engine) RedactText(s string, mode redact.Mode, v *redact.Vault) (string, []Finding, error) {
	spans, fs := e.redactionSpans("", s, nil)
	out, err := redact.Redact(s, spans, mode, v)
	if err != nil {
		return "", nil, fmt.Errorf("detectors: redact text: %w", err)
	}
	return out, fs, nil
}

func (e *Engine) redactionSpans(path, s string, split *splitHits) ([]redact.Span, []Finding) {
	if len(s) > e.opts.MaxLeafBytes {
		s = s[:e.opts.MaxLeafBytes]
	}
	var secs []secrets.Match
	var ents []pii.Entity
	if !e.opts.DisableSecrets {
		secs = secrets.Find(s)
	}
	if !e.opts.DisablePII {
		ents = pii.Find(s)
	}
	if split != nil {
		secs = append(secs, split.secrets...)
		ents = append(ents, split.pii...)
	}
	return e.spansFrom(path, s, secs, ents)
}

// spansFrom picks the redaction spans of one leaf from its raw secret and
// PII matches: secrets first, then PII that overlaps none, each filtered by
// the engine's options.
func (e *Engine) spansFrom(path, s string, secs []secrets.Match, ents []pii.Entity) ([]redact.Span, []Finding) {
	var spans []redact.Span
	var fs []Finding
	taken := func(a, b int) bool {
		for _, sp := range spans {
			if a < sp.End && sp.Start < b {
				return true
			}
		}
		return false
	}
	if !e.opts.DisableSecrets {
		for _, m := range secs {
			if taken(m.Start, m.End) {
				continue
			}
			spans = append(spans, redact.Span{Type: "SECRET", Start: m.Start, End: m.End})
			fs = append(fs, Finding{Detector: DetSecret, Category: m.Rule, Confidence: m.Confidence, Path: path, Start: m.Start, End: m.End, Value: s[m.Start:m.End]})
		}
	}
	if !e.opts.DisablePII {
		for _, p := range ents {
			if p.Score < e.opts.MinPIIConfidence || (e.piiTypes != nil && !e.piiTypes[p.Type]) || taken(p.Start, p.End) {
				continue
			}
			spans = append(spans, redact.Span{Type: p.Type, Start: p.Start, End: p.End})
			fs = append(fs, Finding{Detector: DetPII, Category: p.Type, EntityType: p.Type, Confidence: p.Score, Path: path, Start: p.Start, End: p.End, Value: s[p.Start:p.End]})
		}
	}
	return spans, fs
}
