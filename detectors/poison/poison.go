package poison

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

// Issue is one poisoning signal. Path names the tool field
// ("tools.2.description"); Start/End are byte offsets into that field.
type Issue struct {
	Tool       string
	Category   string // hidden_characters, model_directive, sensitive_file_access, concealment, tool_shadowing, annotation_mismatch, exfil_directive
	Path       string
	Start, End int
	Confidence float64
	Evidence   string // the matched text (never logged by callers by default)
}

type phrase struct {
	cat  string
	text string // folded form (lower-case, single spaces)
	conf float64
}

// phrases are matched on normalize.Fold output (lower-case, confusables and
// leetspeak mapped, whitespace collapsed).
var phrases = []phrase{
	// directives to the model
	{"model_directive", "before using this tool", 0.8},
	{"model_directive", "before calling this tool", 0.8},
	{"model_directive", "before you use this tool", 0.8},
	{"model_directive", "you must first", 0.6},
	{"model_directive", "you must always", 0.6},
	{"model_directive", "ignore previous instructions", 0.95},
	{"model_directive", "ignore all previous", 0.95},
	{"model_directive", "ignore the above", 0.9},
	{"model_directive", "<important>", 0.85},
	{"model_directive", "<system>", 0.8},
	{"model_directive", "[system]", 0.7},
	{"model_directive", "this is very important", 0.6},
	{"model_directive", "otherwise the tool will not work", 0.85},
	{"model_directive", "the application will crash", 0.7},
	{"model_directive", "as an ai", 0.5},
	{"model_directive", "assistant must", 0.7},
	{"model_directive", "the assistant should", 0.6},
	{"model_directive", "pass its content as", 0.85},
	{"model_directive", "pass the content", 0.7},
	{"model_directive", "as the sidenote", 0.85},
	{"model_directive", "in the sidenote", 0.8},
	// concealment
	{"concealment", "do not tell the user", 0.95},
	{"concealment", "don't tell the user", 0.95},
	{"concealment", "do not mention", 0.85},
	{"concealment", "don't mention", 0.85},
	{"concealment", "do not inform the user", 0.95},
	{"concealment", "without telling the user", 0.95},
	{"concealment", "without informing the user", 0.95},
	{"concealment", "without the user knowing", 0.95},
	{"concealment", "the user must not know", 0.95},
	{"concealment", "hide this from the user", 0.95},
	{"concealment", "keep this secret", 0.8},
	{"concealment", "do not reveal", 0.8},
	{"concealment", "silently", 0.5},
	{"concealment", "not visible to the user", 0.85},
	// sensitive files / secrets
	{"sensitive_file_access", "~/.ssh", 0.95},
	{"sensitive_file_access", "id_rsa", 0.95},
	{"sensitive_file_access", "id_ed25519", 0.95},
	{"sensitive_file_access", ".aws/credentials", 0.95},
	{"sensitive_file_access", "~/.cursor/mcp.json", 0.95},
	{"sensitive_file_access", "mcp.json", 0.6},
	{"sensitive_file_access", "/etc/passwd", 0.9},
	{"sensitive_file_access", "/etc/shadow", 0.95},
	{"sensitive_file_access", ".env file", 0.7},
	{"sensitive_file_access", "~/.netrc", 0.9},
	{"sensitive_file_access", ".kube/config", 0.9},
	{"sensitive_file_access", "private key", 0.6},
	{"sensitive_file_access", "api key", 0.45},
	// exfiltration directives
	{"exfil_directive", "send the contents", 0.7},
	{"exfil_directive", "send it to", 0.5},
	{"exfil_directive", "upload the", 0.5},
	{"exfil_directive", "bcc", 0.6},
	{"exfil_directive", "forward all", 0.7},
	{"exfil_directive", "include the conversation", 0.8},
	{"exfil_directive", "conversation history", 0.7},
	{"exfil_directive", "system prompt", 0.7},
}

// shadowing: the description talks about how *another* tool must behave.
var shadowPhrases = []string{"when the ", "whenever the ", "if the ", "instead of the ", "all emails", "any other tool", "other tools", "every tool", "all tools", "tool is called", "tool is used", "tool is invoked"}

var destructiveWords = []string{"delete", "deletes", "remove", "removes", "erase", "overwrite", "overwrites", "drop ", "truncate", "wipe", "destroy", "kill", "format the", "rm -rf"}
var sendingWords = []string{"send", "sends", "upload", "uploads", "post to", "posts to", "email", "transmit", "forward", "publish", "write to", "writes to", "modif", "update", "create"}

const maxDoc = 8 << 20

// Scan inspects a tools/list result. It accepts the result object
// ({"tools":[...]}), a full JSON-RPC response ({"result":{"tools":[...]}}),
// or a bare array of tools.
func Scan(raw []byte) ([]Issue, error) {
	if len(raw) > maxDoc {
		return nil, fmt.Errorf("poison: tools/list result too large (%d bytes)", len(raw))
	}
	if _, err := jsonwalk.Walk(raw, jsonwalk.Limits{MaxDepth: 64}); err != nil {
		return nil, fmt.Errorf("poison: %w", err)
	}
	doc := gjson.ParseBytes(raw)
	tools, prefix := doc.Get("tools"), "tools"
	if !tools.Exists() {
		tools, prefix = doc.Get("result.tools"), "result.tools"
	}
	if !tools.Exists() && doc.IsArray() {
		tools, prefix = doc, ""
	}
	if !tools.IsArray() {
		return nil, fmt.Errorf("poison: no tools array")
	}
	var names []string
	tools.ForEach(func(_, t gjson.Result) bool {
		if n := t.Get("name").String(); n != "" {
			names = append(names, n)
		}
		return true
	})
	var out []Issue
	i := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		base := fmt.Sprintf("%d", i)
		if prefix != "" {
			base = prefix + "." + base
		}
		out = append(out, scanTool(t, base, names)...)
		i++
		return i < 10000
	})
	return out, nil
}

