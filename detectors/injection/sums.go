package injection

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
	var rc, rw recent // repeat tables of the character and the word features
	var sum, cnt int32
	// add is recent.repeat by hand (see fillPrefix) plus the weight.
	add := func(r *recent, x uint32, i int) {
		k1, k2 := x>>(32-dedupBits), (x>>(32-2*dedupBits))&(1<<dedupBits-1)
		e1, e2 := r.e[k1], r.e[k2]
		p := uint32(i + 1)
		cur := uint64(x)<<32 | uint64(p)
		if uint32(e1>>32) == x && uint32(e1) != 0 {
			r.e[k1] = cur
			if p-uint32(e1) <= repeatSpan {
				return
			}
		} else if uint32(e2>>32) == x && uint32(e2) != 0 {
			r.e[k2] = cur
			if p-uint32(e2) <= repeatSpan {
				return
			}
		} else {
			ks := k1
			if uint32(e2) < uint32(e1) {
				ks = k2
			}
			r.e[ks] = cur
		}
		sum += int32(q[((x*mul)>>shift)&dimMask])
		cnt++
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
			x3, x4, x5 := mix(h3+uint32(2*0x9e3779b9&0xffffffff)), mix(h4+uint32(3*0x9e3779b9&0xffffffff)), mix(h5+uint32(4*0x9e3779b9&0xffffffff))
			add(&rc, x3, i)
			add(&rc, x4, i)
			add(&rc, x5, i)
		} else { // the last four positions
			h := uint32(fnvOff)
			for k := 0; k < 5 && i+k < n; k++ {
				h = (h ^ uint32(s[i+k])) * fnvPrime
				if k >= 2 {
					add(&rc, mix(h+uint32(k)*0x9e3779b9), i)
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
			add(&rw, mix(h^0xa5a5a5a5), i)
			if prev != 0 {
				add(&rw, mix(prev*0x01000193+h*0x2545f491), i)
			}
			prev, wend = h, j
		}
	}
	return sum, int(cnt)
}
