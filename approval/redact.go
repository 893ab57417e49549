package approval

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Limits of the approver's view of the arguments.
const (
	maxViewString = 200
	maxViewBytes  = 8 << 10
)

var sensitiveKeys = []string{"password", "passwd", "secret", "token", "apikey", "api_key", "authorization", "cookie", "private", "credential", "key"}

// RedactArguments is the default approver view of the arguments: the
// structure, numbers and booleans as they are; values under keys that name
// credentials replaced; long strings cut. The gateway runs the detection
// engine's redaction first, so detected personal data and secrets are
// masked wherever they appear.
func RedactArguments(args []byte) []byte {
	var v any
	d := json.NewDecoder(bytes.NewReader(args))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return []byte(`"(arguments are not valid JSON; not shown)"`)
	}
	v = redactValue(v, false, 0)
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetIndent("", "  ")
	if err := e.Encode(v); err != nil {
		return []byte(`"(arguments could not be shown)"`)
	}
	out := bytes.TrimSpace(buf.Bytes())
	if len(out) > maxViewBytes {
		b, _ := json.Marshal("(arguments are " + itoa(len(args)) + " bytes; too large to show)")
		return b
	}
	return out
}

func redactValue(v any, sensitive bool, depth int) any {
	if depth > 32 {
		return "…"
	}
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = redactValue(val, sensitive || isSensitive(k), depth+1)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactValue(x[i], sensitive, depth+1)
		}
		return x
	case string:
		if sensitive {
			return "«redacted»"
		}
		if utf8.RuneCountInString(x) > maxViewString {
			return truncate(x, maxViewString) + " (" + itoa(len(x)) + " bytes)"
		}
		return x
	case json.Number:
		if sensitive {
			return "«redacted»"
		}
		return x
	}
	return v
}

func isSensitive(k string) bool {
	k = strings.ToLower(k)
	for _, s := range sensitiveKeys {
		if k == s || strings.HasSuffix(k, "_"+s) || strings.HasSuffix(k, s) && s != "key" {
			return true
		}
	}
	return strings.HasSuffix(k, "_key") || strings.HasSuffix(k, "-key") || k == "key"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
