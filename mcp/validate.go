package mcp

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// ValidateJSON checks that b is exactly one well-formed JSON value, valid
// UTF-8 throughout (including escaped surrogates), free of duplicate object
// keys at any depth (after unescaping, so "a" and "\u0061" collide) and no
// deeper than maxDepth. Duplicate keys are rejected because parsers disagree
// on which copy wins: a gateway that inspects one copy while the server reads
// the other is bypassed.
func ValidateJSON(b []byte, maxDepth int) error {
	v := validator{buf: b, maxDepth: maxDepth}
	v.skipWS()
	if v.pos >= len(v.buf) {
		return &SyntaxError{Offset: 0, Msg: "empty body: expected a JSON-RPC message"}
	}
	if err := v.value(0); err != nil {
		return err
	}
	v.skipWS()
	if v.pos != len(v.buf) {
		return v.errf("unexpected data after the JSON value")
	}
	return nil
}

// SyntaxError is a JSON problem at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset) }

type validator struct {
	buf      []byte
	pos      int
	maxDepth int
	scratch  []byte
	keys     []keySet
}

// keySet tracks the keys of one open object. Small objects compare linearly
// against sub-slices of the input; large ones switch to a map.
type keySet struct {
	list [][]byte
	m    map[string]struct{}
}

func (v *validator) errf(format string, args ...any) error {
	return &SyntaxError{Offset: v.pos, Msg: fmt.Sprintf(format, args...)}
}

func (v *validator) skipWS() {
	for v.pos < len(v.buf) {
		switch v.buf[v.pos] {
		case ' ', '\t', '\n', '\r':
			v.pos++
		default:
			return
		}
	}
}

func (v *validator) value(depth int) error {
	if v.pos >= len(v.buf) {
		return v.errf("unexpected end of JSON")
	}
	switch c := v.buf[v.pos]; {
	case c == '{':
		return v.object(depth + 1)
	case c == '[':
		return v.array(depth + 1)
	case c == '"':
		_, err := v.str(false)
		return err
	case c == 't':
		return v.lit("true")
	case c == 'f':
		return v.lit("false")
	case c == 'n':
		return v.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return v.number()
	default:
		return v.errf("invalid character %q looking for a JSON value", c)
	}
}

func (v *validator) lit(s string) error {
	if !bytes.HasPrefix(v.buf[v.pos:], []byte(s)) {
		return v.errf("invalid literal, expected %s", s)
	}
	v.pos += len(s)
	return nil
}

func (v *validator) number() error {
	start := v.pos
	if v.buf[v.pos] == '-' {
		v.pos++
	}
	digits := func() int {
		n := 0
		for v.pos < len(v.buf) && v.buf[v.pos] >= '0' && v.buf[v.pos] <= '9' {
			v.pos++
			n++
		}
		return n
	}
	if v.pos < len(v.buf) && v.buf[v.pos] == '0' {
		v.pos++
	} else if digits() == 0 {
		v.pos = start
		return v.errf("invalid number")
	}
	if v.pos < len(v.buf) && v.buf[v.pos] == '.' {
		v.pos++
		if digits() == 0 {
			return v.errf("invalid number: digits expected after '.'")
		}
	}
	if v.pos < len(v.buf) && (v.buf[v.pos] == 'e' || v.buf[v.pos] == 'E') {
		v.pos++
		if v.pos < len(v.buf) && (v.buf[v.pos] == '+' || v.buf[v.pos] == '-') {
			v.pos++
		}
		if digits() == 0 {
			return v.errf("invalid number: digits expected in exponent")
		}
	}
	return nil
}

func (v *validator) object(depth int) error {
	if depth > v.maxDepth {
		return v.errf("JSON nesting deeper than the limit of %d", v.maxDepth)
	}
	v.pos++ // {
	for len(v.keys) < depth {
		v.keys = append(v.keys, keySet{})
	}
	ks := &v.keys[depth-1]
	ks.list = ks.list[:0]
	ks.m = nil
	v.skipWS()
	if v.pos < len(v.buf) && v.buf[v.pos] == '}' {
		v.pos++
		return nil
	}
	for {
		v.skipWS()
		if v.pos >= len(v.buf) || v.buf[v.pos] != '"' {
			return v.errf("object key must be a string")
		}
		keyStart := v.pos
		key, err := v.str(true)
		if err != nil {
			return err
		}
		ks = &v.keys[depth-1] // str may not grow keys, but keep the pointer fresh
		if ks.has(key) {
			v.pos = keyStart
			return v.errf("duplicate object key %q: the message is ambiguous and is refused", Truncate(string(key), 64))
		}
		ks.add(key)
		v.skipWS()
		if v.pos >= len(v.buf) || v.buf[v.pos] != ':' {
			return v.errf("expected ':' after object key")
		}
		v.pos++
		v.skipWS()
		if err := v.value(depth); err != nil {
			return err
		}
		v.skipWS()
		if v.pos >= len(v.buf) {
			return v.errf("unexpected end of JSON inside an object")
		}
		switch v.buf[v.pos] {
		case ',':
			v.pos++
		case '}':
			v.pos++
			return nil
		default:
			return v.errf("expected ',' or '}' in object")
		}
	}
}

