// Package jsonwalk is a small, bounded, allocation-light JSON scanner that
// yields every string leaf with its dotted path, decoded value and the byte
// range of its raw token, so callers can scan leaves and rewrite them in place
// while keeping the document valid.
//
// Invariants: never panics; time is linear in the input; nesting deeper than
// Limits.MaxDepth, more than Limits.MaxLeaves leaves, or input larger than
// Limits.MaxBytes is an error, never a crash. Object keys are not leaves.
package jsonwalk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Leaf is one string value in the document.
type Leaf struct {
	Path     string // dotted path: "result.content.0.text"; '.' and '\' in keys are escaped with '\'
	Value    string // decoded string value
	RawStart int    // offset of the opening quote in the input
	RawEnd   int    // offset just past the closing quote
	Parent   int    // index of the containing object/array (0 = root container or the document itself)
}

// Limits bound the walk.
type Limits struct {
	MaxBytes  int // default 16 MiB
	MaxDepth  int // default 128
	MaxLeaves int // default 100000
}

// Errors callers can test with errors.Is.
var (
	ErrTooLarge = errors.New("json document too large")
	ErrTooDeep  = errors.New("json nesting too deep")
	ErrTooMany  = errors.New("too many json string leaves")
	ErrSyntax   = errors.New("invalid json")
)

// Result is the outcome of a walk.
type Result struct {
	Leaves []Leaf
	// Keys are object keys that may carry a value (an '@', six or more
	// digits, or a non-ASCII byte): data hidden in a key instead of a
	// value. Path is the member's path; at most MaxLeaves are kept.
	Keys []Leaf
	// ContainerPaths[i] is the path of container i (index 0 is the top level).
	ContainerPaths []string
}

type walker struct {
	data []byte
	pos  int
	lim  Limits
	res  Result
}

// Walk parses data and returns its string leaves in document order.
func Walk(data []byte, lim Limits) (*Result, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = 16 << 20
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 128
	}
	if lim.MaxLeaves <= 0 {
		lim.MaxLeaves = 100000
	}
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	w := &walker{data: data, lim: lim}
	// Leaves sized once from the quotes (a string leaf and its key have
	// four), capped so a document of many keys and few strings wastes
	// little: growing from empty took five allocations for a usual result.
	w.res.Leaves = make([]Leaf, 0, min(bytes.Count(data, quote)/4, maxPresized, lim.MaxLeaves))
	w.res.ContainerPaths = append(w.res.ContainerPaths, "")
	w.ws()
	if err := w.value("", 0, 0); err != nil {
		return nil, err
	}
	w.ws()
	if w.pos != len(w.data) {
		return nil, w.errf("trailing data")
	}
	if len(w.res.Leaves) == 0 {
		w.res.Leaves = nil // as before the pre-sizing: no leaves is nil
	}
	return &w.res, nil
}

var quote = []byte{'"'}

// maxPresized caps the leaves Walk allocates room for up front.
const maxPresized = 64

func (w *walker) errf(msg string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, msg, w.pos)
}

func (w *walker) ws() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

