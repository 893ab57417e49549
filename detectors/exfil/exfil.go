package exfil

import (
	"math"
	"slices"
	"strings"
)

// Hit is one exfiltration signature: a byte span [Start,End) (0,0 for
// document-level bulk hits).
type Hit struct {
	Category   string
	Start, End int
	Confidence float64
}

// Thresholds (bytes / counts).
const (
	MinBlobBase64 = 512 // a base64 run at least this long is an encoded blob
	MinBlobHex    = 256
	MinURLValue   = 64 // query value / path segment this long and high-entropy is smuggling
	BulkEmails    = 10
	BulkCards     = 3
	BulkSSNs      = 3
	BulkSecrets   = 3
	BulkPIITotal  = 25
	maxInput      = 4 << 20
)

// byteClass marks base64 and hex alphabet bytes, so a run costs one table
// load per byte.
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if ('A' <= b && b <= 'Z') || ('a' <= b && b <= 'z') || ('0' <= b && b <= '9') || b == '+' || b == '/' || b == '-' || b == '_' || b == '=' {
			t[c] |= clB64
		}
		if ('0' <= b && b <= '9') || ('a' <= b && b <= 'f') || ('A' <= b && b <= 'F') {
			t[c] |= clHex
		}
	}
	return t
}()

const (
	clB64 = 1 << iota
	clHex
)

func isB64(c byte) bool { return byteClass[c]&clB64 != 0 }

func isHex(c byte) bool { return byteClass[c]&clHex != 0 }

// Scan finds encoded blobs and URL smuggling in s.
func Scan(s string) []Hit {
	if len(s) > maxInput {
		s = s[:maxInput]
	}
	var out []Hit
	// Encoded blobs: long runs of base64 / hex alphabet (line breaks inside
	// PEM-style base64 are joined).
	for i := 0; i < len(s); {
		if !isB64(s[i]) {
			i++
			continue
		}
		// Skip ahead: a run long enough to report (MinBlobHex bytes or
		// more) starting at i covers p. When p cannot be inside a run, no
		// run starting before p is long enough and the next candidate
		// starts after p; when it can, only the run holding p may be (the
		// runs before it lie within the MinBlobHex-1 bytes before p), so
		// the scan moves to that run's start. Prose costs a few probes
		// per MinBlobHex bytes.
		p := i + MinBlobHex - 1
		if p >= len(s) {
			break // the rest is too short to hold a blob
		}
		if !inRun(s, p) {
			i = p + 1
			continue
		}
		if q := runStart(s, i, p); q > i {
			i = q
			continue
		}
		j, allHex, n := i, true, 0
		for j < len(s) {
			c := byteClass[s[j]]
			if c&clB64 != 0 {
				n++
				allHex = allHex && c&clHex != 0
				j++
				continue
			}
			if (s[j] == '\n' || s[j] == '\r') && j+1 < len(s) && isB64(s[j+1]) {
				j++
				continue
			}
			break
		}
		if n < MinBlobHex {
			i = j // too short for either blob kind
			continue
		}
		run := s[i:j]
		switch {
		case allHex && n >= MinBlobHex && Entropy(run) > 3.0:
			out = append(out, Hit{"encoded_blob_hex", i, j, conf(n, MinBlobHex)})
		case !allHex && n >= MinBlobBase64 && Entropy(run) > 4.5 && hasClasses(run):
			out = append(out, Hit{"encoded_blob_base64", i, j, conf(n, MinBlobBase64)})
		}
		i = j
	}
	out = append(out, urls(s)...)
	slices.SortFunc(out, func(a, b Hit) int { return a.Start - b.Start })
	return out
}

// inRun reports whether s[k] can be part of a blob run: a base64 or hex
// alphabet byte, or a line break followed by one (PEM-style lines).
func inRun(s string, k int) bool {
	return isB64(s[k]) || ((s[k] == '\n' || s[k] == '\r') && k+1 < len(s) && isB64(s[k+1]))
}

// runStart is where the run holding p begins, not before lo.
func runStart(s string, lo, p int) int {
	for p > lo && inRun(s, p-1) {
		p--
	}
	return p
}

func conf(n, min int) float64 {
	return math.Min(0.95, 0.6+0.1*math.Log2(float64(n)/float64(min)+1))
}

