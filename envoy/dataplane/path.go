package dataplane

import (
	"errors"
	"strings"
)

// Request path hygiene: what Envoy's HTTP connection manager does with
// normalize_path, merge_slashes and path_with_escaped_slashes_action:
// REJECT_REQUEST, done before routing so that the route, the processor and
// the upstream all see one canonical path, and a request can only reach its
// route's upstream path and below.
//
// Unlike Envoy, dot segments are refused rather than resolved: a path that
// climbs ("/mcp/files/../x", "%2e%2e") is an attack or a bug, and refusing
// it keeps the audit honest about what was asked.

var (
	errPathFragment = errors.New("fragment in request path")
	errPathEscSlash = errors.New("escaped slash or backslash in request path")
	errPathDots     = errors.New("dot segment in request path")
	errPathInvalid  = errors.New("invalid request path")
)

// normalizePath canonicalises the path part of a request target (origin
// form, query kept verbatim): percent-encoded unreserved characters are
// decoded, other escapes upper-cased, repeated slashes merged. It refuses a
// fragment, an encoded slash or backslash, a raw backslash, control
// characters, malformed escapes and "." or ".." segments (also encoded).
func normalizePath(target string) (string, error) {
	path, query, hasQuery := strings.Cut(target, "?")
	if plainPath(path) {
		return target, nil
	}
	if strings.IndexByte(path, '#') >= 0 {
		return "", errPathFragment
	}
	if !strings.HasPrefix(path, "/") {
		return "", errPathInvalid
	}
	var b strings.Builder
	b.Grow(len(target))
	segStart := 0 // index in b where the current segment starts
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '/':
			if err := checkSegment(b.String()[segStart:]); err != nil {
				return "", err
			}
			if b.Len() > 0 && b.String()[b.Len()-1] == '/' {
				continue // merge slashes
			}
			b.WriteByte('/')
			segStart = b.Len()
		case c == '%':
			if i+2 >= len(path) || unhex(path[i+1]) < 0 || unhex(path[i+2]) < 0 {
				return "", errPathInvalid
			}
			v := byte(unhex(path[i+1])<<4 | unhex(path[i+2]))
			i += 2
			switch {
			case v == '/' || v == '\\':
				return "", errPathEscSlash
			case unreserved(v):
				b.WriteByte(v)
			default:
				b.WriteByte('%')
				b.WriteByte(upperHex[v>>4])
				b.WriteByte(upperHex[v&15])
			}
		case c == '\\':
			return "", errPathEscSlash
		case c < 0x21 || c == 0x7f:
			return "", errPathInvalid
		default:
			b.WriteByte(c)
		}
	}
	if err := checkSegment(b.String()[segStart:]); err != nil {
		return "", err
	}
	out := b.String()
	if hasQuery {
		out += "?" + query
	}
	return out, nil
}

// plainPath reports a path that normalisation leaves as it is (the common
// case, checked without allocating).
func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '%' || c == '\\' || c == '#' || c < 0x21 || c == 0x7f:
			return false
		case c == '/' && i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.'):
			return false
		}
	}
	return true
}

func checkSegment(s string) error {
	if s == "." || s == ".." {
		return errPathDots
	}
	return nil
}

const upperHex = "0123456789ABCDEF"

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unreserved is RFC 3986 §2.3.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