func join(prefix, key string) string {
	if strings.ContainsAny(key, ".\\") {
		key = strings.NewReplacer("\\", "\\\\", ".", "\\.").Replace(key)
	}
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (w *walker) value(path string, depth, parent int) error {
	if w.pos >= len(w.data) {
		return w.errf("unexpected end")
	}
	switch c := w.data[w.pos]; {
	case c == '{' || c == '[':
		if depth >= w.lim.MaxDepth {
			return fmt.Errorf("%w: depth > %d", ErrTooDeep, w.lim.MaxDepth)
		}
		id := len(w.res.ContainerPaths)
		if depth == 0 {
			id = 0
		} else {
			w.res.ContainerPaths = append(w.res.ContainerPaths, path)
		}
		if c == '{' {
			return w.object(path, depth+1, id)
		}
		return w.array(path, depth+1, id)
	case c == '"':
		start := w.pos
		s, err := w.str()
		if err != nil {
			return err
		}
		if len(w.res.Leaves) >= w.lim.MaxLeaves {
			return fmt.Errorf("%w: > %d", ErrTooMany, w.lim.MaxLeaves)
		}
		w.res.Leaves = append(w.res.Leaves, Leaf{Path: path, Value: s, RawStart: start, RawEnd: w.pos, Parent: parent})
		return nil
	case c == 't':
		return w.lit("true")
	case c == 'f':
		return w.lit("false")
	case c == 'n':
		return w.lit("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return w.number()
	default:
		return w.errf(fmt.Sprintf("unexpected byte %q", c))
	}
}

func (w *walker) lit(s string) error {
	if len(w.data)-w.pos < len(s) || string(w.data[w.pos:w.pos+len(s)]) != s {
		return w.errf("bad literal")
	}
	w.pos += len(s)
	return nil
}

func (w *walker) digits() int {
	n := 0
	for w.pos < len(w.data) && '0' <= w.data[w.pos] && w.data[w.pos] <= '9' {
		w.pos++
		n++
	}
	return n
}

// number validates the JSON number grammar -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?.
func (w *walker) number() error {
	if w.data[w.pos] == '-' {
		w.pos++
	}
	if w.pos < len(w.data) && w.data[w.pos] == '0' {
		w.pos++
	} else if w.digits() == 0 {
		return w.errf("bad number")
	}
	if w.pos < len(w.data) && w.data[w.pos] == '.' {
		w.pos++
		if w.digits() == 0 {
			return w.errf("bad number")
		}
	}
	if w.pos < len(w.data) && (w.data[w.pos] == 'e' || w.data[w.pos] == 'E') {
		w.pos++
		if w.pos < len(w.data) && (w.data[w.pos] == '+' || w.data[w.pos] == '-') {
			w.pos++
		}
		if w.digits() == 0 {
			return w.errf("bad number")
		}
	}
	return nil
}

func (w *walker) object(path string, depth, id int) error {
	w.pos++ // {
	w.ws()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
		return nil
	}
	for {
		w.ws()
		if w.pos >= len(w.data) || w.data[w.pos] != '"' {
			return w.errf("expected object key")
		}
		keyStart := w.pos
		rawKey, key, err := w.key()
		if err != nil {
			return err
		}
		if rawKey != nil {
			// no escapes: the member path is built straight from the bytes
			key = keyPath(path, rawKey)
			if valueLikeKey(rawKey) && len(w.res.Keys) < w.lim.MaxLeaves {
				w.res.Keys = append(w.res.Keys, Leaf{Path: key, Value: string(rawKey), RawStart: keyStart, RawEnd: w.pos, Parent: id})
			}
		} else {
			if valueLikeKey(key) && len(w.res.Keys) < w.lim.MaxLeaves {
				w.res.Keys = append(w.res.Keys, Leaf{Path: join(path, key), Value: key, RawStart: keyStart, RawEnd: w.pos, Parent: id})
			}
			key = join(path, key)
		}
		w.ws()
		if w.pos >= len(w.data) || w.data[w.pos] != ':' {
			return w.errf("expected ':'")
		}
		w.pos++
		w.ws()
		if err := w.value(key, depth, id); err != nil {
			return err
		}
		w.ws()
		if w.pos >= len(w.data) {
			return w.errf("unterminated object")
		}
		switch w.data[w.pos] {
		case ',':
			w.pos++
		case '}':
			w.pos++
			return nil
		default:
			return w.errf("expected ',' or '}'")
		}
	}
}

func (w *walker) array(path string, depth, id int) error {
	w.pos++ // [
	w.ws()
	if w.pos < len(w.data) && w.data[w.pos] == ']' {
		w.pos++
		return nil
	}
	for i := 0; ; i++ {
		w.ws()
		if err := w.value(join(path, strconv.Itoa(i)), depth, id); err != nil {
			return err
		}
		w.ws()
		if w.pos >= len(w.data) {
			return w.errf("unterminated array")
		}
		switch w.data[w.pos] {
		case ',':
			w.pos++
		case ']':
			w.pos++
			return nil
		default:
			return w.errf("expected ',' or ']'")
		}
	}
}

// key reads an object key at w.pos: its raw bytes when it has no escapes
// (no copy is made), else its decoded value.
func (w *walker) key() ([]byte, string, error) {
	w.pos++ // opening quote
	st := w.pos
	for w.pos < len(w.data) {
		w.pos = skipPlain(w.data, w.pos)
		if w.pos >= len(w.data) {
			break
		}
		c := w.data[w.pos]
		if c == '"' {
			w.pos++
			return w.data[st : w.pos-1 : w.pos-1], "", nil
		}
		if c == '\\' {
			s, err := w.slowStr(st)
			return nil, s, err
		}
		return nil, "", w.errf("control character in string")
	}
	return nil, "", w.errf("unterminated string")
}

// keyPath is join for a key held as raw bytes (one allocation: the path).
func keyPath(prefix string, key []byte) string {
	for _, c := range key {
		if c == '.' || c == '\\' {
			return join(prefix, string(key))
		}
	}
	if prefix == "" {
		return string(key)
	}
	return prefix + "." + string(key)
}

// str reads a JSON string token at w.pos and returns its decoded value.
func (w *walker) str() (string, error) {
	w.pos++ // opening quote
	st := w.pos
	for w.pos < len(w.data) {
		w.pos = skipPlain(w.data, w.pos)
		if w.pos >= len(w.data) {
			break
		}
		c := w.data[w.pos]
		if c == '"' {
			s := string(w.data[st:w.pos])
			w.pos++
			return s, nil
		}
		if c == '\\' {
			return w.slowStr(st)
		}
		return "", w.errf("control character in string")
	}
	return "", w.errf("unterminated string")
}

// rawStrLen is the byte length of the rest of a string token from i (an
// escape or the closing quote) to its closing quote, or of the rest of data
// when it is unterminated: a bound of the decoded length, found with
// vectorised quote searches, so the value is built in one allocation.
func rawStrLen(data []byte, i int) int {
	for j := i; ; {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			return len(data) - i
		}
		j += k
		bs := 0 // backslashes before the quote: an odd count escapes it
		for p := j - 1; p >= i && data[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return j - i
		}
		j++
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (w *walker) slowStr(st int) (string, error) {
	var b strings.Builder
	b.Grow(rawStrLen(w.data, w.pos) + w.pos - st) // the decoded value is never longer than its token
	b.Write(w.data[st:w.pos])
	for w.pos < len(w.data) {
		// copy the run up to the next quote, backslash or control byte whole
		run := w.pos
		w.pos = skipPlain(w.data, w.pos)
		b.Write(w.data[run:w.pos])
		if w.pos >= len(w.data) {
			break
		}
		c := w.data[w.pos]
		switch {
		case c == '"':
			w.pos++
			return b.String(), nil
		case c < 0x20:
			return "", w.errf("control character in string")
		}
		if w.pos+1 >= len(w.data) {
			return "", w.errf("unterminated escape")
		}
		e := w.data[w.pos+1]
		w.pos += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(w.data[w.pos:])
			if !ok {
				return "", w.errf("bad \\u escape")
			}
			w.pos += 4
			if utf16.IsSurrogate(r) {
				if w.pos+6 <= len(w.data) && w.data[w.pos] == '\\' && w.data[w.pos+1] == 'u' {
					if r2, ok := hex4(w.data[w.pos+2:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							w.pos += 6
							b.WriteRune(d)
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			return "", w.errf("bad escape")
		}
	}
	return "", w.errf("unterminated string")
}

// plainStrByte marks the bytes a JSON string copies as they are (not a
// quote, a backslash or a control character).
// skipPlain returns the first i' ≥ i where data[i'] is not a plain string
// byte (a quote, a backslash or a control byte), or len(data): eight bytes
// at a time on a little-endian word (values are mostly long prose runs),
// then byte by byte. The word tests are exact for every byte value.
func skipPlain(data []byte, i int) int {
	const (
		lo7  = 0x7f7f7f7f7f7f7f7f
		hi1  = 0x8080808080808080
		ones = 0x0101010101010101
	)
	for ; i+8 <= len(data); i += 8 {
		x := binary.LittleEndian.Uint64(data[i:])
		q := x ^ '"'*ones
		bs := x ^ '\\'*ones
		stop := ^((q&lo7 + lo7) | q | lo7)       // bytes equal to '"'
		stop |= ^((bs&lo7 + lo7) | bs | lo7)     // bytes equal to '\\'
		stop |= ^((x&lo7 + 0x60*ones) | x) & hi1 // bytes < 0x20
		if stop != 0 {
			return i + bits.TrailingZeros64(stop)>>3
		}
	}
	for i < len(data) && plainStrByte[data[i]] {
		i++
	}
	return i
}

var plainStrByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Quote encodes s as a JSON string token (invalid UTF-8 becomes U+FFFD).
func Quote(s string) []byte {
	b := make([]byte, 0, len(s)+2)
	return AppendQuote(b, s)
}

// AppendQuote appends the JSON string token for s to b.
func AppendQuote(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// valueLikeKey reports whether an object key could hold data rather than a
// field name: it contains '@', six or more digits, or a non-ASCII byte.
func valueLikeKey[T string | []byte](k T) bool {
	digits := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '@' || c >= 0x80:
			return true
		case c >= '0' && c <= '9':
			digits++
		}
	}
	return digits >= 6
}
