package detectors

import (
	"fmt"
	"unicode/utf8"

	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
)

// StringLeaves returns every string leaf of a JSON document by path (the
// paths Finding.Path uses). It is a helper for tools (the CLI converts byte
// spans to character spans with it), not for the hot path.
func StringLeaves(raw []byte) (map[string]string, error) {
	res, err := jsonwalk.Walk(raw, jsonwalk.Limits{})
	if err != nil {
		return nil, fmt.Errorf("detectors: %w", err)
	}
	m := make(map[string]string, len(res.Leaves))
	for _, l := range res.Leaves {
		m[l.Path] = l.Value
	}
	for _, k := range res.Keys {
		m[k.Path+KeySuffix] = k.Value
	}
	return m, nil
}

// RuneSpan converts a byte span in s to character (rune) offsets; offsets
// inside a multi-byte character round down to its start.
func RuneSpan(s string, start, end int) (int, int) {
	start = max(0, min(start, len(s)))
	end = max(start, min(end, len(s)))
	rs := utf8.RuneCountInString(s[:start])
	return rs, rs + utf8.RuneCountInString(s[start:end])
}
