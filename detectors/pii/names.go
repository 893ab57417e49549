package pii

import (
	_ "embed"
	"strings"
)

//go:embed names.txt
var namesTxt string

// firstNames / lastNames are a gazetteer (gofakeit data, MIT; see names.txt)
// without names that are common English words.
var firstNames, lastNames = func() (map[string]bool, map[string]bool) {
	f, l := map[string]bool{}, map[string]bool{}
	cur := f
	for _, line := range strings.Split(namesTxt, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "--":
			cur = l
		default:
			cur[line] = true
		}
	}
	return f, l
}()

// firstNameBits screens firstNames lookups: a bit per hash of a name's
// length and first, second and last bytes (8 KiB; about two thousand
// names set a few percent of the bits), so most capitalised words that are
// not names skip the map's string hashing.
var firstNameBits = func() (t [1 << 16 / 64]uint64) {
	for w := range firstNames {
		h := nameHash(w)
		t[h>>6] |= 1 << (h & 63)
	}
	return t
}()

func nameHash(w string) uint32 {
	k := uint32(len(w))<<24 | uint32(w[0])<<16 | uint32(w[1])<<8 | uint32(w[len(w)-1])
	return k * 0x9e3779b1 >> 16
}

// maybeFirstName is false when w is certainly not in firstNames (w has at
// least two bytes, as capWord guarantees).
func maybeFirstName(w string) bool {
	h := nameHash(w)
	return firstNameBits[h>>6]&(1<<(h&63)) != 0
}

var personCue = map[string]bool{"and": true, "hi": true, "hello": true, "dear": true, "said": true, "to": true, "with": true,
	"by": true, "thanks": true, "thank": true, "meet": true, "asked": true, "told": true, "ask": true, "call": true, "cc": true}

// capWord returns the end of a capitalised word starting at i (ASCII capital
// then letters, including UTF-8 letters), or -1.
func capWord(s string, i int) int {
	if i >= len(s) || !('A' <= s[i] && s[i] <= 'Z') {
		return -1
	}
	j := i + 1
	for j < len(s) && (('a' <= s[j] && s[j] <= 'z') || s[j] >= 0x80 || s[j] == '\'' || s[j] == '-') {
		j++
	}
	if j-i < 2 || (j < len(s) && (isDigit(s[j]) || ('A' <= s[j] && s[j] <= 'Z'))) {
		return -1
	}
	return j
}

// names finds "First Last", "First M. Last" and first names in lists or
// after a cue word ("Hi Freddy", "said Maslin"), using the gazetteer.
func (sc *scanner) names() {
	s := sc.s
	for i := 0; i < len(s); i++ {
		// capWord's first test, made first: most bytes are not capitals
		if i = nextUpper(s, i); i == len(s) {
			return
		}
		if i > 0 && (isWord(s[i-1]) || s[i-1] == '@' || s[i-1] == '.' || s[i-1] == '/') {
			continue
		}
		e := capWord(s, i)
		if e < 0 {
			continue
		}
		w := s[i:e]
		if !maybeFirstName(w) || !firstNames[w] {
			i = e
			continue
		}
		// First M. Last
		if e+4 < len(s) && s[e] == ' ' && 'A' <= s[e+1] && s[e+1] <= 'Z' && s[e+2] == '.' && s[e+3] == ' ' {
			if e2 := capWord(s, e+4); e2 > 0 {
				sc.add(Person, i, e2, 0.75)
				i = e2
				continue
			}
		}
		// First Last
		if e+1 < len(s) && s[e] == ' ' {
			if e2 := capWord(s, e+1); e2 > 0 {
				last := s[e+1 : e2]
				houseNo := e2+1 < len(s) && s[e2] == ' ' && isDigit(s[e2+1]) // "Joaquin Suarez 2906": a street
				if !streetWord(last) && !firstNamesCommonNoun(last) && !houseNo {
					score := 0.6
					if lastNames[last] || firstNames[last] {
						score = 0.7
					}
					sc.add(Person, i, e2, score)
					i = e2
					continue
				}
			}
		}
		// Standalone first name with a list or cue context.
		prev := prevWord(s, i)
		listCtx := (i >= 2 && s[i-2] == ',' && s[i-1] == ' ') && (e >= len(s) || s[e] == ',' || s[e] == '.' || strings.HasPrefix(s[e:], " and "))
		if listCtx || personCue[strings.ToLower(prev)] || strings.HasPrefix(s[e:], " is ") || strings.HasPrefix(s[e:], "'s ") {
			sc.add(Person, i, e, 0.55)
		}
		i = e
	}
}

func prevWord(s string, i int) string {
	j := i
	for j > 0 && (s[j-1] == ' ' || s[j-1] == ',') {
		j--
	}
	k := j
	for k > 0 && isAlpha(s[k-1]) {
		k--
	}
	return s[k:j]
}

func streetWord(w string) bool {
	l := strings.ToLower(w)
	switch l {
	case "flat", "flats", "creek", "cliffs", "cliff", "lodge", "bypass", "fort", "close", "gardens", "heights", "hill", "hills",
		"crossing", "ridge", "view", "mews", "green", "walk", "island", "islands", "port", "point", "junction", "falls", "valley", "station":
		return true
	}
	for _, sfx := range streetSuffix {
		if l == sfx {
			return true
		}
	}
	return false
}

// firstNamesCommonNoun rejects second words that make "First X" a thing,
// not a person ("Jordan River" is handled by the stoplist; these are
// frequent capitalised nouns after a name-like word in tool output).
func firstNamesCommonNoun(w string) bool {
	switch w {
	case "The", "And", "For", "With", "From", "This", "That", "Inc", "Ltd", "LLC", "Corp", "Company", "University", "Hospital",
		"School", "Street", "Road", "Avenue", "Park", "County", "City", "Center", "Centre", "Group", "Foundation", "Bank", "Airport":
		return true
	}
	return false
}
