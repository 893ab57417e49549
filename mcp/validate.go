package mcp

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// ValidateJSON checks that b is exactly one well-formed JSON-RPC body: one
// JSON value, valid UTF-8 throughout (including escaped surrogates), no
// deeper than maxDepth, and free of ambiguous object keys:
//   - duplicate keys at any depth (after unescaping, so "a" and "\u0061"
//     collide);
//   - keys that differ only by case or Unicode normalisation (NFKC, simple
//     case folding) from another key of the same object, at any depth
//     ("path" beside "PATH" in arguments);
//   - in every protocol object, keys that differ only by case or
//     normalisation from a protocol field ("METHOD", "Name", "Arguments"),
//     even alone. Protocol objects are the envelope, its params, result and
//     error, and below them the structures the gateway or a server reads by
//     field name (childRole): _meta, completion ref and argument, client and
//     server info, capabilities, annotations, embedded resources and the
//     elements of content, contents, tools, resources, resourceTemplates,
//     prompts and messages lists. User data (arguments, structuredContent,
//     schemas, error.data, an elicitation's content) may use any spelling.
//
// Parsers disagree on which copy wins and Go servers match keys
// case-insensitively: a gateway that inspects one spelling while the server
// reads another is bypassed.
func ValidateJSON(b []byte, maxDepth int) error {
	v := validator{buf: b, maxDepth: maxDepth}
	v.skipWS()
	if v.pos >= len(v.buf) {
		return &SyntaxError{Offset: 0, Msg: "empty body: expected a JSON-RPC message"}
	}
	if err := v.value(0, roleEnvelope); err != nil {
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
// (fold-insensitively) against sub-slices of the input; large ones switch to
// a map keyed by the folded key.
type keySet struct {
	list []seenKey
	m    map[string][]byte
}

type seenKey struct {
	k     []byte
	ascii bool
}

// role says how strictly an object's keys are checked.
type role uint8

const (
	roleData     role = iota // user data: duplicates and fold-duplicates only
	roleEnvelope             // a JSON-RPC message object
	roleProtocol             // params, result or error of a message, or a structure inside them
	roleList                 // a protocol list: its object elements are protocol objects
)

// childRole is the role of the value of key inside an object of role r.
// Keys are compared exactly: a variant spelling was refused before.
//   - protocol objects below a protocol object: _meta, completion ref and
//     argument, client and server info, capabilities, annotations, an
//     embedded resource;
//   - protocol lists (their object elements are protocol objects; as an
//     object, e.g. an elicitation's content, the value is user data):
//     content, contents, tools, resources, resourceTemplates, prompts,
//     messages.
func childRole(r role, key []byte) role {
	switch r {
	case roleEnvelope:
		switch string(key) {
		case "params", "result", "error":
			return roleProtocol
		}
	case roleProtocol:
		switch string(key) {
		case "_meta", "ref", "argument", "completion", "annotations", "clientInfo", "serverInfo", "resource", "capabilities":
			return roleProtocol
		case "content", "contents", "tools", "resources", "resourceTemplates", "prompts", "messages":
			return roleList
		}
	}
	return roleData
}

// elemRole is the role of the elements of an array of role r at depth
// (1: the top level).
func elemRole(r role, depth int) role {
	switch {
	case depth == 1 && r == roleEnvelope:
		return roleEnvelope // a batch holds messages
	case r == roleList:
		return roleProtocol
	}
	return roleData
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

func (v *validator) value(depth int, r role) error {
	if v.pos >= len(v.buf) {
		return v.errf("unexpected end of JSON")
	}
	switch c := v.buf[v.pos]; {
	case c == '{':
		if r == roleList {
			r = roleData
		}
		return v.object(depth+1, r)
	case c == '[':
		return v.array(depth+1, r)
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

func (v *validator) object(depth int, r role) error {
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
		if prev := ks.find(key); prev != nil {
			v.pos = keyStart
			if string(prev) == string(key) {
				return v.errf("duplicate object key %q: the message is ambiguous and is refused", Truncate(string(key), 64))
			}
			return v.errf("object keys %q and %q differ only by case or Unicode normalisation: the message is ambiguous and is refused", Truncate(string(prev), 64), Truncate(string(key), 64))
		}
		if r != roleData {
			if f := ProtocolFieldVariant(key); f != "" {
				v.pos = keyStart
				return v.errf("object key %q differs only by case or Unicode normalisation from the protocol field %q: the message is ambiguous and is refused", Truncate(string(key), 64), f)
			}
		}
		ks.add(key)
		child := childRole(r, key)
		v.skipWS()
		if v.pos >= len(v.buf) || v.buf[v.pos] != ':' {
			return v.errf("expected ':' after object key")
		}
		v.pos++
		v.skipWS()
		if err := v.value(depth, child); err != nil {
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

// find returns an earlier key of the object that k equals after folding,
// or nil.
func (ks *keySet) find(k []byte) []byte {
	if ks.m != nil {
		var buf [64]byte
		return ks.m[string(appendFold(buf[:0], k))]
	}
	ascii := isASCII(k)
	for _, e := range ks.list {
		if ascii && e.ascii {
			// ASCII folding keeps the length: most pairs differ there.
			if len(e.k) == len(k) && asciiEqualFold(e.k, k) {
				return e.k
			}
			continue
		}
		if foldEqual(e.k, k) {
			return e.k
		}
	}
	return nil
}

func (ks *keySet) add(k []byte) {
	if ks.m != nil {
		ks.m[string(appendFold(nil, k))] = k
		return
	}
	ks.list = append(ks.list, seenKey{k: k, ascii: isASCII(k)})
	if len(ks.list) > 16 {
		ks.m = make(map[string][]byte, 32)
		for _, e := range ks.list {
			ks.m[string(appendFold(nil, e.k))] = e.k
		}
	}
}

func (v *validator) array(depth int, r role) error {
	elem := elemRole(r, depth)
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
		if err := v.value(depth, elem); err != nil {
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
