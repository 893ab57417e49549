package injection

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
)

const (
	dimBits    = 19
	dim        = 1 << dimBits
	dimMask    = dim - 1
	windowSize = 512 // bytes of folded text per model window
	windowStep = 256
	nMeta      = 6 // calibration inputs, see metaFeatures
)

// modelMagic starts a model file. Version 4 changed the feature hashing
// (featMix) and the repeat rule (seen), so the weights of an older file
// would be read at the wrong indices: older versions are refused.
var modelMagic = []byte("PCINJ04\n")

// model is the hashed n-gram logistic regression plus the calibration that
// combines all layers.
type model struct {
	w     []float32 // dim weights (training only; nil in a loaded model)
	q     []int16   // quantised weights used for scoring
	scale float32   // q[i]*scale is the weight
	bias  float32
	calib [nMeta + 1]float32 // bias first, then one weight per meta feature
	// calibReq is the calibration of the request plane, whose model logit
	// comes from feature space C (see logitReq).
	calibReq [nMeta + 1]float32
	// thrRequest and thrResult are the calibrated decision thresholds of
	// the request plane (user-style prompts, tool arguments) and the result
	// plane (tool output).
	thrRequest, thrResult float32
	steps                 *stepCounter // nil except in the linear-work test
}

// marshal writes the model in a fixed little-endian format (int16-quantised
// weights) so training output is byte-identical across runs.
func (m *model) marshal() []byte {
	var buf bytes.Buffer
	buf.Write(modelMagic)
	maxAbs := float32(0)
	for _, x := range m.w {
		if a := float32(math.Abs(float64(x))); a > maxAbs {
			maxAbs = a
		}
	}
	scale := maxAbs / 32767
	if scale == 0 {
		scale = 1
	}
	_ = binary.Write(&buf, binary.LittleEndian, uint32(dim))
	_ = binary.Write(&buf, binary.LittleEndian, scale)
	_ = binary.Write(&buf, binary.LittleEndian, m.bias)
	_ = binary.Write(&buf, binary.LittleEndian, m.calib)
	_ = binary.Write(&buf, binary.LittleEndian, m.calibReq)
	thr := [2]float32{m.thrRequest, m.thrResult}
	for i := range thr {
		if thr[i] == 0 {
			thr[i] = Threshold // not fitted yet (during training)
		}
	}
	_ = binary.Write(&buf, binary.LittleEndian, thr)
	q := make([]int16, len(m.w))
	for i, x := range m.w {
		q[i] = int16(math.Round(float64(x / scale)))
	}
	_ = binary.Write(&buf, binary.LittleEndian, q)
	return buf.Bytes()
}

func unmarshalModel(b []byte) (*model, error) {
	if !bytes.HasPrefix(b, modelMagic) {
		if bytes.HasPrefix(b, []byte("PCINJ0")) {
			return nil, errors.New("injection model: an older version, whose features are hashed differently: retrain it (make train-injection)")
		}
		return nil, errors.New("injection model: bad magic")
	}
	r := bytes.NewReader(b[len(modelMagic):])
	var n uint32
	var scale float32
	m := &model{}
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("injection model header: %w", err)
	}
	if n != dim {
		return nil, fmt.Errorf("injection model: dimension %d, want %d", n, dim)
	}
	if err := binary.Read(r, binary.LittleEndian, &scale); err != nil {
		return nil, fmt.Errorf("injection model header: %w", err)
	}
	if err := binary.Read(r, binary.LittleEndian, &m.bias); err != nil {
		return nil, fmt.Errorf("injection model header: %w", err)
	}
	if err := binary.Read(r, binary.LittleEndian, &m.calib); err != nil {
		return nil, fmt.Errorf("injection model calibration: %w", err)
	}
	if err := binary.Read(r, binary.LittleEndian, &m.calibReq); err != nil {
		return nil, fmt.Errorf("injection model request calibration: %w", err)
	}
	var thr [2]float32
	if err := binary.Read(r, binary.LittleEndian, &thr); err != nil {
		return nil, fmt.Errorf("injection model thresholds: %w", err)
	}
	for _, t := range thr {
		if !(t > 0 && t < 1) {
			return nil, fmt.Errorf("injection model: threshold %v outside (0,1)", t)
		}
	}
	m.thrRequest, m.thrResult = thr[0], thr[1]
	q := make([]int16, n)
	if err := binary.Read(r, binary.LittleEndian, q); err != nil {
		return nil, fmt.Errorf("injection model weights: %w", err)
	}
	m.q, m.scale = q, scale
	return m, nil
}

