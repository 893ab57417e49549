package approval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxCanonicalDepth bounds nesting (the protocol layer bounds it further).
const maxCanonicalDepth = 128

// CanonicalDigest returns "sha256:<hex>" over the canonical JSON of args
// (RFC 8785 style: object keys sorted by UTF-16 code units, no whitespace,
// numbers in their shortest ECMAScript form, minimal string escapes). Empty
// or null arguments are the empty object, as MCP treats a missing
// "arguments". Duplicate keys, invalid UTF-8 and non-finite numbers are
// errors: such arguments could mean different things to different parsers,
// so they must not be approvable.
func CanonicalDigest(args []byte) (string, error) {
	c, err := Canonical(args)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Canonical returns the canonical JSON text of args (see CanonicalDigest).
func Canonical(args []byte) ([]byte, error) {
	t := bytes.TrimSpace(args)
	if len(t) == 0 || string(t) == "null" {
		return []byte("{}"), nil
	}
	if !utf8.Valid(t) {
		return nil, errors.New("canonical json: invalid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(t))
	d.UseNumber()
	var out []byte
	out, err := canonValue(d, out, 0)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("canonical json: trailing data")
	}
	return out, nil
}

func canonValue(d *json.Decoder, out []byte, depth int) ([]byte, error) {
	if depth > maxCanonicalDepth {
		return nil, errors.New("nesting too deep")
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			type member struct {
				key string
				val []byte
			}
			var ms []member
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				val, err := canonValue(d, nil, depth+1)
				if err != nil {
					return nil, err
				}
				ms = append(ms, member{k, val})
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			slices.SortFunc(ms, func(a, b member) int { return compareUTF16(a.key, b.key) })
			out = append(out, '{')
			for i, m := range ms {
				if i > 0 {
					if ms[i-1].key == m.key {
						return nil, fmt.Errorf("duplicate key %q", truncate(m.key, 64))
					}
					out = append(out, ',')
				}
				out = appendCanonString(out, m.key)
				out = append(out, ':')
				out = append(out, m.val...)
			}
			return append(out, '}'), nil
		case '[':
			out = append(out, '[')
			first := true
			for d.More() {
				if !first {
					out = append(out, ',')
				}
				first = false
				if out, err = canonValue(d, out, depth+1); err != nil {
					return nil, err
				}
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return append(out, ']'), nil
		}
		return nil, fmt.Errorf("unexpected %v", v)
	case string:
		return appendCanonString(out, v), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("number %q out of range", truncate(string(v), 32))
		}
		return appendES6Number(out, f), nil
	case bool:
		return strconv.AppendBool(out, v), nil
	case nil:
		return append(out, "null"...), nil
	}
	return nil, fmt.Errorf("unexpected token %T", tok)
}

// appendES6Number writes f the way ECMAScript's Number.prototype.toString
// does (RFC 8785 §3.2.2.3).
func appendES6Number(out []byte, f float64) []byte {
	if f == 0 {
		return append(out, '0') // also -0
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(out, f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // e.g. 1e+21, 1.5e-07
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	out = append(out, mant...)
	out = append(out, 'e', sign)
	return append(out, exp...)
}

func appendCanonString(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, `\u00`...)
			out = append(out, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
