package injection

import "math"

// spaceMap turns a feature hash into its weight index in one space without
// a branch: index = ((h * mul) >> shift) & dimMask. Space A is (1, 0),
// space B (1, 32-dimBits) and space C (0x9e3779b1, 32-dimBits), the same
// indices as idxA, idxB and idxC.
type spaceMap struct {
	mul   uint32
	shift uint32
}

var spaceMaps = [...]spaceMap{
	spaceA: {1, 0},
	spaceB: {1, 32 - dimBits},
	spaceC: {0x9e3779b1, 32 - dimBits},
}

// windowSum returns the sum of the weights of every feature of the folded
// text s in space sp, and the number of features: what eachFeature with
// a closure adding m.q[idx(h)] computes, specialised by hand like
// fillPrefix (no call per feature, no prefix arrays). It serves the
// whole-text segments: the request-plane windows (space C), a short text's
// single segment (space A) and a decoded payload's line score (space B).
// TestWindowSumMatchesEachFeature keeps it identical to eachFeature.
func (m *model) windowSum(s string, sp int) (int32, int) {
	q := (*[dim]int16)(m.q) // array pointer: no bounds checks on masked indices
	mul, shift := spaceMaps[sp].mul, spaceMaps[sp].shift
	n := len(s)
	t := seenPool.Get().(*seen)
	defer seenPool.Put(t)
	t.start(n)
	var sum, cnt int32
	add := func(repeat bool, x uint32) {
		if !repeat {
			sum += int32(q[((x*mul)>>shift)&dimMask])
			cnt++
		}
	}
	prev := uint32(0) // hash of the previous word
	wend := 0         // end of the last word hashed
	for i := 0; i < n; i++ {
		if i+5 <= n {
			w := s[i : i+5]
			h := (uint32(fnvOff) ^ uint32(w[0])) * fnvPrime
			h = (h ^ uint32(w[1])) * fnvPrime
			h3 := (h ^ uint32(w[2])) * fnvPrime
			h4 := (h3 ^ uint32(w[3])) * fnvPrime
			h5 := (h4 ^ uint32(w[4])) * fnvPrime
			x3, x4, x5 := featMix(h3+uint32(2*0x9e3779b9&0xffffffff)), featMix(h4+uint32(3*0x9e3779b9&0xffffffff)), featMix(h5+uint32(4*0x9e3779b9&0xffffffff))
			add(t.charRepeat(x3, i), x3)
			add(t.charRepeat(x4, i), x4)
			add(t.charRepeat(x5, i), x5)
		} else { // the last four positions
			h := uint32(fnvOff)
			for k := 0; k < 5 && i+k < n; k++ {
				h = (h ^ uint32(s[i+k])) * fnvPrime
				if k >= 2 {
					x := featMix(h + uint32(k)*0x9e3779b9)
					add(t.charRepeat(x, i), x)
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
			add(t.wordRepeat(x, i), x)
			if prev != 0 {
				x = featMix(prev*0x01000193 + h*0x2545f491)
				add(t.wordRepeat(x, i), x)
			}
			prev, wend = h, j
		}
	}
	return sum, int(cnt)
}

// reqLane is one request-plane window being summed by reqWindowLogit: its
// own repeat table (as eachFeature starts one per window) and totals.
type reqLane struct {
	t        *seen
	sum, cnt int32
	end      int // where the window ends: n-grams are cut there
}

// reqWindowLogit is logitReq for a text longer than reqWindow: the best
// logit of the windows [k*h, min(n, k*h+reqWindow)) with h = reqWindow/2,
// the last one ending at n. Each byte lies in two windows; computed one
// window at a time (windowSum), every character n-gram is hashed and its
// weight loaded twice. Here the text is walked once in blocks of h bytes,
// and the n-grams of a block are hashed and looked up once and fed to the
// (at most two) windows holding it, each through its own repeat table, so
// each window's sum is exactly windowSum's. Word features, about one in
// eight, are summed per window (windowWordSum).
// TestReqWindowLogitMatchesWindows keeps it identical.
func (m *model) reqWindowLogit(s string) float64 {
	const h = reqWindow / 2
	q := (*[dim]int16)(m.q)
	n := len(s)
	add := func(l *reqLane, x uint32, w int16, i int) {
		if !l.t.charRepeat(x, i) {
			l.sum += int32(w)
			l.cnt++
		}
	}
	// tail adds the n-grams at i cut at l.end (the last four positions of
	// a window), as eachFeature does at the end of its text.
	tail := func(l *reqLane, i int) {
		hh := uint32(fnvOff)
		for k := 0; k < 5 && i+k < l.end; k++ {
			hh = (hh ^ uint32(s[i+k])) * fnvPrime
			if k >= 2 {
				x := featMix(hh + uint32(k)*0x9e3779b9)
				add(l, x, q[idxC(x)], i)
			}
		}
	}
	best := math.Inf(-1)
	// lanes[k&1] is window k, which covers blocks k and k+1. Positions
	// are window-relative in the repeat tables (eachFeature saw s[a:b]),
	// but only differences of positions are compared, so absolute ones
	// give the same answers.
	var lanes [2]reqLane
	for k := range lanes {
		lanes[k].t = seenPool.Get().(*seen)
		defer seenPool.Put(lanes[k].t)
	}
	nb := (n + h - 1) / h // blocks; windows are 0..nb-2
	for k := 0; k < nb; k++ {
		lo, hi := k*h, min(n, (k+1)*h)
		var act [2]*reqLane
		na := 0
		if k >= 1 { // window k-1 ends with this block
			act[na] = &lanes[(k-1)&1]
			na++
		}
		if k <= nb-2 { // window k starts with this block
			l := &lanes[k&1]
			*l = reqLane{t: l.t, end: min(n, k*h+reqWindow)}
			l.t.start(l.end) // a fresh table: positions are absolute
			act[na] = l
			na++
		}
		lim := act[0].end // the nearest window end
		if na == 2 {
			lim = min(lim, act[1].end)
		}
		i := lo
		for ; i < hi && i+5 <= lim; i++ {
			w := s[i : i+5]
			hh := (uint32(fnvOff) ^ uint32(w[0])) * fnvPrime
			hh = (hh ^ uint32(w[1])) * fnvPrime
			h3 := (hh ^ uint32(w[2])) * fnvPrime
			h4 := (h3 ^ uint32(w[3])) * fnvPrime
			h5 := (h4 ^ uint32(w[4])) * fnvPrime
			x3, x4, x5 := featMix(h3+uint32(2*0x9e3779b9&0xffffffff)), featMix(h4+uint32(3*0x9e3779b9&0xffffffff)), featMix(h5+uint32(4*0x9e3779b9&0xffffffff))
			w3, w4, w5 := q[idxC(x3)], q[idxC(x4)], q[idxC(x5)]
			for _, l := range act[:na] {
				add(l, x3, w3, i)
				add(l, x4, w4, i)
				add(l, x5, w5, i)
			}
		}
		for ; i < hi; i++ { // the last positions before a window end
			for _, l := range act[:na] {
				tail(l, i)
			}
		}
		if k >= 1 { // window k-1 is complete
			a := (k - 1) * h
			l := act[0]
			m.steps.add(l.end - a)
			ws, wc := m.windowWordSum(s[a:l.end], l.t)
			best = max(best, m.windowLogit(l.sum+ws, int(l.cnt)+wc))
		}
	}
	return best
}

// windowWordSum is the word part of windowSum(s, spaceC): the word uni- and
// bigrams of s, through t's word table (t is started afresh).
func (m *model) windowWordSum(s string, t *seen) (int32, int) {
	q := (*[dim]int16)(m.q)
	t.start(len(s))
	var sum, cnt int32
	prev := uint32(0)
	for i := 0; i < len(s); {
		if !isTokByte(s[i]) {
			i++
			continue
		}
		j := i
		h := uint32(fnvOff ^ 0x5bd1e995)
		for j < len(s) && isTokByte(s[j]) {
			h = (h ^ uint32(s[j])) * fnvPrime
			j++
		}
		if x := featMix(h ^ 0xa5a5a5a5); !t.wordRepeat(x, i) {
			sum += int32(q[idxC(x)])
			cnt++
		}
		if prev != 0 {
			if x := featMix(prev*0x01000193 + h*0x2545f491); !t.wordRepeat(x, i) {
				sum += int32(q[idxC(x)])
				cnt++
			}
		}
		prev = h
		i = j
	}
	return sum, int(cnt)
}