// hashing ---------------------------------------------------------------

const (
	fnvOff   = 2166136261
	fnvPrime = 16777619
)

func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

// featMix finishes a feature hash of the n-gram model: one multiply
// between two xor-shifts, so that the low bits (space A) and the high bits
// (spaces B and C, the repeat slots) each depend on every input bit. It is
// half of mix's work; mix stays for the semantic index.
func featMix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	return h ^ h>>15
}

func isTokByte(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 || (c >= 'A' && c <= 'Z')
}

// Three feature spaces share the weight table. Space C (multiplicative
// hash bits) is the request plane's: it is trained only on user-style
// prompts and standalone instructions, so documents that are full of
// harmless imperatives (READMEs, man pages) do not teach it that an
// instruction to the agent is ordinary.
func idxC(h uint32) uint32 { return (h * 0x9e3779b1) >> (32 - dimBits) }

// Spaces A and B share the weight table: space A (low hash bits) scores
// a whole text or a window of it; space B (high hash bits) scores one line
// inside a multi-line text. They are separate linear models because the same
// words mean different things: a question is a benign user prompt on its
// own, but an injected task when it sits on its own line inside a table.
func idxA(h uint32) uint32 { return h & dimMask }
func idxB(h uint32) uint32 { return h >> (32 - dimBits) }

// repeatSpan is how close (bytes) an earlier occurrence of the same
// feature must be for a feature to count as a repeat. Repeats are skipped:
// with the 1/sqrt(count) scaling, one feature repeated n times would
// otherwise weigh sqrt(n) times its weight, so a long run of one letter or
// of "= = =" (periodic text) drifted to any score its few n-grams pushed
// it towards (60 KB of "a" in a tool argument was flagged).
const repeatSpan = 32

// charSeenBits and wordSeenBits size the repeat tables of the character
// n-grams and of the word features. A table is direct-mapped by the
// feature hash's top bits and holds where a feature was last seen in each
// slot; a feature is a repeat when its slot was written within repeatSpan
// bytes. A different feature that shares the slot counts too (about 2.7%
// of character n-grams and 1% of word features in prose): that only drops
// the feature, and training sees the same rule. One load, one store and
// one compare per feature: the two-way table of model version 3, which
// compared full hashes, took half of the detector's time.
const (
	charSeenBits = 12
	wordSeenBits = 10
)

// seen holds the repeat tables of one pass over a text. Slots hold
// base+position; start moves base past every position of the previous
// use, so a pooled table is reused without clearing and what an earlier
// text left behind is never within repeatSpan: every pass gives the same
// answers as a fresh table.
type seen struct {
	c          [1 << charSeenBits]uint32
	w          [1 << wordSeenBits]uint32
	base, next uint32
}

var seenPool = sync.Pool{New: func() any { return new(seen) }}

// start prepares t for positions 0..n-1.
func (t *seen) start(n int) {
	if uint64(t.next)+uint64(n)+2*repeatSpan >= 1<<31 {
		*t = seen{}
	}
	t.base = t.next + repeatSpan + 1 // a zero slot is then never within repeatSpan either
	t.next = t.base + uint32(n)
}

// charRepeat reports whether the character n-gram x at position i is a
// repeat, and records it. Positions passed to one table never decrease.
func (t *seen) charRepeat(x uint32, i int) bool {
	k := x >> (32 - charSeenBits)
	p := t.base + uint32(i)
	last := t.c[k]
	t.c[k] = p
	return p-last <= repeatSpan
}

