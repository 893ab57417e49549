package injection

import (
	"strings"
)

const (
	maxHidden    = 4 << 10 // total bytes of hidden content scored per text
	maxHiddenOne = 1 << 10
)

var markupKeys = []string{
	"<!--",
	"display:none", "display: none", "visibility:hidden", "visibility: hidden",
	"font-size:0", "font-size: 0", "opacity:0;", "opacity: 0;", "opacity:0\"", "opacity: 0\"",
	"color:#fff", "color: #fff", "color:white", "color: white", "color:transparent", "color: transparent",
	"![", "](http",
}

const (
	mkComment = 0
	mkImage   = 17
	mkLink    = 18
)

// markupFindings is what the markup layer saw in the original text.
type markupFindings struct {
	hidden       []string // hidden texts (comments, hidden elements)
	comment      bool
	hiddenElem   bool
	exfilURL     bool
	exfilIsImage bool
}

func (d *Detector) markup(s string) markupFindings {
	var f markupFindings
	budget := maxHidden
	lastEnd := -1
	work := len(s)
	defer func() { d.steps.add(work) }()
	d.mk.scan(s, func(p, end int) bool {
		work++
		if end <= lastEnd {
			return true
		}
		switch {
		case p == mkComment:
			rest := s[end:min(len(s), end+maxHiddenOne)]
			work += len(rest)
			if i := strings.Index(rest, "-->"); i >= 0 {
				rest = rest[:i]
			}
			rest = strings.TrimSpace(rest)
			if rest != "" && budget > 0 {
				rest = rest[:min(len(rest), budget)]
				budget -= len(rest)
				f.hidden = append(f.hidden, rest)
				f.comment = true
			}
			lastEnd = end + len(rest)
		case p == mkImage || p == mkLink:
			u, ok := markdownURL(s, end, p == mkImage)
			work += 3 * len(u) // the URL scan, the Index below, suspiciousQuery
			if p == mkImage {
				work += min(len(s)-end, 200) // the search for "]("
			}
			if ok {
				// hits inside this URL belong to it (its query is checked
				// whole): skipping them keeps the scan linear
				lastEnd = max(lastEnd, strings.Index(s[end:], u)+end+len(u)-1)
			}
			if ok && suspiciousQuery(u) {
				f.exfilURL = true
				f.exfilIsImage = f.exfilIsImage || p == mkImage
			}
		default: // a hiding style: take the element text after the tag closes
			rest := s[end:min(len(s), end+300)]
			work += len(rest)
			gt := strings.IndexByte(rest, '>')
			if gt < 0 {
				return true
			}
			body := s[end+gt+1 : min(len(s), end+gt+1+maxHiddenOne)]
			if lt := strings.IndexByte(body, '<'); lt >= 0 {
				body = body[:lt]
			}
			body = strings.TrimSpace(body)
			if body != "" && budget > 0 {
				body = body[:min(len(body), budget)]
				budget -= len(body)
				f.hidden = append(f.hidden, body)
				f.hiddenElem = true
			}
			lastEnd = end + gt + 1 + len(body)
		}
		return true
	})
	return f
}

// markdownURL extracts the URL of a markdown image or link whose "![" or
// "](http" ends at end.
func markdownURL(s string, end int, image bool) (string, bool) {
	i := end
	if image {
		rest := s[end:min(len(s), end+200)]
		j := strings.Index(rest, "](")
		if j < 0 {
			return "", false
		}
		i = end + j + 2
	} else {
		i = end - 4 // back to "http"
	}
	stop := min(len(s), i+2048)
	j := i
	for j < stop && s[j] != ')' && s[j] != ' ' && s[j] != '\n' && s[j] != '"' {
		j++
	}
	return s[i:j], j > i
}

// suspiciousQuery reports URLs whose query carries data: template
// placeholders, or a long encoded value.
func suspiciousQuery(u string) bool {
	q := strings.IndexByte(u, '?')
	if q < 0 {
		// data in the path as a placeholder
		return strings.ContainsAny(u, "{}<>[]$")
	}
	query := u[q+1:]
	if strings.ContainsAny(query, "{}<>[]$") {
		return true
	}
	up := strings.ToUpper(query)
	for _, w := range []string{"=DATA", "=SECRET", "=PASSWORD", "=CONVERSATION", "=HISTORY", "=INFO", "=SUMMARY", "=INSERT", "=USER"} {
		if strings.Contains(up, w) {
			return true
		}
	}
	for _, kv := range strings.Split(query, "&") {
		if eq := strings.IndexByte(kv, '='); eq >= 0 && len(kv)-eq-1 >= 48 {
			return true
		}
	}
	return false
}
