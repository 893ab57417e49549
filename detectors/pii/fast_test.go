package pii

import (
	"strings"
	"testing"
)

// refHasContext is hasContext as first written: the two windows joined by
// one space, searched for each word.
func refHasContext(l string, start, end int, words []string) bool {
	a := max(0, start-contextBefore)
	b := min(len(l), end+contextAfter)
	win := l[a:start] + " " + l[end:b]
	for _, w := range words {
		if strings.Contains(win, w) {
			return true
		}
	}
	return false
}

func refASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

var contextCases = []struct {
	text       string
	start, end int
}{
	{"call me at 555 0134 now", 11, 19},
	{"my social 078-05-1121 security", 10, 21},
	{"social 078-05-1121 security number", 7, 18},
	{"text 5550134 me", 5, 12},
	{"ss 123456789 # x", 3, 12},
	{"messages 555-0134 to me", 9, 17},
	{"", 0, 0},
	{"x", 0, 1},
	{"CALL ME at 555 0134 NOW", 11, 19},
	{"Social 078-05-1121 SECURITY number", 7, 18},
	{strings.Repeat("a", 100) + "4111111111111111" + strings.Repeat("b", 100), 100, 116},
}

func checkContext(t *testing.T, text string, start, end int) {
	t.Helper()
	if start < 0 || end > len(text) || start > end {
		return
	}
	sc := scanner{s: text}
	l := refASCIILower(text)
	for _, words := range [][]string{ssnWords, cardWords, phoneWords, {" ", "a b c", " x", "y "}} {
		if got, want := sc.hasContext(start, end, words), refHasContext(l, start, end, words); got != want {
			t.Fatalf("hasContext(%q, %d, %d, %q) = %v, want %v", text, start, end, words, got, want)
		}
	}
}

// TestHasContextMatchesReference: the allocation-free window search finds
// exactly what the joined-window search found, including words that
// straddle the span.
func TestHasContextMatchesReference(t *testing.T) {
	for _, tc := range contextCases {
		checkContext(t, tc.text, tc.start, tc.end)
		for s := 0; s <= len(tc.text); s++ {
			checkContext(t, tc.text, s, min(len(tc.text), s+len(tc.text)/3))
		}
	}
	// the case-folding comparisons assume lower-case keywords
	for _, list := range [][]string{ssnWords, cardWords, phoneWords} {
		for _, w := range list {
			if w != refASCIILower(w) {
				t.Fatalf("context word %q is not lower case", w)
			}
		}
	}
	for _, r := range ctxRules {
		for _, w := range r.words {
			if w != refASCIILower(w) {
				t.Fatalf("keyword %q is not lower case", w)
			}
		}
	}
	if len(ctxGroups) >= 255 {
		t.Fatalf("%d context keyword groups do not fit the uint8 index", len(ctxGroups))
	}
}

func FuzzHasContext(f *testing.F) {
	for _, tc := range contextCases {
		f.Add(tc.text, tc.start, tc.end)
	}
	f.Fuzz(func(t *testing.T, text string, start, end int) { checkContext(t, text, start, end) })
}

// refContextual is the context-keyword scan as first written: every
// keyword tried at every offset.
func refContextual(s string) []Entity {
	sc := scanner{s: s}
	l := refASCIILower(s)
	for p := 0; p+1 < len(l); p++ {
		for _, r := range ctxRules {
			for _, w := range r.words {
				if !strings.HasPrefix(l[p:], w) || (p > 0 && isAlpha(l[p-1]) && isAlpha(w[0])) {
					continue
				}
				if a, b, ok := r.token(s, p+len(w)); ok {
					sc.add(r.typ, a, b, r.score)
				}
			}
		}
	}
	return sc.out
}

var contextualCases = []string{
	"", "m", "my name is Jay Pearce", "MRN: 12345678 and DOB 01/02/1990", "xmrn 12345678",
	"Passport: X1234567, dl# A1234567 born on 1990-01-02", "Dear John,\nregards, Mary Major",
	"patient id 99881234;date of birth: March 3, 1980", "1mr. Smith", "a\u00e9dob 01/02/1990",
	"Contact: Ann Lee, chart number 77665544 ms. X", strings.Repeat("name: Bo Li ", 9),
}

func checkContextual(t *testing.T, s string) {
	t.Helper()
	sc := scanner{s: s}
	sc.contextual()
	got := sc.out[:0:0]
	for _, e := range sc.out { // contextual also runs addresses: keep the keyword types
		if e.Type != StreetAddress {
			got = append(got, e)
		}
	}
	want := refContextual(s)
	if len(got) != len(want) {
		t.Fatalf("contextual(%q) = %v, want %v", s, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("contextual(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestContextualMatchesReference: the word-start scan finds exactly what
// trying every keyword at every offset finds, at every alignment.
func TestContextualMatchesReference(t *testing.T) {
	for _, s := range contextualCases {
		for k := 0; k <= 9; k++ {
			checkContextual(t, strings.Repeat("x ", k)+s)
			checkContextual(t, strings.Repeat("y", k)+s)
		}
	}
}

func FuzzContextual(f *testing.F) {
	for _, s := range contextualCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkContextual(t, s) })
}

// TestFirstNameScreen: every gazetteer first name passes the screen, and
// it rejects most other capitalised words.
func TestFirstNameScreen(t *testing.T) {
	for w := range firstNames {
		if len(w) < 2 {
			t.Fatalf("first name %q shorter than two bytes", w)
		}
		if !maybeFirstName(w) {
			t.Fatalf("first name %q screened out", w)
		}
	}
	pass := 0
	others := strings.Fields("The Store Get Context Item Contact See Report Revenue Widget Active Status Name Quarterly Driven Subscription Tier Access Installation Steps Guide Section")
	for _, w := range others {
		if maybeFirstName(w) {
			pass++
		}
	}
	if pass > len(others)/4 {
		t.Errorf("%d of %d non-names pass the screen", pass, len(others))
	}
}