// wordRepeat is charRepeat for word features.
func (t *seen) wordRepeat(x uint32, i int) bool {
	k := x >> (32 - wordSeenBits)
	p := t.base + uint32(i)
	last := t.w[k]
	t.w[k] = p
	return p-last <= repeatSpan
}

// eachFeature calls fn(pos, h) for every hashed feature of the folded text
// s: character 3-, 4- and 5-grams at every byte position, word unigrams and
// bigrams at the word's start position, except repeats (see repeatSpan).
// h is the full 32-bit hash. It is the definition the hand-specialised
// passes (fillPrefix, windowSum, reqWindowLogit) are tested against.
func eachFeature(s string, fn func(pos int, h uint32)) {
	n := len(s)
	t := seenPool.Get().(*seen)
	defer seenPool.Put(t)
	t.start(n)
	for i := 0; i < n; i++ {
		h := uint32(fnvOff)
		for k := 0; k < 5 && i+k < n; k++ {
			h = (h ^ uint32(s[i+k])) * fnvPrime
			if k >= 2 {
				if x := featMix(h + uint32(k)*0x9e3779b9); !t.charRepeat(x, i) {
					fn(i, x)
				}
			}
		}
	}
	prev := uint32(0)
	for i := 0; i < n; {
		if !isTokByte(s[i]) {
			i++
			continue
		}
		j := i
		h := uint32(fnvOff ^ 0x5bd1e995)
		for j < n && isTokByte(s[j]) {
			h = (h ^ uint32(s[j])) * fnvPrime
			j++
		}
		if x := featMix(h ^ 0xa5a5a5a5); !t.wordRepeat(x, i) {
			fn(i, x)
		}
		if prev != 0 {
			if x := featMix(prev*0x01000193 + h*0x2545f491); !t.wordRepeat(x, i) {
				fn(i, x)
			}
		}
		prev = h
		i = j
	}
}

// Feature spaces of a training sample.
const (
	spaceA = iota
	spaceB
	spaceC
)

// appendFeatureIndices appends every feature index of s in space sp to out.
func appendFeatureIndices(out []uint32, s string, sp int) []uint32 {
	switch sp {
	case spaceB:
		eachFeature(s, func(_ int, h uint32) { out = append(out, idxB(h)) })
	case spaceC:
		eachFeature(s, func(_ int, h uint32) { out = append(out, idxC(h)) })
	default:
		eachFeature(s, func(_ int, h uint32) { out = append(out, idxA(h)) })
	}
	return out
}

// reqWindow is the request-plane window: prompts are scored whole up to
// this size, longer ones in windows of it (half overlapping).
const reqWindow = 1024

// logitReq is the request-plane model logit of the folded text s (space C):
// the maximum over windows of reqWindow bytes. Cost is linear (each byte is
// in at most two windows).
func (m *model) logitReq(s string) float64 {
	if len(s) == 0 {
		return float64(m.bias)
	}
	if len(s) > reqWindow {
		return m.reqWindowLogit(s) // the windows in one pass
	}
	m.steps.add(len(s))
	return m.windowLogit(m.windowSum(s, spaceC))
}

// logitReqWindows is logitReq one window at a time, the definition
// reqWindowLogit is checked against.
func (m *model) logitReqWindows(s string) float64 {
	best := math.Inf(-1)
	for a := 0; a < len(s); a += reqWindow / 2 {
		b := min(len(s), a+reqWindow)
		m.steps.add(b - a)
		best = max(best, m.windowLogit(m.windowSum(s[a:b], spaceC)))
		if b == len(s) {
			break
		}
	}
	return best
}

// featureIndices returns every feature index of s (with repetition) in
// space A, or in space B when line is set.
func featureIndices(s string, line bool) []uint32 {
	out := make([]uint32, 0, len(s)*3+len(s)/3)
	if line {
		eachFeature(s, func(_ int, h uint32) { out = append(out, idxB(h)) })
	} else {
		eachFeature(s, func(_ int, h uint32) { out = append(out, idxA(h)) })
	}
	return out
}