func (ks *keySet) has(k []byte) bool {
	if ks.m != nil {
		_, ok := ks.m[string(k)]
		return ok
	}
	for _, e := range ks.list {
		if bytes.Equal(e, k) {
			return true
		}
	}
	return false
}

func (ks *keySet) add(k []byte) {
	if ks.m != nil {
		ks.m[string(k)] = struct{}{}
		return
	}
	ks.list = append(ks.list, k)
	if len(ks.list) > 16 {
		ks.m = make(map[string]struct{}, 32)
		for _, e := range ks.list {
			ks.m[string(e)] = struct{}{}
		}
	}
}

func (v *validator) array(depth int) error {
	if depth > v.maxDepth {
		return v.errf("JSON nesting deeper than the limit of %d", v.maxDepth)
	}
	v.pos++ // [
	v.skipWS()
	if v.pos < len(v.buf) && v.buf[v.pos] == ']' {
		v.pos++
		return nil
	}
	for {
		v.skipWS()
		if err := v.value(depth); err != nil {
			return err
		}
		v.skipWS()
		if v.pos >= len(v.buf) {
			return v.errf("unexpected end of JSON inside an array")
		}
		switch v.buf[v.pos] {
		case ',':
			v.pos++
		case ']':
			v.pos++
			return nil
		default:
			return v.errf("expected ',' or ']' in array")
		}
	}
}

// str validates a string starting at the opening quote. With wantKey it
// returns the unescaped key bytes (a sub-slice of the input when there are no
// escapes, a fresh copy otherwise).
func (v *validator) str(wantKey bool) ([]byte, error) {
	v.pos++ // opening quote
	start := v.pos
	escaped := false
	for v.pos < len(v.buf) {
		c := v.buf[v.pos]
		switch {
		case c == '"':
			raw := v.buf[start:v.pos]
			v.pos++
			if !wantKey {
				return nil, nil
			}
			if !escaped {
				return raw, nil
			}
			return unescape(raw), nil
		case c == '\\':
			escaped = true
			if v.pos+1 >= len(v.buf) {
				return nil, v.errf("unterminated escape in string")
			}
			switch v.buf[v.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.pos += 2
			case 'u':
				r, ok := hex4(v.buf, v.pos+2)
				if !ok {
					return nil, v.errf("invalid \\u escape in string")
				}
				v.pos += 6
				if r >= 0xD800 && r < 0xDC00 {
					r2, ok2 := rune(0), false
					if v.pos+1 < len(v.buf) && v.buf[v.pos] == '\\' && v.buf[v.pos+1] == 'u' {
						r2, ok2 = hex4(v.buf, v.pos+2)
					}
					if !ok2 || r2 < 0xDC00 || r2 > 0xDFFF {
						return nil, v.errf("unpaired UTF-16 surrogate escape in string")
					}
					v.pos += 6
				} else if r >= 0xDC00 && r <= 0xDFFF {
					return nil, v.errf("unpaired UTF-16 surrogate escape in string")
				}
			default:
				return nil, v.errf("invalid escape character %q in string", v.buf[v.pos+1])
			}
		case c < 0x20:
			return nil, v.errf("control character 0x%02x must be escaped in a JSON string", c)
		case c < utf8.RuneSelf:
			v.pos++
		default:
			r, size := utf8.DecodeRune(v.buf[v.pos:])
			if r == utf8.RuneError && size <= 1 {
				return nil, v.errf("invalid UTF-8 in string")
			}
			v.pos += size
		}
	}
	return nil, v.errf("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape decodes a JSON string body already known to be valid.
func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(raw, i+2)
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				r2, _ := hex4(raw, i+2)
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			out = append(out, raw[i+1])
		}
		i += 2
	}
	return out
}

// Truncate shortens s to at most n bytes plus an ellipsis, for quoting
// untrusted input in error messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
