package injection

// acMatcher is a byte-level Aho-Corasick automaton compiled to a dense DFA
// over a reduced alphabet. Matching is case-insensitive for ASCII letters.
type acMatcher struct {
	classes [256]uint8
	ncls    int
	next    []uint16 // state*ncls + class
	out     [][]int32
	pats    []string
}

// newAC builds an automaton for pats (non-empty, any bytes).
func newAC(pats []string) *acMatcher {
	m := &acMatcher{pats: pats}
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
	// flag transitions into states with output in the top bit so the scan
	// loop needs no extra load for the common no-match step
	for i, nx := range m.next {
		if len(m.out[nx]) > 0 {
			m.next[i] = nx | outFlag
		}
	}
	return m
}

const outFlag = 1 << 15

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scan calls fn(pattern index, end offset) for every match in s, in order of
// end offset. It stops early when fn returns false.
func (m *acMatcher) scan(s string, fn func(pat int, end int) bool) {
	st := 0
	n := m.ncls
	next, classes := m.next, &m.classes
	for i := 0; i < len(s); i++ {
		x := next[st*n+int(classes[s[i]])]
		st = int(x &^ outFlag)
		if x&outFlag != 0 {
			for _, p := range m.out[st] {
				if !fn(int(p), i+1) {
					return
				}
			}
		}
	}
}