type prefixBuf struct {
	sum, sumB []int32
	cnt       []int32
}

var prefixPool = sync.Pool{New: func() any { return &prefixBuf{} }}

// maxChunk bounds the text scored in one prefix-sum pass (scratch memory is
// 12 bytes per input byte).
const maxChunk = 64 << 10

// minLine is the shortest line (bytes) scored as its own segment.
const minLine = 12

// logit returns the maximum segment logit of the folded text s and where it
// starts. Segments are overlapping windows of windowSize bytes (the whole
// text when shorter) and every line of at least minLine bytes that fits a
// window: an injected instruction is usually its own line in a tool result.
// One feature pass fills prefix sums, so every segment costs O(1).
func (m *model) logit(s string) (float64, int) {
	if len(s) == 0 {
		return float64(m.bias), 0
	}
	if len(s) > maxChunk {
		// Score overlapping chunks so the scratch memory stays bounded;
		// the overlap (one window) keeps every window and line whole in
		// some chunk.
		best, bestAt := math.Inf(-1), 0
		for a := 0; a < len(s); a += maxChunk - windowSize {
			b := min(len(s), a+maxChunk)
			if l, at := m.logit(s[a:b]); l > best {
				best, bestAt = l, a+at
			}
			if b == len(s) {
				break
			}
		}
		return best, bestAt
	}
	m.steps.add(len(s))
	if len(s) <= windowSize && strings.IndexByte(s, '\n') < 0 && !hasSentences(s) {
		return m.windowLogit(m.windowSum(s, spaceA)), 0
	}
	pb := prefixPool.Get().(*prefixBuf)
	defer prefixPool.Put(pb)
	n := len(s)
	if cap(pb.sum) < n+1 {
		pb.sum = make([]int32, n+1)
		pb.sumB = make([]int32, n+1)
		pb.cnt = make([]int32, n+1)
	}
	// fillPrefix writes every entry (no clearing of the pooled buffers)
	sum, sumB, cnt := pb.sum[:n+1], pb.sumB[:n+1], pb.cnt[:n+1]
	if strings.IndexByte(s, '\n') >= 0 || hasSentences(s) {
		m.fillPrefix(s, sum, sumB, cnt)
	} else {
		// no lines or sentences: space B is not needed (segB and segS
		// are never called, so sumB is left unfilled)
		m.fillPrefix(s, sum, nil, cnt)
	}
	best, bestAt := math.Inf(-1), 0
	segs := 0
	defer func() { m.steps.add(segs) }()
	seg := func(a, b int) {
		segs++
		if l := m.windowLogit(sum[b]-sum[a], int(cnt[b]-cnt[a])); l > best {
			best, bestAt = l, a
		}
	}
	segB := func(a, b int) {
		segs++
		if l := m.windowLogit(sumB[b]-sumB[a], int(cnt[b]-cnt[a])); l > best {
			best, bestAt = l, a
		}
	}
	// A sentence is weaker evidence than a line: prose is full of
	// harmless imperative sentences ("Summarise long conversations to
	// keep important instructions."), so a sentence must score
	// sentencePenalty higher than a line to count as much.
	segS := func(a, b int) {
		segs++
		l := max(m.windowLogit(sum[b]-sum[a], int(cnt[b]-cnt[a])), m.windowLogit(sumB[b]-sumB[a], int(cnt[b]-cnt[a]))) - sentencePenalty
		if l > best {
			best, bestAt = l, a
		}
	}
	for a := 0; ; a += windowStep {
		b := a + windowSize
		if b >= n {
			seg(max(0, n-windowSize), n)
			break
		}
		seg(a, b)
	}
	for a := 0; a < n; {
		b := strings.IndexByte(s[a:], '\n')
		if b < 0 {
			b = n
		} else {
			b += a
		}
		if l := b - a; l >= minLine && l <= windowSize && l < n {
			// a line is scored as a line of a document (space B) and as
			// a text of its own (space A): an injected paragraph reads
			// like a standalone instruction
			segB(a, b)
			seg(a, b)
		}
		// Sentences of a line, alone and in adjacent pairs, scored like
		// lines: an instruction inside a paragraph of harmless prose is
		// diluted in the line and window scores but stands out on its own.
		eachSentence(s, a, b, func(x, y int) {
			segS(x, y)
		})
		a = b + 1
	}
	return best, bestAt
}

