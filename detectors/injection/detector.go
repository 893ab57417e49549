package injection

import (
	_ "embed"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

//go:embed model.bin
var embeddedModel []byte

// Threshold is the decision threshold of a model file without calibrated
// plane thresholds (format version 1).
const Threshold = 0.5

// Plane names the direction a text travels; each has its own calibrated
// threshold (see Detector.Threshold).
type Plane int

const (
	// PlaneResult is tool output and other server-to-client content
	// (the default: it is where indirect injections land).
	PlaneResult Plane = iota
	// PlaneRequest is user-style text: prompts and tool arguments.
	PlaneRequest
)

func (p Plane) String() string {
	if p == PlaneRequest {
		return "request"
	}
	return "result"
}

// Verdict is the injection result for one text. Score is a calibrated
// probability-like value in 0..1; Flagged is Score >= the detector threshold;
// Reasons name the layers and signals that contributed.
type Verdict struct {
	Score   float64  `json:"score"`
	Flagged bool     `json:"flagged"`
	Reasons []string `json:"reasons,omitempty"`
}

// Detector scores text for prompt injection. It is immutable after
// construction and safe for concurrent use.
type Detector struct {
	m         *model
	ps        *patternSet
	sem       *semIndex
	mk        *acMatcher
	threshold float64      // result plane
	reqThresh float64      // request plane
	steps     *stepCounter // nil except in the linear-work test
}

// Threshold returns the calibrated decision threshold of plane p.
func (d *Detector) Threshold(p Plane) float64 {
	if p == PlaneRequest {
		return d.reqThresh
	}
	return d.threshold
}

// ScoreViewPlane scores v for plane p: the result plane is ScoreView; the
// request plane takes its model evidence from the request-plane feature
// space and calibration, and its own threshold.
func (d *Detector) ScoreViewPlane(v *normalize.View, p Plane) Verdict {
	if p != PlaneRequest {
		return d.ScoreView(v)
	}
	x, hits, fromDecoded := d.textLayersFor(v.Folded, v.Despaced, v.Decoded, true)
	x[metaLogit] = d.reqLogit(v.Folded, v.Decoded)
	mk := d.hiddenLayers(v, &x)
	pr := d.m.probWith(&d.m.calibReq, x)
	vd := Verdict{Score: pr, Flagged: pr >= d.reqThresh}
	vd.Reasons = reasons(x, hits, fromDecoded, mk, v, pr)
	return vd
}

// reqLogit is the request-plane model logit over the folded text and its
// decoded payloads.
func (d *Detector) reqLogit(folded string, decoded []string) float64 {
	l := -12.0
	if strings.TrimSpace(folded) != "" {
		l = d.m.logitReq(folded)
	}
	for _, dv := range decoded {
		l = max(l, d.m.logitReq(dv))
	}
	return l
}

var (
	defaultOnce sync.Once
	defaultDet  *Detector
)

// Default returns the detector with the committed, embedded weights. It never
// downloads anything. It panics only if the embedded model is corrupt, a build
// defect caught by the package tests.
func Default() *Detector {
	defaultOnce.Do(func() {
		d, err := New(embeddedModel)
		if err != nil {
			panic(fmt.Sprintf("injection: embedded model: %v", err))
		}
		defaultDet = d
	})
	return defaultDet
}

// New builds a detector from a serialised model (the model.bin format
// written by Train).
func New(modelBytes []byte) (*Detector, error) {
	m, err := unmarshalModel(modelBytes)
	if err != nil {
		return nil, err
	}
	return newDetector(m), nil
}

func newDetector(m *model) *Detector {
	return &Detector{m: m, ps: newPatternSet(), sem: newSemIndex(), mk: newAC(markupKeys),
		threshold: float64(m.thrResult), reqThresh: float64(m.thrRequest)}
}

// Score normalises text and scores it.
func (d *Detector) Score(text string) Verdict {
	return d.ScoreView(normalize.Normalize(text))
}

// meta is the per-text layer output fed to the calibration.
type meta [nMeta]float64

const (
	metaLogit = iota
	metaPattern
	metaSemantic
	metaHidden
	metaExfil
	metaObfuscation
)

// textLayers runs model, patterns and semantic similarity over the folded,
// despaced and decoded views.
func (d *Detector) textLayers(folded, despaced string, decoded []string) (x meta, hits patternHits, fromDecoded bool) {
	return d.textLayersFor(folded, despaced, decoded, false)
}

// textLayersFor is textLayers; req says the caller replaces x[metaLogit]
// with the request-plane logit. The space-A/B logit pass (the costliest
// layer) is then skipped whenever nothing else reads it: its value is
// compared only with decoded payloads' logits (fromDecoded), and where its
// best segment starts is read only by the long-text locality rule, which
// with no folded-view pattern hits gives the same score wherever the
// segment is (localScore is 0). The result is identical either way.
func (d *Detector) textLayersFor(folded, despaced string, decoded []string, req bool) (x meta, hits patternHits, fromDecoded bool) {
	x[metaLogit] = -12 // no text, no evidence (e.g. everything was hidden in tag characters)
	at := -1
	x[metaSemantic] = d.sem.similarity(folded)
	d.ps.match(folded, false, &hits)
	if despaced != "" {
		d.ps.match(despaced, true, &hits)
	}
	if strings.TrimSpace(folded) != "" {
		if !req || len(decoded) > 0 || (len(folded) > 2*windowSize && len(hits.first) > 0) {
			x[metaLogit], at = d.m.logit(folded)
		} else {
			at = 0 // any start: see above
		}
	}
	for _, dv := range decoded {
		if l := d.m.decodedLogit(dv); l > x[metaLogit] {
			x[metaLogit] = l
			fromDecoded = true
		}
		if s := d.sem.similarity(dv); s > x[metaSemantic] {
			x[metaSemantic] = s
		}
		before := hits.score
		d.ps.match(dv, false, &hits)
		if hits.score > before {
			fromDecoded = true
		}
	}
	x[metaPattern] = hits.score
	if !fromDecoded && at >= 0 && len(folded) > 2*windowSize {
		// In a long text, model and rule evidence add up fully only where
		// they are together (around the best model segment): a harmless
		// document with an imperative sentence in one place and a trigger
		// phrase three paragraphs later is not one instruction. Rule
		// evidence elsewhere still counts, one unit weaker.
		local := d.ps.localScore(&hits, at-windowSize, at+2*windowSize)
		x[metaPattern] = max(local, hits.score-1)
	}
	return x, hits, fromDecoded
}

// prob applies the result-plane calibration to x.
func (m *model) prob(x meta) float64 { return m.probWith(&m.calib, x) }

func (m *model) probWith(c *[nMeta + 1]float32, x meta) float64 {
	z := float64(c[0])
	for i, v := range clampMeta(x) {
		z += float64(c[i+1]) * v
	}
	return 1 / (1 + math.Exp(-z))
}

func clampMeta(x meta) meta {
	x[metaLogit] = max(-6, min(6, x[metaLogit]))
	x[metaPattern] = min(4, x[metaPattern])
	return x
}

// ScoreView scores a precomputed view (shared with other detectors).
func (d *Detector) ScoreView(v *normalize.View) Verdict {
	x, hits, fromDecoded := d.textLayers(v.Folded, v.Despaced, v.Decoded)
	mk := d.hiddenLayers(v, &x)
	p := d.m.prob(x)
	verdict := Verdict{Score: p, Flagged: p >= d.threshold}
	verdict.Reasons = reasons(x, hits, fromDecoded, mk, v, p)
	return verdict
}

// hiddenLayers fills the markup and obfuscation inputs of x.
func (d *Detector) hiddenLayers(v *normalize.View, x *meta) markupFindings {
	mk := d.markup(v.Original)
	for _, h := range mk.hidden {
		// hidden text is embedded in a document: score it like a decoded
		// payload (whole-text and line spaces)
		hx, _, _ := d.textLayers("", "", []string{normalize.Fold(h)})
		if p := d.m.prob(hx); p > x[metaHidden] {
			x[metaHidden] = p
		}
	}
	if mk.exfilURL {
		x[metaExfil] = 1
	}
	if v.HasSignal(normalize.SigTags) {
		x[metaObfuscation] = 1
	} else if v.HasSignal(normalize.SigBidi) {
		x[metaObfuscation] = 0.5
	}
	return mk
}

func reasons(x meta, hits patternHits, fromDecoded bool, mk markupFindings, v *normalize.View, p float64) []string {
	var rs []string
	if x[metaLogit] > 0 {
		rs = append(rs, "model:"+strconv.FormatFloat(1/(1+math.Exp(-x[metaLogit])), 'f', 2, 64))
	}
	keys := make([]string, 0, len(hits.reasons))
	for k := range hits.reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rs = append(rs, "pattern:"+k)
	}
	if x[metaSemantic] >= 0.45 {
		rs = append(rs, "semantic:"+strconv.FormatFloat(x[metaSemantic], 'f', 2, 64))
	}
	if mk.comment && x[metaHidden] >= 0.5 {
		rs = append(rs, "markup:hidden_html_comment")
	}
	if mk.hiddenElem && x[metaHidden] >= 0.5 {
		rs = append(rs, "markup:hidden_element")
	}
	if mk.exfilURL {
		if mk.exfilIsImage {
			rs = append(rs, "markup:markdown_image_exfil_url")
		} else {
			rs = append(rs, "markup:markdown_link_exfil_url")
		}
	}
	if fromDecoded {
		rs = append(rs, "decoded_payload")
	}
	if p >= 0.2 || len(rs) > 0 {
		for _, s := range v.Signals {
			rs = append(rs, "signal:"+s)
		}
	}
	return slices.Compact(rs)
}
