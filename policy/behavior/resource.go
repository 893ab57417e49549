package behavior

import (
	"strings"

	"github.com/tidwall/gjson"
)

// resourceKeys are argument names whose values name a resource, in the
// order they are tried.
var resourceKeys = [...]string{"path", "file", "filename", "file_path", "filepath", "dir", "directory", "uri", "url", "table", "database", "db", "collection", "bucket", "repo", "repository", "query", "sql"}

// ExtractResource derives a coarse resource identifier from a call's raw
// JSON arguments, used to learn which resources an agent normally touches:
//
//	{"path":"/srv/public/a/b.txt"} → "path:/srv/public"
//	{"url":"https://api.example.com/x"} → "url:https://api.example.com"
//	{"table":"Users"} → "table:users"
//	{"query":"SELECT * FROM billing.cards"} → "table:billing.cards"
//
// It returns "" when nothing looks like a resource. It never panics, for any
// input.
func ExtractResource(args []byte) string {
	r, _ := extractResource(args)
	return r
}

// extractResource also reports whether the full value names a system or
// credential location (/etc, ~/.ssh, .env, …).
func extractResource(args []byte) (string, bool) {
	if len(args) == 0 || !gjson.ValidBytes(args) {
		return "", false
	}
	root := gjson.ParseBytes(args)
	if !root.IsObject() {
		return "", false
	}
	for _, k := range resourceKeys {
		v := root.Get(k)
		if v.Type != gjson.String || v.Str == "" {
			continue
		}
		if r := resourceOf(k, v.Str); r != "" {
			return r, strings.HasPrefix(r, "path:") && sensitivePath(strings.ToLower(strings.ReplaceAll(v.Str, "\\", "/")))
		}
	}
	return "", false
}

func resourceOf(key, v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 1024 {
		v = v[:1024]
	}
	switch key {
	case "uri", "url":
		if i := strings.Index(v, "://"); i > 0 {
			scheme := strings.ToLower(v[:i])
			rest := v[i+3:]
			if scheme == "file" {
				return pathPrefix(rest)
			}
			if j := strings.IndexAny(rest, "/?#"); j >= 0 {
				rest = rest[:j]
			}
			return "url:" + scheme + "://" + strings.ToLower(rest)
		}
		return pathPrefix(v)
	case "table", "database", "db", "collection", "bucket", "repo", "repository":
		return key2kind(key) + ":" + strings.ToLower(clip(v, 128))
	case "query", "sql":
		if t := sqlTable(v); t != "" {
			return "table:" + t
		}
		return ""
	default:
		return pathPrefix(v)
	}
}

func key2kind(k string) string {
	switch k {
	case "database", "db":
		return "db"
	case "repo", "repository":
		return "repo"
	}
	return k
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// pathPrefix keeps the first two segments of a path: /srv/public/x →
// path:/srv/public, C:\Users\a\b → path:c:/users/a.
func pathPrefix(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	abs := strings.HasPrefix(p, "/")
	segs := make([]string, 0, 2)
	for s := range strings.SplitSeq(p, "/") {
		if s == "" || s == "." {
			continue
		}
		segs = append(segs, clip(s, 64))
		if len(segs) == 2 {
			break
		}
	}
	if len(segs) == 0 {
		if abs {
			return "path:/"
		}
		return ""
	}
	// A bare file name names no directory; keep it relative.
	out := strings.Join(segs, "/")
	if abs {
		out = "/" + out
	}
	return "path:" + strings.ToLower(out)
}

// sqlTable returns the first table after FROM, INTO, UPDATE, JOIN or TABLE.
func sqlTable(q string) string {
	q = clip(q, 4096)
	fields := strings.Fields(q)
	for i := 0; i+1 < len(fields); i++ {
		switch strings.ToLower(fields[i]) {
		case "from", "into", "update", "join", "table":
			if strings.HasPrefix(fields[i+1], "(") {
				continue // subquery
			}
			t := strings.Trim(fields[i+1], "`\"[]();,")
			if t == "" {
				continue
			}
			return strings.ToLower(clip(t, 128))
		}
	}
	return ""
}

// sensitivePath reports paths that are system or credential locations.
func sensitivePath(r string) bool {
	r = strings.TrimPrefix(strings.TrimPrefix(r, "file://"), "path:")
	for _, p := range [...]string{"/etc", "/root", "/proc", "/var/run/secrets", "/boot", "/sys"} {
		if r == p || strings.HasPrefix(r, p+"/") {
			return true
		}
	}
	return strings.Contains(r, "/.ssh") || strings.Contains(r, "/.aws") || strings.Contains(r, ".env") || strings.Contains(r, "/.kube") || strings.Contains(r, "/.gnupg")
}
