package mcp

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Servers built on Go's encoding/json (mcp-go, the official Go SDK) match
// object keys to struct fields case-insensitively, with Unicode simple case
// folding ("ſ" is "s", the Kelvin sign is "k"). A key that the gateway reads
// as unknown can therefore be the field the server acts on. The validator
// refuses such keys where they decide what a message means.

// protocolFields are the JSON-RPC and MCP field names of protocol objects
// (the envelope, params, result, error and the structures below them that
// childRole names). A key there that folds to one of these names but is not
// spelled exactly like it is refused.
var protocolFields = []string{
	"jsonrpc", "id", "method", "params", "result", "error",
	"code", "message", "data",
	"name", "arguments", "_meta", "uri", "cursor", "nextCursor",
	"content", "contents", "structuredContent", "isError",
	"tools", "resources", "resourceTemplates", "prompts", "messages",
	"text", "type", "mimeType", "blob", "description", "title",
	"inputSchema", "outputSchema", "annotations",
	"protocolVersion", "capabilities", "clientInfo", "serverInfo", "instructions",
	"argument", "ref", "value", "completion", "values",
	"role", "uriTemplate", "requestedSchema", "action", "progressToken",
	"task", "level", "logger", "reason", "requestId",
	"resource", "version", "size", "icons",
	"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint",
}

// foldedProtocol maps the folded form of every protocol field to its exact
// spelling.
var foldedProtocol = func() map[string]string {
	m := make(map[string]string, len(protocolFields))
	for _, f := range protocolFields {
		m[string(appendFold(nil, []byte(f)))] = f
	}
	return m
}()

// appendFold appends the canonical fold of k: NFKC, then every rune mapped
// to the smallest rune of its simple case-folding orbit (ASCII letters
// become upper case), the same fold encoding/json uses for field names.
func appendFold(dst, k []byte) []byte {
	if !isASCII(k) {
		k = norm.NFKC.Bytes(k)
	}
	for i := 0; i < len(k); {
		c := k[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(k[i:])
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// foldRune returns the smallest rune of r's simple case-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiEqualFold compares two ASCII strings ignoring ASCII case.
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// foldEqual reports whether a and b have the same canonical fold.
func foldEqual(a, b []byte) bool {
	aa, ba := isASCII(a), isASCII(b)
	if aa && ba {
		return asciiEqualFold(a, b)
	}
	var x, y [64]byte
	return string(appendFold(x[:0], a)) == string(appendFold(y[:0], b))
}

// ProtocolFieldVariant reports the protocol field that key is a case or
// Unicode-normalisation variant of, or "" when key is either spelled exactly
// like a protocol field or unrelated to all of them. A tokenizer that
// replaces ValidateJSON must apply it to every protocol object (see
// childRole in validate.go).
func ProtocolFieldVariant(key []byte) string {
	var buf [64]byte
	if len(key) < 2 || len(key) > 4*len("resourceTemplates") {
		return "" // each rune of a field is at most 4 bytes before NFKC
	}
	f, ok := foldedProtocol[string(appendFold(buf[:0], key))]
	if !ok || f == string(key) {
		return ""
	}
	return f
}