// sentencePenalty is subtracted from a sentence segment's logit.
const sentencePenalty = 0.5

// eachSentence calls fn for every sentence of s[a:b] and every pair of
// adjacent sentences that is at least minLine and at most windowSize
// bytes, when s[a:b] holds more than one sentence. A sentence ends after
// '.', '!' or '?' followed by a space or tab, or after a CJK full stop,
// exclamation or question mark. Cost is linear in b-a.
func eachSentence(s string, a, b int, fn func(x, y int)) {
	prevStart, start := -1, a
	emit := func(end int) {
		for start < end && (s[start] == ' ' || s[start] == '\t') {
			start++
		}
		if end <= start {
			return
		}
		if l := end - start; l >= minLine && l <= windowSize && !(start == a && end == b) {
			fn(start, end)
		}
		if prevStart >= 0 {
			if l := end - prevStart; l >= minLine && l <= windowSize && !(prevStart == a && end == b) {
				fn(prevStart, end)
			}
		}
		prevStart, start = start, end
	}
	for i := a; i < b; i++ {
		if !sentenceByte[s[i]] {
			continue // the common case: one table load
		}
		switch c := s[i]; {
		case (c == '.' || c == '!' || c == '?') && i+1 < b && (s[i+1] == ' ' || s[i+1] == '\t'):
			emit(i + 1)
		case c == 0xE3 && i+2 < b && s[i+1] == 0x80 && s[i+2] == 0x82: // 。
			emit(i + 3)
			i += 2
		case c == 0xEF && i+2 < b && s[i+1] == 0xBC && (s[i+2] == 0x81 || s[i+2] == 0x9F): // ！？
			emit(i + 3)
			i += 2
		}
	}
	if start > a {
		emit(b)
	}
}

// sentenceByte marks the bytes eachSentence looks at: sentence punctuation
// and the lead bytes of the CJK marks.
var sentenceByte = [256]bool{'.': true, '!': true, '?': true, 0xE3: true, 0xEF: true}

// hasSentences reports whether eachSentence finds a segment in s.
func hasSentences(s string) bool {
	found := false
	eachSentence(s, 0, len(s), func(int, int) { found = true })
	return found
}

// sentences returns the sentence segments of a line that logit scores
// (see eachSentence), for training.
func sentences(line string) []string {
	var out []string
	eachSentence(line, 0, len(line), func(x, y int) { out = append(out, line[x:y]) })
	return out
}