// hasClasses: upper, lower and digits all present (plain words are not base64).
func hasClasses(s string) bool {
	var u, l, d bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		u = u || ('A' <= c && c <= 'Z')
		l = l || ('a' <= c && c <= 'z')
		d = d || ('0' <= c && c <= '9')
	}
	return u && l && d
}

func isURLChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '<' && c != '>' && c != '`' && c != ')' && c != ']' && c != '\\'
}

// urls finds http(s) URLs whose query values or path segments carry long
// high-entropy or encoded data.
func urls(s string) []Hit {
	var out []Hit
	from := 0
	for {
		k := strings.Index(s[from:], "http")
		if k < 0 {
			return out
		}
		st := from + k
		rest := s[st:]
		var after int
		switch {
		case strings.HasPrefix(rest, "https://"):
			after = 8
		case strings.HasPrefix(rest, "http://"):
			after = 7
		default:
			from = st + 4
			continue
		}
		en := st + after
		for en < len(s) && en-st < 8192 && isURLChar(s[en]) {
			en++
		}
		from = en
		if en-st-after < 40 {
			// no 40-byte host label and no 64-byte value fits
			continue
		}
		u := s[st:en]
		host := u[after:]
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		best := 0.0
		cat := ""
		// the non-empty parts between '/', '?', '&' and '#' (FieldsFunc
		// without its allocation)
		for tail := u[after+len(host):]; tail != ""; {
			k := strings.IndexAny(tail, "/?&#")
			part := tail
			if k >= 0 {
				part, tail = tail[:k], tail[k+1:]
			} else {
				tail = ""
			}
			if part == "" {
				continue
			}
			val := part
			if i := strings.IndexByte(part, '='); i >= 0 {
				val = part[i+1:]
			}
			if len(val) < MinURLValue {
				continue
			}
			e := Entropy(val)
			pct := strings.Count(val, "%")
			if e >= 4.0 || pct*3 >= len(val)/2 {
				c := math.Min(0.9, 0.55+float64(len(val))/1024)
				if c > best {
					best, cat = c, "url_smuggling"
				}
			}
		}
		// Long subdomain labels (DNS exfiltration style).
		for rest := host; ; {
			label, more, found := strings.Cut(rest, ".")
			if len(label) >= 40 && Entropy(label) >= 3.8 {
				best, cat = math.Max(best, 0.7), "url_smuggling"
			}
			if !found {
				break
			}
			rest = more
		}
		if cat != "" {
			// markdown image auto-fetch makes it worse: ![x](url)
			if st >= 2 && s[st-1] == '(' && s[st-2] == ']' && strings.LastIndex(s[max(0, st-200):st], "![") >= 0 {
				best = math.Min(0.95, best+0.15)
				cat = "markdown_image_exfil"
			}
			out = append(out, Hit{cat, st, en, best})
		}
	}
}

// Entropy is the Shannon entropy of s in bits per byte.
func Entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var cnt [256]int
	for i := 0; i < len(s); i++ {
		cnt[s[i]]++
	}
	h, n := 0.0, float64(len(s))
	for _, c := range cnt {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// Counter counts entity findings across one message for bulk-record
// detection.
type Counter struct{ n map[string]int }

// Add counts one finding of type typ (a PII entity type or "SECRET").
func (c *Counter) Add(typ string) {
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[typ]++
}

// Hits returns the bulk_records hits the counts imply.
func (c *Counter) Hits() []Hit {
	if c.n == nil {
		return nil
	}
	total := 0
	for _, v := range c.n {
		total += v
	}
	var out []Hit
	add := func(cat string, n, limit int) {
		if n >= limit {
			out = append(out, Hit{Category: cat, Confidence: math.Min(0.95, 0.6+0.1*float64(n)/float64(limit))})
		}
	}
	add("bulk_records_email", c.n["EMAIL_ADDRESS"], BulkEmails)
	add("bulk_records_card", c.n["CREDIT_CARD"], BulkCards)
	add("bulk_records_ssn", c.n["US_SSN"], BulkSSNs)
	add("bulk_secrets", c.n["SECRET"], BulkSecrets)
	if len(out) == 0 {
		add("bulk_records", total, BulkPIITotal)
	}
	return out
}