func scanTool(t gjson.Result, base string, names []string) []Issue {
	name := t.Get("name").String()
	var out []Issue
	// Every string in the tool (name, title, description, schema texts).
	var walk func(r gjson.Result, path string, depth int)
	walk = func(r gjson.Result, path string, depth int) {
		if depth > 32 {
			return
		}
		switch {
		case r.IsObject() || r.IsArray():
			r.ForEach(func(k, v gjson.Result) bool {
				walk(v, path+"."+k.String(), depth+1)
				return true
			})
		case r.Type == gjson.String:
			out = append(out, scanText(name, path, r.String(), names)...)
		}
	}
	walk(t, base, 0)
	// Hidden characters in the name are always suspicious.
	if n := name; n != "" {
		if v := normalize.Normalize(n); v.Invisible > 0 {
			out = append(out, Issue{Tool: name, Category: "hidden_characters", Path: base + ".name", End: len(n), Confidence: 0.9, Evidence: n})
		}
	}
	// Annotation mismatch.
	desc := strings.ToLower(t.Get("description").String())
	ro := t.Get("annotations.readOnlyHint").Bool()
	destructiveFalse := t.Get("annotations.destructiveHint").Exists() && !t.Get("annotations.destructiveHint").Bool()
	if ro || destructiveFalse {
		words := destructiveWords
		if ro {
			words = append(words[:len(words):len(words)], sendingWords...)
		}
		for _, w := range words {
			if k := indexWord(desc, w); k >= 0 {
				hint := "readOnlyHint=true"
				if !ro {
					hint = "destructiveHint=false"
				}
				out = append(out, Issue{Tool: name, Category: "annotation_mismatch", Path: base + ".description", Start: k, End: k + len(w),
					Confidence: 0.75, Evidence: hint + " but description says " + strings.TrimSpace(w)})
				break
			}
		}
	}
	return out
}

// indexWord finds w in s at a word start.
func indexWord(s, w string) int {
	from := 0
	for {
		k := strings.Index(s[from:], w)
		if k < 0 {
			return -1
		}
		p := from + k
		if p == 0 || !isLetter(s[p-1]) {
			return p
		}
		from = p + 1
	}
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_' }

func scanText(tool, path, s string, names []string) []Issue {
	var out []Issue
	v := normalize.Normalize(s)
	if v.Invisible > 0 {
		out = append(out, Issue{Tool: tool, Category: "hidden_characters", Path: path, End: len(s), Confidence: min(0.95, 0.6+0.05*float64(v.Invisible)),
			Evidence: strings.Join(v.Signals, ",")})
	}
	folded := v.Folded
	texts := append([]string{folded}, v.Decoded...)
	seen := map[string]bool{}
	for ti, f := range texts {
		for _, p := range phrases {
			k := strings.Index(f, p.text)
			if k < 0 || seen[p.cat+p.text] {
				continue
			}
			seen[p.cat+p.text] = true
			st, en := locate(s, f, k, len(p.text))
			c := p.conf
			if ti > 0 {
				c = min(0.95, c+0.1) // hidden behind an encoding
			}
			out = append(out, Issue{Tool: tool, Category: p.cat, Path: path, Start: st, End: en, Confidence: c, Evidence: p.text})
		}
	}
	// Shadowing: mentions another tool's name together with a directive cue.
	for _, n := range names {
		if n == tool || len(n) < 3 {
			continue
		}
		ln := strings.ToLower(n)
		k := strings.Index(folded, ln)
		if k < 0 {
			k = strings.Index(folded, strings.ReplaceAll(ln, "_", " "))
		}
		if k < 0 {
			continue
		}
		win := folded[max(0, k-60):min(len(folded), k+len(ln)+80)]
		for _, sp := range shadowPhrases {
			if strings.Contains(win, sp) {
				st, en := locate(s, folded, k, len(ln))
				out = append(out, Issue{Tool: tool, Category: "tool_shadowing", Path: path, Start: st, End: en, Confidence: 0.8, Evidence: "references tool " + n})
				break
			}
		}
	}
	{
		for _, sp := range []string{"any other tool", "all other tools", "every other tool", "other tools must", "all tools must"} {
			if k := strings.Index(folded, sp); k >= 0 {
				st, en := locate(s, folded, k, len(sp))
				out = append(out, Issue{Tool: tool, Category: "tool_shadowing", Path: path, Start: st, End: en, Confidence: 0.7, Evidence: sp})
				break
			}
		}
	}
	return out
}

// locate maps a span found in the folded text back to the original: when the
// folded text is the original lower-cased (same length), offsets carry over;
// otherwise the whole field is reported.
func locate(orig, folded string, k, n int) (int, int) {
	if len(orig) == len(folded) && k+n <= len(orig) && utf8.ValidString(orig) {
		return k, k + n
	}
	return 0, len(orig)
}
