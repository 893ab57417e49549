package injection

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

// Row is one line of the dev data (../shared/data/injection/dev.jsonl).
type Row struct {
	Text   string `json:"text"`
	Label  int    `json:"label"`
	Source string `json:"source"`
	Kind   string `json:"kind"`
	// Group is the split key: the inserted attack for BIPIA injected rows
	// (the same attack appears in many contexts), otherwise the text.
	Group string `json:"-"`
	// Attack is the inserted attack string for BIPIA injected rows.
	Attack string `json:"-"`
}

// Split names.
const (
	SplitTrain = "train"
	SplitCalib = "calib"
	SplitEval  = "eval"
)

// SplitOf assigns a row to a split by a hash of its group key: 20% eval,
// 10% calibration, 70% training.
func SplitOf(group string) string {
	h := fnv.New32a()
	_, _ = io.WriteString(h, group)
	switch b := h.Sum32() % 10; {
	case b < 2:
		return SplitEval
	case b < 3:
		return SplitCalib
	}
	return SplitTrain
}

// LoadDev reads dev.jsonl and fills Group/Attack.
func LoadDev(path string) ([]Row, error) {
	f, err := openMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("open injection data: %w", err)
	}
	defer f.Close()
	return ReadRows(f)
}

// ReadRows parses dev-format JSON lines.
func ReadRows(rd io.Reader) ([]Row, error) {
	var rows []Row
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for ln := 1; sc.Scan(); ln++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("injection data line %d: %w", ln, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read injection data: %w", err)
	}
	annotateAttacks(rows)
	return rows, nil
}

// annotateAttacks finds, for BIPIA injected rows, the clean context they were
// built from and extracts the inserted attack (common prefix/suffix diff).
func annotateAttacks(rows []Row) {
	clean := map[string][]string{}
	for _, r := range rows {
		if strings.HasSuffix(r.Source, "_clean") {
			k := strings.TrimSuffix(r.Source, "_clean")
			clean[k] = append(clean[k], r.Text)
		}
	}
	for i := range rows {
		r := &rows[i]
		r.Group = r.Text
		if !strings.HasSuffix(r.Source, "_injected") {
			continue
		}
		for _, c := range clean[strings.TrimSuffix(r.Source, "_injected")] {
			p := commonPrefix(r.Text, c)
			s := commonSuffix(r.Text[p:], c[p:])
			if p+s >= len(c)-2 && len(r.Text)-p-s > 0 {
				r.Attack = strings.TrimSpace(r.Text[p : len(r.Text)-s])
				r.Group = r.Attack
				break
			}
		}
	}
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func commonSuffix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}

// sample is one training example: folded text of at most windowSize bytes.
type sample struct {
	text  string
	label int
	line  bool    // a line inside a multi-line text (feature space B)
	req   bool    // a request-plane sample (feature space C)
	w     float64 // extra sample weight (0 = 1)
}

