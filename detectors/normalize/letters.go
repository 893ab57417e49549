package normalize

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The letter model recognises a line written in rot13 or backwards in any
// Latin-script language. The common-word tests (rot13Line, reversedLine)
// know only short English words, so a French or Spanish instruction in
// rot13 or reversed went undecoded and reached the injection model as
// noise. The model is a table of letter-trigram log-probabilities over 27
// symbols (the letters, either case, and a word boundary standing for any
// run of other bytes), mixed with equal weight from 16 languages of the
// harmless corpus's training groups by
// detectors/injection/genletters, which also reports its error rates on
// the calibration groups (docs/detection-injection.md).

// LetterTrigrams is the size of the trigram table.
const LetterTrigrams = 27 * 27 * 27

// MinLetterTrigrams is the fewest trigrams a line needs to be judged, and
// minLetterWords the fewest words of three or more letters: short lines
// and lines of identifiers ("#ifndef GNUTLS_TPM_H") say too little.
const (
	MinLetterTrigrams = 24
	minLetterWords    = 4
)

// Thresholds, in the table's unit (eighths of a nat) per trigram, chosen
// on the calibration groups (see genletters): plainFloor is the mean score above which a
// line reads as plain text and neither transform is tried (a third of
// harmless lines are below it, nearly all transformed ones); a line is
// rot13 when its rot13 image scores rot13Margin more per trigram than the
// line itself, reversed when its reversal scores reversedMargin more. A
// line taken by mistake only adds a decoded view of gibberish.
const (
	plainFloor     = -65
	rot13Margin    = 14
	reversedMargin = 6
)

//go:embed letters.bin
var lettersBin []byte

var defaultLetters = NewLetterModel(lettersBin)

// LetterModel is a letter-trigram table (see LetterTrigrams); immutable.
type LetterModel struct {
	t [LetterTrigrams]int8
}

// NewLetterModel wraps a table of LetterTrigrams int8 values (a shorter
// table leaves the rest at 0).
func NewLetterModel(table []byte) *LetterModel {
	m := &LetterModel{}
	for i := 0; i < len(table) && i < LetterTrigrams; i++ {
		m.t[i] = int8(table[i])
	}
	return m
}

// eachTrigram calls fn with the symbols of every trigram of line: the line
// starts with a boundary, runs of non-letters are one boundary, and a line
// ending in a letter ends with a boundary.
func eachTrigram(line string, fn func(a, b, c uint8)) {
	var a, b uint8 // b is the last symbol (the opening boundary)
	n := 1
	push := func(v uint8) {
		if n >= 2 {
			fn(a, b, v)
		}
		a, b = b, v
		n++
	}
	for i := 0; i < len(line); i++ {
		v := letterVal[line[i]]
		if v == 0 && b == 0 {
			continue
		}
		push(v)
	}
	if b != 0 {
		push(0)
	}
}

func idx(a, b, c uint8) int { return (int(a)*27+int(b))*27 + int(c) }

// EachLetterTrigram calls fn with the table index of every trigram of line
// (for building the table).
func EachLetterTrigram(line string, fn func(int)) {
	eachTrigram(line, func(a, b, c uint8) { fn(idx(a, b, c)) })
}

// Scorable reports whether line has enough trigrams and words to be
// judged.
func (m *LetterModel) Scorable(line string) bool {
	n := 0
	eachTrigram(line, func(_, _, _ uint8) { n++ })
	return n >= MinLetterTrigrams && words3(line) >= minLetterWords
}

// words3 counts the words of three or more ASCII letters in line.
func words3(line string) int {
	words, run := 0, 0
	for i := 0; i <= len(line); i++ {
		if i < len(line) && letterVal[line[i]] != 0 {
			run++
			continue
		}
		if run >= 3 {
			words++
		}
		run = 0
	}
	return words
}

// Line reports whether line reads as rot13 and as reversed text. The
// common case (plain text) is one pass with one table load per letter,
// written out by hand because it runs on every line of every text;
// TestLineMatchesTrigrams keeps it equal to eachTrigram's sequence.
func (m *LetterModel) Line(line string) (rot13, reversed bool) {
	f, n, words, run := 0, 0, 0, 0
	var b uint8   // the last symbol: the opening boundary
	ab, k := 0, 1 // index prefix of the last two symbols; symbols so far
	for i := 0; i < len(line); i++ {
		v := letterVal[line[i]]
		if v != 0 {
			run++
		} else {
			if b == 0 {
				continue
			}
			if run >= 3 {
				words++
			}
			run = 0
		}
		if k >= 2 {
			f += int(m.t[ab*27+int(v)])
			n++
		}
		ab, b = int(b)*27+int(v), v
		k++
	}
	if b != 0 {
		if run >= 3 {
			words++
		}
		if k >= 2 {
			f += int(m.t[ab*27])
			n++
		}
	}
	if n < MinLetterTrigrams || f >= plainFloor*n || words < minLetterWords {
		return false, false
	}
	r, v := 0, 0
	eachTrigram(line, func(a, b, c uint8) {
		r += int(m.t[idx(rotSym[a], rotSym[b], rotSym[c])])
		v += int(m.t[idx(c, b, a)])
	})
	return r-f >= rot13Margin*n, v-f >= reversedMargin*n
}

// rotSym maps a symbol to the symbol of its rot13 image (the boundary to
// itself).
var rotSym = func() (t [27]uint8) {
	for v := 1; v <= 26; v++ {
		t[v] = uint8((v+12)%26 + 1)
	}
	return t
}()

func (m *LetterModel) rot13(line string) bool { r, _ := m.Line(line); return r }
func (m *LetterModel) reversed(line string) bool {
	_, v := m.Line(line)
	return v || punctReversed(line)
}

// punctReversed reports a line that reads backwards by its punctuation: it
// starts with a sentence end (. ! ? and the CJK full-width marks) directly
// followed by a letter that is not a capital (".PHONY", ".TH" are markup),
// and ends with a letter or a '>' or quote, where its
// first word or tag was. It knows no alphabet, so it also recognises
// Cyrillic, Greek and CJK sentences written backwards, which the letter
// model (Latin letters only) cannot judge. On the harmless corpus's
// calibration groups it took 7 of 62,000 lines (code, man pages, docs: a
// line taken by mistake only adds a decoded view) and recognised 41% of the
// reversed lines that end a sentence (ja 71%, ru 50%).
func punctReversed(line string) bool {
	s := strings.TrimSpace(line)
	if len(s) < 12 {
		return false
	}
	r0, n0 := utf8.DecodeRuneInString(s)
	switch r0 {
	case '.', '!', '?', '。', '！', '？':
	default:
		return false
	}
	r1, _ := utf8.DecodeRuneInString(s[n0:])
	rl, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsLetter(r1) && !unicode.IsUpper(r1) && (unicode.IsLetter(rl) || rl == '>' || rl == '"' || rl == '»' || rl == '”')
}

// letterHints reports whether any line of s reads as rot13 or reversed to
// the letter model.
func letterHints(s string) (rot, rev bool) {
	for a := 0; a < len(s) && !(rot && rev); {
		e := strings.IndexByte(s[a:], '\n')
		if e < 0 {
			e = len(s)
		} else {
			e += a
		}
		r, v := defaultLetters.Line(s[a:e])
		rot, rev = rot || r, rev || v || punctReversed(s[a:e])
		a = e + 1
	}
	return rot, rev
}
