package injection

// acMatcher is a byte-level Aho-Corasick automaton compiled to a dense DFA
// over a reduced alphabet. Matching is case-insensitive for ASCII letters.
type acMatcher struct {
	classes [256]uint8
	ncls    int
	next    []uint16  // row offset of the next state, at state*ncls + class
	out     [][]int32 // by state
	outFrom int       // row offset of the first state with output
	pats    []string
	maxLen  int // longest pattern
}

// newAC builds an automaton for pats (non-empty, any bytes).
func newAC(pats []string) *acMatcher {
	m := &acMatcher{pats: pats}
	for _, p := range pats {
		m.maxLen = max(m.maxLen, len(p))
	}
	// alphabet: class 0 = bytes not used in any pattern
	n := 1
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			c := lower(p[i])
			if m.classes[c] == 0 {
				m.classes[c] = uint8(n)
				n++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.classes[c] = m.classes[c+'a'-'A']
	}
	m.ncls = n
	// trie
	trie := []map[uint8]int32{{}}
	m.out = [][]int32{nil}
	for pi, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.classes[lower(p[i])]
			nx, ok := trie[s][c]
			if !ok {
				nx = int32(len(trie))
				trie = append(trie, map[uint8]int32{})
				m.out = append(m.out, nil)
				trie[s][c] = nx
			}
			s = nx
		}
		m.out[s] = append(m.out[s], int32(pi))
	}
	ns := len(trie)
	if ns > 1<<15 {
		panic("injection: too many Aho-Corasick states") // static pattern lists only
	}
	m.next = make([]uint16, ns*n)
	fail := make([]int32, ns)
	queue := make([]int32, 0, ns)
	for c := 0; c < n; c++ {
		if nx, ok := trie[0][uint8(c)]; ok {
			m.next[c] = uint16(nx)
			queue = append(queue, nx)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(m.out[s], m.out[fail[s]]...)
		for c := 0; c < n; c++ {
			if nx, ok := trie[s][uint8(c)]; ok {
				fail[nx] = int32(m.next[int(fail[s])*n+c])
				m.next[int(s)*n+c] = uint16(nx)
				queue = append(queue, nx)
			} else {
				m.next[int(s)*n+c] = m.next[int(fail[s])*n+c]
			}
		}
	}
	// Renumber the states so that those with output come last, and store
	// each transition as the target's row offset (state*ncls): the scan
	// step is then one load (no multiply, no flag to mask) and a match is
	// one compare against outFrom.
	perm := make([]int, ns)
	k := 0
	for pass := 0; pass < 2; pass++ {
		for st := range ns {
			if (len(m.out[st]) > 0) == (pass == 1) {
				perm[st] = k
				k++
			}
		}
	}
	if ns*n > 1<<16 {
		panic("injection: Aho-Corasick table too large") // static pattern lists only
	}
	next := make([]uint16, ns*n)
	out := make([][]int32, ns)
	m.outFrom = ns * n
	for st := range ns {
		out[perm[st]] = m.out[st]
		if len(m.out[st]) > 0 {
			m.outFrom = min(m.outFrom, perm[st]*n)
		}
		for c := range n {
			next[perm[st]*n+c] = uint16(perm[m.next[st*n+c]] * n)
		}
	}
	m.next, m.out = next, out
	return m
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// dualMin is the length from which scan runs two chains.
const dualMin = 256

// scan calls fn(pattern index, end offset) for every match in s, in order of
// end offset. It stops early when fn returns false.
//
// Each step of the automaton waits for the previous one (its state is the
// next load's address), so one walk is bound by load latency. A long text
// is walked as two halves at once: chain A over [0, mid) reports the
// matches that end by mid, chain B starts maxLen-1 bytes before mid (every
// match that ends after mid starts inside its walk) and reports the rest.
// B pauses at its first match, so that A's matches are all reported
// first, and the order is that of one walk. TestACTwoChains and
// FuzzACScan hold it to scanSeq.
func (m *acMatcher) scan(s string, fn func(pat int, end int) bool) {
	if len(s) < dualMin {
		m.run(s, 0, 0, 0, fn)
		return
	}
	mid := len(s) / 2
	j := max(0, mid-m.maxLen+1)
	next, classes, outFrom := m.next, &m.classes, m.outFrom
	sa, sb := 0, 0
	i := 0
	paused := false
	for ; i < mid; i, j = i+1, j+1 { // B has at least as many bytes left as A
		sa = int(next[sa+int(classes[s[i]])])
		sb = int(next[sb+int(classes[s[j]])])
		if sa >= outFrom && !m.emit(sa, i+1, fn) {
			return
		}
		if sb >= outFrom && j+1 > mid {
			paused = true
			break
		}
	}
	if paused { // finish A, then report B's pending match
		if _, ok := m.run(s[:mid], i+1, sa, 0, fn); !ok {
			return
		}
		if !m.emit(sb, j+1, fn) {
			return
		}
		m.run(s, j+1, sb, 0, fn)
		return
	}
	m.run(s, j, sb, mid+1, fn)
}

// run walks s from byte from in state st, reporting matches that end at
// minEnd or later; it returns the final state and false if fn stopped it.
func (m *acMatcher) run(s string, from, st, minEnd int, fn func(pat int, end int) bool) (int, bool) {
	next, classes, outFrom := m.next, &m.classes, m.outFrom
	for i := from; i < len(s); i++ {
		st = int(next[st+int(classes[s[i]])])
		if st >= outFrom && i+1 >= minEnd && !m.emit(st, i+1, fn) {
			return st, false
		}
	}
	return st, true
}

// emit reports the matches of state st ending at end.
func (m *acMatcher) emit(st, end int, fn func(pat int, end int) bool) bool {
	for _, p := range m.out[st/m.ncls] {
		if !fn(int(p), end) {
			return false
		}
	}
	return true
}

// scanSeq is scan in one walk: the definition scan is tested against.
func (m *acMatcher) scanSeq(s string, fn func(pat int, end int) bool) {
	m.run(s, 0, 0, 0, fn)
}