// segments turns a row into training samples shaped like the segments
// logit scores: whole-text windows (space A) and lines inside multi-line
// texts (space B).
func segments(r Row, limit int) []sample {
	f := normalize.Fold(r.Text)
	if r.Attack != "" {
		// Only the inserted attack is a positive, as a line in a document:
		// labelling its context positive would teach that tables are attacks.
		return []sample{{text: clip(normalize.Fold(r.Attack)), label: 1, line: true}}
	}
	if strings.HasSuffix(r.Source, "_injected") {
		// the inserted attack could not be recovered: which part of the
		// document is the attack is unknown, so no segment can be labelled
		return nil
	}
	var out []sample
	if len(f) <= windowSize {
		out = append(out, sample{text: f, label: r.Label})
	} else {
		for a := 0; a < len(f) && len(out) < limit; a += windowSize {
			out = append(out, sample{text: clip(f[a:min(len(f), a+windowSize)]), label: r.Label})
		}
	}
	switch {
	case r.Label == 1 && len(f) <= windowSize:
		// an injection string pasted into a document is still one
		out = append(out, sample{text: f, label: 1, line: true})
	case r.Label == 0 && r.Kind != "direct" && strings.IndexByte(f, '\n') < 0 && len(f) <= windowSize:
		out = append(out, sample{text: f, label: 0, line: true})
	case r.Label == 0:
		ls := lines(f)
		step := max(1, len(ls)/(4*limit))
		for i := 0; i < len(ls); i += step {
			out = append(out, sample{text: ls[i], label: 0, line: true})
			if i%(2*step) == 0 {
				out = append(out, sample{text: ls[i], label: 0}) // lines are scored in space A too
			}
		}
	}
	if r.Label == 0 {
		// sentences (and adjacent pairs) of harmless text are segments too
		var ss []string
		for _, l := range strings.Split(f, "\n") {
			ss = append(ss, sentences(l)...)
			if len(ss) > 64*limit {
				break
			}
		}
		step := max(1, len(ss)/(2*limit))
		for i := 0; i < len(ss); i += step {
			out = append(out, sample{text: ss[i], label: 0, line: true})
			if i%(2*step) == 0 {
				out = append(out, sample{text: ss[i], label: 0})
			}
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > windowSize {
		return s[:windowSize]
	}
	return s
}

// TrainOptions controls Train.
type TrainOptions struct {
	Epochs      int     // passes over the data (default 5)
	Seed        uint64  // shuffling and generator seed (default 1)
	BenignN     int     // generated benign tool outputs (default 3000)
	MaxSegments int     // windows per long document (default 4)
	L2          float64 // L2 penalty (default 3e-3)
	// DirectNegWeight weighs benign direct prompts (default 4).
	DirectNegWeight float64
	// Harmless is the harmless tool-output corpus; only its training
	// groups are used (SplitOfChunk), its calibration groups calibrate.
	Harmless []Chunk
	// AttacksN is the number of generated attacks embedded in harmless
	// training chunks (default 10000; training templates only).
	AttacksN int
	// DropSources are dev sources (by prefix) left out entirely:
	// devcheck's leave-one-source-out runs among the training sources.
	DropSources []string
	Log         io.Writer
}

func (o *TrainOptions) defaults() {
	if o.Epochs == 0 {
		o.Epochs = 5
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BenignN == 0 {
		o.BenignN = 3000
	}
	if o.MaxSegments == 0 {
		o.MaxSegments = 4
	}
	if o.DirectNegWeight == 0 {
		o.DirectNegWeight = 4
	}
	if o.L2 == 0 {
		o.L2 = 3e-3
	}
	if o.AttacksN == 0 {
		o.AttacksN = 10000
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// calibRow is a calibration example: prepared text, label, and whether it
// belongs to the request plane (a user-style prompt) for threshold choice.
type calibRow struct {
	text   string
	label  int
	direct bool
}

// Train fits the model on the training split (SplitOfRow, SplitOfChunk,
// training attack templates) plus generated benign text, fits the layer
// calibration and the two plane thresholds on the calibration split, and
// returns the serialised model. Rows of EvalSources never enter. It is
// deterministic: the same inputs and options give byte-identical output.
func Train(rows []Row, opt TrainOptions) ([]byte, error) {
	opt.defaults()
	var train []sample
	var calib []calibRow
	if len(opt.DropSources) > 0 {
		rows = slices.DeleteFunc(slices.Clone(rows), func(r Row) bool {
			return slices.ContainsFunc(opt.DropSources, func(d string) bool { return strings.HasPrefix(r.Source, d) })
		})
	}
	for _, r := range rows {
		switch SplitOfRow(r) {
		case SplitTrain:
			r.Text = PrepareText(r.Text)
			seg := segments(r, opt.MaxSegments)
			if r.Kind == "direct" && r.Label == 0 {
				// benign user-style prompts are scarce next to the many
				// tool-output negatives; weight them so that ordinary
				// questions and requests are not pushed towards "attack"
				for k := range seg {
					seg[k].w = opt.DirectNegWeight
				}
			}
			train = append(train, seg...)
			train = append(train, reqSamples(r, opt.DirectNegWeight)...)
		case SplitCalib:
			calib = append(calib, calibRow{text: PrepareText(r.Text), label: r.Label, direct: r.Kind == "direct"})
		}
	}
	// Harmless tool output: training groups are negatives; attacks from the
	// training templates are embedded in a share of them.
	var trainDocs, calibDocs []string
	for _, c := range opt.Harmless {
		switch SplitOfChunk(c) {
		case SplitTrain:
			t := PrepareText(c.Text)
			trainDocs = append(trainDocs, c.Text)
			train = append(train, segments(Row{Text: t, Kind: "tool_result"}, opt.MaxSegments)...)
			// What the decoders make of harmless text (leetspeak of
			// version numbers, rot13 of prose) is scored too: teach it.
			for k, dv := range normalize.Normalize(t).Decoded {
				if k == 2 {
					break
				}
				train = append(train, segments(Row{Text: dv, Kind: "tool_result"}, 2)...)
			}
		case SplitCalib:
			calibDocs = append(calibDocs, c.Text)
			calib = append(calib, calibRow{text: PrepareText(c.Text)})
		}
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0xe3b))
	if len(trainDocs) > 0 {
		for i, a := range GenerateAttacks(opt.Seed, opt.AttacksN, false) {
			train = append(train, attackSamples(r, trainDocs[r.IntN(len(trainDocs))], a.Text, Placements[i%len(Placements)])...)
		}
	}
	// Real injections of the training sources, embedded in real documents
	// as well (they are otherwise only seen alone).
	if len(trainDocs) > 0 {
		for i, row := range rows {
			if row.Label != 1 || len(row.Text) > 1500 || SplitOfRow(row) != SplitTrain {
				continue
			}
			a := row.Text
			if row.Attack != "" {
				a = row.Attack
			}
			train = append(train, attackSamples(r, trainDocs[r.IntN(len(trainDocs))], a, Placements[i%len(Placements)])...)
		}
	}
	if len(calibDocs) > 0 {
		for i, a := range GenerateAttacks(opt.Seed+1, len(calibDocs)/3, false) {
			doc := Embed(calibDocs[r.IntN(len(calibDocs))], a.Text, Placements[i%len(Placements)], r)
			calib = append(calib, calibRow{text: PrepareText(doc), label: 1})
		}
	}
	// Attacks on their own (request plane, or a whole tool result).
	for _, a := range GenerateAttacks(opt.Seed+2, opt.AttacksN/4, false) {
		f := clip(normalize.Fold(a.Text))
		train = append(train, sample{text: f, label: 1}, sample{text: f, label: 1, line: true})
	}
	// Request plane: standalone attacks, and a little harmless document
	// text (tool arguments can carry file contents or queries).
	for _, a := range GenerateAttacks(opt.Seed+3, opt.AttacksN/2, false) {
		train = append(train, sample{text: reqClip(normalize.Fold(a.Text)), label: 1, req: true})
	}
	for i, d := range trainDocs {
		if i%3 != 0 {
			continue
		}
		f := normalize.Fold(PrepareText(d))
		if ls := lines(f); len(ls) > 0 {
			train = append(train, sample{text: ls[r.IntN(len(ls))], label: 0, req: true})
		}
		if i%9 == 0 {
			a := r.IntN(max(1, len(f)-reqWindow))
			train = append(train, sample{text: reqClip(f[a:]), label: 0, req: true})
		}
	}
	for _, a := range GenerateAttacks(opt.Seed+4, 300, false) {
		calib = append(calib, calibRow{text: a.Text, label: 1, direct: true})
	}
	// Short benign fragments (a few words of generated text) teach the
	// whole-text space that short, ordinary text is benign.
	for _, f := range Fragments(GenerateBenign(opt.Seed+1, opt.BenignN/4), opt.Seed) {
		ff := normalize.Fold(f)
		train = append(train, sample{text: ff, label: 0}, sample{text: ff, label: 0, line: true}, sample{text: ff, label: 0, req: true})
	}
	// Benign prompts with trigger words in ordinary use (over-defence).
	// Calibration uses its own templates, so the request threshold is set
	// on phrasings the model has not seen (as the eval's will be).
	for _, tb := range GenerateTriggerBenignPart(opt.Seed, 120, TriggerCalib) {
		calib = append(calib, calibRow{text: tb, direct: true})
	}
	for _, tb := range GenerateTriggerBenignPart(opt.Seed, opt.BenignN/6, TriggerTrain) {
		train = append(train, sample{text: normalize.Fold(tb), label: 0, w: opt.DirectNegWeight},
			sample{text: normalize.Fold(tb), label: 0, w: opt.DirectNegWeight, req: true})
	}
	// Harmless writing about attacks (advisories, write-ups, detection
	// docs), and ordinary user prompts in several languages for the
	// request plane.
	for i, g := range GenerateSecurityWriting(opt.Seed, opt.BenignN/2) {
		if i%10 == 0 {
			calib = append(calib, calibRow{text: PrepareText(g)})
			continue
		}
		train = append(train, segments(Row{Text: PrepareText(g), Source: "generated", Kind: "tool_result"}, opt.MaxSegments)...)
	}
	for _, p := range GenerateUserPrompts(opt.Seed, opt.BenignN/2) {
		f := normalize.Fold(p)
		train = append(train, sample{text: f, label: 0, w: opt.DirectNegWeight, req: true}, sample{text: f, label: 0})
	}
	gen := GenerateBenign(opt.Seed, opt.BenignN)
	for i, g := range gen {
		if i%10 == 0 {
			calib = append(calib, calibRow{text: PrepareText(g)})
			continue
		}
		train = append(train, segments(Row{Text: PrepareText(g), Source: "generated", Kind: "tool_result"}, opt.MaxSegments)...)
	}
	if len(train) == 0 {
		return nil, fmt.Errorf("train injection: no training samples")
	}
	pos := 0
	for _, s := range train {
		pos += s.label
	}
	fmt.Fprintf(opt.Log, "training samples: %d (%d positive), calibration rows: %d\n", len(train), pos, len(calib))

	m := &model{w: make([]float32, dim)}
	fitLR(m, train, pos, opt)
	// calibrate the quantised model exactly as it will be loaded
	qm, err := unmarshalModel(m.marshal())
	if err != nil {
		return nil, fmt.Errorf("train injection: %w", err)
	}
	d := newDetector(qm)
	fitCalibration(d, calib, PlaneResult)
	fitCalibration(d, calib, PlaneRequest)
	m.calib, m.calibReq = qm.calib, qm.calibReq
	m.thrRequest, m.thrResult = fitThresholds(d, calib)
	fmt.Fprintf(opt.Log, "calibration: result %v request %v thresholds: request %.3f result %.3f\n", qm.calib, qm.calibReq, m.thrRequest, m.thrResult)
	return m.marshal(), nil
}

// attackSamples turns an attack embedded in a harmless document into
// training samples shaped like what logit scores: the attack as a line
// (space B) and a window of context around it (space A). The attack's
// placement decides the surrounding text (a JSON field, an HTML comment,
// a table cell, split fields flattened into consecutive lines).
func attackSamples(r *rand.Rand, doc, attack, place string) []sample {
	emb := PrepareText(Embed(doc, attack, place, r))
	f := normalize.Fold(emb)
	fa := normalize.Fold(attack)
	out := []sample{}
	if place != PlaceSplitFields {
		out = append(out, sample{text: clip(fa), label: 1, line: true}, sample{text: clip(fa), label: 1})
	}
	if place != PlaceSplitFields {
		// The attack's own lines carry the signal; a window of the
		// generated scaffolding around it (table rules, comment markers)
		// would teach the scaffolding instead.
		return out
	}
	i := strings.Index(f, firstWords(fa))
	if i < 0 {
		return out
	}
	span := len(fa) + 16
	if span >= windowSize {
		return append(out, sample{text: clip(f[i:]), label: 1})
	}
	a := max(0, i-r.IntN(windowSize-span))
	return append(out, sample{text: clip(f[a:]), label: 1})
}

func firstWords(s string) string {
	if len(s) > 24 {
		s = s[:24]
	}
	return s
}

// fitThresholds picks the request-plane and result-plane thresholds on the
// calibration rows: the result threshold keeps false positives on harmless
// tool output at or below resultFPRTarget, the request threshold keeps
// benign user-style prompts at or below requestFPRTarget; neither goes
// below minThreshold.
func fitThresholds(d *Detector, calib []calibRow) (req, res float32) {
	var tool, direct []float64
	for _, c := range calib {
		if c.label != 0 {
			continue
		}
		v := normalize.Normalize(c.text)
		if c.direct {
			direct = append(direct, d.ScoreViewPlane(v, PlaneRequest).Score)
		} else {
			tool = append(tool, d.ScoreView(v).Score)
		}
	}
	return float32(quantileThreshold(direct, requestFPRTarget, minRequestThreshold)), float32(quantileThreshold(tool, resultFPRTarget, minThreshold))
}

const (
	resultFPRTarget     = 0.002
	requestFPRTarget    = 0.04
	minThreshold        = 0.5
	minRequestThreshold = 0.25
	maxThreshold        = 0.97
)

func quantileThreshold(neg []float64, fpr, minThreshold float64) float64 {
	if len(neg) == 0 {
		return minThreshold
	}
	slices.Sort(neg)
	k := int(math.Floor(float64(len(neg)) * (1 - fpr)))
	k = min(max(k, 0), len(neg)-1)
	t := neg[k] + 1e-6
	return min(maxThreshold, max(minThreshold, t))
}

// fitLR trains the hashed n-gram logistic regression with AdaGrad and L2,
// class-balanced, in a fixed seeded order. Features are recomputed each
// epoch (no per-sample feature storage: the corpus is large).
func fitLR(m *model, train []sample, pos int, opt TrainOptions) {
	neg := len(train) - pos
	wPos := float64(len(train)) / (2 * float64(max(pos, 1)))
	wNeg := float64(len(train)) / (2 * float64(max(neg, 1)))
	g2 := make([]float32, dim)
	const lr = 0.2
	l2 := float32(opt.L2)
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 7))
	var f []uint32
	for ep := 0; ep < opt.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		loss := 0.0
		for _, i := range order {
			sp := spaceA
			if train[i].line {
				sp = spaceB
			} else if train[i].req {
				sp = spaceC
			}
			f = appendFeatureIndices(f[:0], train[i].text, sp)
			if len(f) == 0 {
				continue
			}
			scale := float32(1 / math.Sqrt(float64(len(f))))
			z := float64(m.bias)
			for _, k := range f {
				z += float64(m.w[k] * scale)
			}
			p := 1 / (1 + math.Exp(-z))
			y := float64(train[i].label)
			cw := wNeg
			if train[i].label == 1 {
				cw = wPos
			}
			if train[i].w > 0 {
				cw *= train[i].w
			}
			loss += -cw * (y*math.Log(p+1e-12) + (1-y)*math.Log(1-p+1e-12))
			g := float32(cw * (p - y))
			for _, k := range f {
				gk := g*scale + l2*m.w[k]
				g2[k] += gk * gk
				m.w[k] -= lr * gk / float32(math.Sqrt(float64(g2[k])+1e-8))
			}
			// The intercept stays 0: a text with no known features (a
			// greeting, another language, garbage) must score neutral, not
			// inherit the class balance; the calibration sets the offset.
		}
		fmt.Fprintf(opt.Log, "epoch %d: loss %.4f\n", ep+1, loss/float64(len(train)))
	}
}

// Fixed calibration weights for layers that the calibration split cannot
// estimate (they are rare there): hidden content, exfiltration URLs and tag
// smuggling. Chosen so each alone, at full strength, lands near 0.8–0.95.
const (
	calibHidden      = 5.0
	calibExfil       = 4.5
	calibObfuscation = 0.75
	minPatternWeight = 2.0
	maxCalibBias     = -0.4
)

// fitCalibration fits bias + weights for (model logit, pattern score,
// semantic similarity) on the calibration rows by class-balanced logistic
// regression (full-batch gradient descent, deterministic), with weights kept
// non-negative.
func fitCalibration(d *Detector, all []calibRow, plane Plane) {
	var rows []calibRow
	for _, r := range all {
		if plane == PlaneResult || r.direct {
			rows = append(rows, r)
		}
	}
	xs := make([]meta, len(rows))
	ys := make([]float64, len(rows))
	pos := 0.0
	for i, r := range rows {
		v := normalize.Normalize(r.text)
		x, _, _ := d.textLayers(v.Folded, v.Despaced, v.Decoded)
		if plane == PlaneRequest {
			x[metaLogit] = d.reqLogit(v.Folded, v.Decoded)
		}
		xs[i] = clampMeta(x)
		ys[i] = float64(r.label)
		pos += ys[i]
	}
	n := float64(len(rows))
	// Negatives weigh 2.5×: injections are far rarer in real traffic than in
	// the calibration rows, so the default threshold must favour precision.
	wPos, wNeg := 1.0, 2.5
	_ = pos
	c := [4]float64{-2, 0.5, 0.5, 1}
	for it := 0; it < 3000; it++ {
		var g [4]float64
		for i, x := range xs {
			z := c[0] + c[1]*x[metaLogit] + c[2]*x[metaPattern] + c[3]*x[metaSemantic]
			p := 1 / (1 + math.Exp(-z))
			w := wNeg
			if ys[i] == 1 {
				w = wPos
			}
			e := w * (p - ys[i])
			g[0] += e
			g[1] += e * x[metaLogit]
			g[2] += e * x[metaPattern]
			g[3] += e * x[metaSemantic]
		}
		for k := range c {
			c[k] -= 0.5 * (g[k]/n + 1e-3*c[k]*b2f(k > 0))
			if k > 0 && c[k] < 0 {
				c[k] = 0
			}
		}
		// The rules are precise by construction but rare in the calibration
		// rows, which would underweight them: one strong rule (weight 2.5)
		// must move the score by at least +2.
		c[2] = max(c[2], minPatternWeight)
		// A text with no evidence either way (model logit 0: unknown words,
		// another language, identifiers) must not be flagged on its own.
		c[0] = min(c[0], maxCalibBias)
	}
	cal := [nMeta + 1]float32{float32(c[0]), float32(c[1]), float32(c[2]), float32(c[3]), calibHidden, calibExfil, calibObfuscation}
	if plane == PlaneRequest {
		d.m.calibReq = cal
	} else {
		d.m.calib = cal
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// reqSamples are the request-plane samples of a dev row: a user-style
// prompt (or the inserted attack of a BIPIA row) as a whole, in windows of
// reqWindow bytes.
func reqSamples(r Row, negWeight float64) []sample {
	text := r.Text
	switch {
	case r.Attack != "":
		text = r.Attack
	case r.Kind != "direct" && r.Label == 0 && r.Source != "presidio_synth":
		return nil // documents: the request plane learns them from the harmless corpus
	}
	f := normalize.Fold(text)
	var out []sample
	for a := 0; a < len(f) && len(out) < 4; a += reqWindow {
		s := sample{text: reqClip(f[a:]), label: r.Label, req: true}
		if r.Label == 0 && r.Kind == "direct" {
			s.w = negWeight
		}
		out = append(out, s)
	}
	return out
}

func reqClip(s string) string {
	if len(s) > reqWindow {
		return s[:reqWindow]
	}
	return s
}