// fillPrefix sets sum[i], sumB[i] and cnt[i] to the sums of the space-A
// and space-B weights and the count of the features starting before byte i
// (prefix sums: index 0 is 0; the slices need not be cleared). sumB nil
// skips space B. It is eachFeature specialised by hand, because it is the
// hot loop of the detector, and fused into one pass: character n-grams at
// every position, and word uni- and bigrams at each word's start, each
// kind through its own repeat table as in eachFeature (the tables are
// independent, so interleaving them changes nothing) and integer sums
// (exact in any order). TestFillPrefixMatchesEachFeature keeps the two
// identical.
func (m *model) fillPrefix(s string, sum, sumB, cnt []int32) {
	q := (*[dim]int16)(m.q) // an array pointer: no bounds checks on the masked indices
	n := len(s)
	withB := sumB != nil
	sum, cnt = sum[:n+1], cnt[:n+1]
	if withB {
		sumB = sumB[:n+1]
		sumB[0] = 0
	}
	sum[0], cnt[0] = 0, 0
	t := seenPool.Get().(*seen)
	defer seenPool.Put(t)
	t.start(n)
	// add adds the weights of feature x unless it is a repeat.
	add := func(repeat bool, x uint32, sa, sb, c *int32) {
		if repeat {
			return
		}
		*sa += int32(q[x&dimMask])
		if withB {
			*sb += int32(q[x>>(32-dimBits)])
		}
		*c++
	}
	var ta, tb, tc int32 // running totals
	prev := uint32(0)    // hash of the previous word
	wend := 0            // end of the last word hashed
	for i := 0; i < n; i++ {
		var sa, sb, c int32
		if i+5 <= n {
			// The three n-gram hashes are computed first (independent
			// multiplies overlap), then checked in eachFeature's order
			// (3-, 4-, 5-gram), so the repeat table sees the same sequence.
			w := s[i : i+5]
			h := (uint32(fnvOff) ^ uint32(w[0])) * fnvPrime
			h = (h ^ uint32(w[1])) * fnvPrime
			h3 := (h ^ uint32(w[2])) * fnvPrime
			h4 := (h3 ^ uint32(w[3])) * fnvPrime
			h5 := (h4 ^ uint32(w[4])) * fnvPrime
			x3, x4, x5 := featMix(h3+uint32(2*0x9e3779b9&0xffffffff)), featMix(h4+uint32(3*0x9e3779b9&0xffffffff)), featMix(h5+uint32(4*0x9e3779b9&0xffffffff))
			add(t.charRepeat(x3, i), x3, &sa, &sb, &c)
			add(t.charRepeat(x4, i), x4, &sa, &sb, &c)
			add(t.charRepeat(x5, i), x5, &sa, &sb, &c)
		} else { // the last four positions
			h := uint32(fnvOff)
			for k := 0; k < 5 && i+k < n; k++ {
				h = (h ^ uint32(s[i+k])) * fnvPrime
				if k >= 2 {
					x := featMix(h + uint32(k)*0x9e3779b9)
					add(t.charRepeat(x, i), x, &sa, &sb, &c)
				}
			}
		}
		if i >= wend && isTokByte(s[i]) { // a word starts here
			j := i
			h := uint32(fnvOff ^ 0x5bd1e995)
			for j < n && isTokByte(s[j]) {
				h = (h ^ uint32(s[j])) * fnvPrime
				j++
			}
			x := featMix(h ^ 0xa5a5a5a5)
			add(t.wordRepeat(x, i), x, &sa, &sb, &c)
			if prev != 0 {
				x = featMix(prev*0x01000193 + h*0x2545f491)
				add(t.wordRepeat(x, i), x, &sa, &sb, &c)
			}
			prev, wend = h, j
		}
		ta, tb, tc = ta+sa, tb+sb, tc+c
		sum[i+1], cnt[i+1] = ta, tc
		if withB {
			sumB[i+1] = tb
		}
	}
}

// decodedLogit scores a decoded payload: it was embedded in other text, so a
// payload that fits one segment is also scored as a line (space B).
func (m *model) decodedLogit(s string) float64 {
	l, _ := m.logit(s)
	if len(s) > 0 && len(s) <= windowSize && strings.IndexByte(s, '\n') < 0 {
		m.steps.add(len(s))
		l = max(l, m.windowLogit(m.windowSum(s, spaceB)))
	}
	return l
}

// lines returns the lines of a folded text that logit scores as segments.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if len(l) >= minLine && len(l) <= windowSize && len(l) < len(s) {
			out = append(out, l)
		}
	}
	return out
}

func (m *model) windowLogit(sum int32, cnt int) float64 {
	if cnt == 0 {
		return float64(m.bias)
	}
	// Shrink towards neutral when there is little evidence: a 5-letter
	// word has ~7 features and its logit says little either way.
	c := float64(cnt)
	return float64(m.bias) + float64(sum)*float64(m.scale)/math.Sqrt(c)*c/(c+shrinkFeatures)
}

// shrinkFeatures is the feature count at which a segment's logit is halved.
const shrinkFeatures = 12
