package secrets

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Match is one secret: byte span [Start,End) of the secret value.
type Match struct {
	Rule       string
	Start, End int
	Confidence float64
}

// ruleSpec is a rule's source form (generated from gitleaks or hand-written).
type ruleSpec struct {
	id        string
	pattern   string
	group     int     // capture group holding the secret; 0 = first non-empty group, else the whole match
	entropy   float64 // minimum Shannon entropy (bits/byte) of the secret; 0 = none
	keywords  []string
	allow     []string // "s:<re>" tested on the secret, "m:<re>" on the whole match
	stopwords []string
	conf      float64 // default 0.9
	after     int     // window bytes after a keyword hit; default 640
}

type rule struct {
	ruleSpec
	assign     bool // keyword must be followed by an assignment (gitleaks' key = value idiom)
	once       sync.Once
	re         *regexp.Regexp
	anchored   bool // pattern starts with gitleaks' optional identifier prefix: run re anchored at each keyword hit
	allowS     []*regexp.Regexp
	allowM     []*regexp.Regexp
	compileErr error
	before     int
}

// compile builds the regexps on first use so start-up stays cheap.
func (ru *rule) compile() bool {
	ru.once.Do(func() {
		pat := ru.pattern
		if ru.anchored {
			// "(?i)[\w.-]{0,50}?(?:kw...)..." -> "(?i)^(?:kw...)...": the
			// identifier prefix is optional, so anchoring at the keyword
			// finds the same secrets without an unanchored NFA scan.
			pat = "(?i)^" + strings.TrimPrefix(pat, identPrefix)
		}
		ru.re, ru.compileErr = regexp.Compile(pat)
		for _, a := range ru.allow {
			re, err := regexp.Compile(a[2:])
			if err != nil {
				continue
			}
			if strings.HasPrefix(a, "m:") {
				ru.allowM = append(ru.allowM, re)
			} else {
				ru.allowS = append(ru.allowS, re)
			}
		}
	})
	return ru.compileErr == nil
}

// custom rules add to or override gitleaks rules (same id = override).
var custom = []ruleSpec{
	// gitleaks' private-key needs a window long enough for a whole PEM block.
	{id: "private-key", keywords: []string{"-----begin"}, pattern: `(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S-]{64,}?KEY(?: BLOCK)?-----`, conf: 1.0, after: 16 << 10},
	{id: "aws-secret-access-key", keywords: []string{"aws"}, pattern: `(?i)aws.{0,20}?(?:secret|private)?.{0,10}?(?:key|token).{0,10}?['"]?\s{0,3}[:=]{1,2}\s{0,3}['"]?([A-Za-z0-9/+=]{40})(?:['"\s,;]|$)`, group: 1, entropy: 3.5},
	{id: "connection-string", keywords: []string{"postgres://", "postgresql://", "mysql://", "mongodb://", "mongodb+srv://", "redis://", "rediss://", "amqp://", "amqps://", "mssql://", "sqlserver://", "ftp://", "ldap://", "smtp://", "https://", "http://"},
		pattern: `(?i)\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|ftp|ldap|smtp|https?)://[^\s:/@'"]{1,64}:([^\s@/'"]{3,128})@[^\s/'"]+`, group: 1},
	{id: "connection-string-password", keywords: []string{"password="}, pattern: `(?i)\b(?:server|host|data source)=[^;'"]{1,128};(?:[^;'"]{1,128};){0,6}?\s*password=([^;'"\s]{3,128})`, group: 1},
}

const identPrefix = `(?i)[\w.-]{0,50}?`

// generic marks rules whose values get the placeholder and mixed-class checks.
var generic = map[string]bool{"generic-api-key": true, "connection-string": true, "connection-string-password": true}

var rules = func() []*rule {
	byID := map[string]int{}
	var out []*rule
	add := func(sp ruleSpec) {
		if sp.conf == 0 {
			sp.conf = 0.9
		}
		if sp.id == "generic-api-key" {
			sp.conf = 0.7
		}
		if sp.after == 0 {
			sp.after = 320
			// unbounded or very long tokens get a long window
			if strings.Contains(sp.pattern, ",}") || strings.Contains(sp.pattern, "{250") || strings.Contains(sp.pattern, ",1000}") {
				sp.after = 4096
			}
		}
		ru := &rule{ruleSpec: sp, before: 64, anchored: strings.HasPrefix(sp.pattern, identPrefix)}
		ru.assign = strings.Contains(sp.pattern, `(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)`)
		if i, ok := byID[sp.id]; ok {
			out[i] = ru
			return
		}
		byID[sp.id] = len(out)
		out = append(out, ru)
	}
	for _, sp := range gitleaksRules {
		add(sp)
	}
	for _, sp := range custom {
		add(sp)
	}
	return out
}()

var globalAllow = func() []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range gitleaksAllowRegexes {
		if re, err := regexp.Compile(p); err == nil {
			out = append(out, re)
		}
	}
	return out
}()

var placeholders = []string{"example", "xxxxx", "changeme", "placeholder", "your_", "your-", "<", "${", "{{", "redacted", "dummy", "sample", "000000", "123456", "abcdef", "*****", "test_key", "undefined", "null", "true", "false", "none"}

// prefilter: two-byte prefix table -> keyword indexes.
type kw struct {
	text string
	rule int
}

var (
	pairIdx    [65536]uint16 // two-byte prefix -> 1 + index into pairGroups (0 = none)
	pairBits   [65536 / 64]uint64
	pairGroups [][]kw
	// pairThird screens a pair hit by the byte after it: per group, the
	// lower-cased third bytes of its keywords (bit 256: a two-byte keyword,
	// which needs no third byte). Most pair hits in prose ("ke", "to",
	// "pa") end here, before any keyword is compared.
	pairThird [][5]uint64
	lowerTab  [256]byte
)

func init() {
	for c := range lowerTab {
		lowerTab[c] = lowerByte(byte(c))
	}
	for i, ru := range rules {
		for _, k := range ru.keywords {
			if len(k) < 2 {
				continue
			}
			p := uint16(k[0])<<8 | uint16(k[1])
			if pairIdx[p] == 0 {
				pairGroups = append(pairGroups, nil)
				pairIdx[p] = uint16(len(pairGroups))
			}
			g := pairIdx[p] - 1
			pairGroups[g] = append(pairGroups[g], kw{k, i})
			pairBits[p>>6] |= 1 << (p & 63)
			for len(pairThird) <= int(g) {
				pairThird = append(pairThird, [5]uint64{})
			}
			third := 256 // keywords are lower-case: k[2] is what lowerTab gives
			if len(k) > 2 {
				third = int(k[2])
			}
			pairThird[g][third>>6] |= 1 << (third & 63)
		}
	}
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 32
	}
	return c
}

const (
	maxInput = 4 << 20
	// maxWindowsPerRule bounds regexp runs per rule and call: a text with
	// more keyword hits for one rule (a flood of "password=") is examined
	// at its first 128 hits only; that is already a bulk-secrets signal.
	maxWindowsPerRule = 128
)

// Find returns the secrets in s.
func Find(s string) []Match { return find(s, 1.0) }

// FindDecoded is Find for text produced by decoding (base64, URL...): the
// same rules, returned with the same confidences; callers discount.
func FindDecoded(s string) []Match { return find(s, 1.0) }

type window struct{ a, b int }

func find(s string, scale float64) []Match {
	if len(s) > maxInput {
		s = s[:maxInput]
	}
	if len(s) < 8 {
		return nil
	}
	// keyword windows per rule index; the regexps then run in rule order, so
	// ties between rules that match the same span resolve the same way on
	// every call (a map here made them depend on iteration order).
	var wins map[int][]window
	prev := lowerTab[s[0]]
	for i := 0; i+1 < len(s); i++ {
		cur := lowerTab[s[i+1]]
		p := uint16(prev)<<8 | uint16(cur)
		prev = cur
		if pairBits[p>>6]&(1<<(p&63)) == 0 {
			continue // the common case: one load from an 8 KiB bitset
		}
		g := pairIdx[p]
		if th := &pairThird[g-1]; th[4]&1 == 0 {
			if i+2 >= len(s) {
				continue
			}
			if c := lowerTab[s[i+2]]; th[c>>6]&(1<<(c&63)) == 0 {
				continue
			}
		}
		for _, k := range pairGroups[g-1] {
			if !hasPrefixFold(s[i:], k.text) {
				continue
			}
			ru := rules[k.rule]
			if ru.assign && !assignAfter(s, i+len(k.text), ru.anchored) {
				continue
			}
			if len(k.text) <= 2 && !tokenAfter(s, i+len(k.text)) {
				continue
			}
			if ru.id == "connection-string" && !userinfoAfter(s, i+len(k.text)) {
				continue
			}
			a, b := max(0, i-ru.before), min(len(s), i+len(k.text)+ru.after)
			if ru.anchored {
				a = i
			}
			for a > 0 && !utf8.RuneStart(s[a]) {
				a--
			}
			if wins == nil {
				wins = map[int][]window{}
			}
			w := wins[k.rule]
			if len(w) >= maxWindowsPerRule {
				continue // budget: adversarial keyword floods stay bounded
			}
			if n := len(w); n > 0 && !ru.anchored && a <= w[n-1].b {
				w[n-1].b = max(w[n-1].b, b)
			} else {
				w = append(w, window{a, b})
			}
			wins[k.rule] = w
		}
	}
	if wins == nil {
		return nil
	}
	order := make([]int, 0, len(wins))
	for ri := range wins {
		order = append(order, ri)
	}
	slices.Sort(order)
	var out []Match
	for _, ri := range order {
		ws := wins[ri]
		ru := rules[ri]
		if !ru.compile() {
			continue
		}
		for _, w := range ws {
			var locs [][]int
			if ru.anchored {
				if loc := ru.re.FindStringSubmatchIndex(s[w.a:w.b]); loc != nil {
					locs = [][]int{loc}
				}
			} else {
				locs = ru.re.FindAllStringSubmatchIndex(s[w.a:w.b], -1)
			}
			for _, loc := range locs {
				st, en := secretSpan(loc, ru.group)
				val := s[w.a+st : w.a+en]
				ms := w.a + loc[0]
				if ru.anchored { // restore the identifier prefix for match-target allowlists
					for k := 0; k < 50 && ms > 0 && isWordDot(s[ms-1]); k++ {
						ms--
					}
				}
				if !ru.accept(val, s[ms:w.a+loc[1]]) {
					continue
				}
				out = append(out, Match{Rule: ru.id, Start: w.a + st, End: w.a + en, Confidence: ru.conf * scale})
			}
		}
	}
	return resolve(out)
}

// assignAfter mirrors gitleaks' "identifier tail then operator" idiom:
// [ \t\w.-]{0,20} then up to 3 spaces/quotes then one of = > : , | ?=.
// For a rule anchored at its keyword, a lone '|' (a markdown table cell
// border after "token") is rejected: the only operator starting with '|' is
// "||", and no other operator position is reachable (TestAssignAfterSound).
func assignAfter(s string, i int, anchored bool) bool {
	j, lim := i, min(len(s), i+20)
	for j < lim && isIdent(s[j]) {
		j++
	}
	for k := 0; k < 3 && j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\'' || s[j] == '"' || s[j] == '\n' || s[j] == '\r'); k++ {
		j++
	}
	if j >= len(s) {
		return false
	}
	switch s[j] {
	case '=', '>', ':', ',':
		return true
	case '|':
		return !anchored || (j+1 < len(s) && s[j+1] == '|')
	case '?':
		return j+1 < len(s) && s[j+1] == '='
	}
	return false
}

func isWordDot(c byte) bool {
	return c == '.' || c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdent(c byte) bool {
	return c == ' ' || c == '\t' || c == '.' || c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// userinfoAfter: a URL keyword ("https://") only matters for the
// connection-string rule when user:password@ follows before any space or '/'.
func userinfoAfter(s string, i int) bool {
	colon := false
	for j := i; j < len(s) && j-i < 200; j++ {
		switch s[j] {
		case ':':
			colon = true
		case '@':
			return colon
		case ' ', '\t', '\n', '\r', '/', '"', '\'':
			return false
		}
	}
	return false
}

// tokenAfter: a 1-2 byte keyword (gitleaks "ey", "sk", "s.") only counts
// when at least 16 token characters follow it directly.
func tokenAfter(s string, i int) bool {
	n := 0
	for j := i; j < len(s) && n < 16; j++ {
		c := s[j]
		if !(('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_' || c == '-' || c == '.' || c == '~') {
			break
		}
		n++
	}
	return n >= 16
}

// secretSpan picks the secret's span from a submatch index: the rule's
// group, else the first non-empty group, else the whole match (gitleaks semantics).
func secretSpan(loc []int, group int) (int, int) {
	if group > 0 && 2*group+1 < len(loc) && loc[2*group] >= 0 {
		return loc[2*group], loc[2*group+1]
	}
	if group == 0 {
		for g := 1; 2*g+1 < len(loc); g++ {
			if loc[2*g] >= 0 && loc[2*g+1] > loc[2*g] {
				return loc[2*g], loc[2*g+1]
			}
		}
	}
	return loc[0], loc[1]
}

func (ru *rule) accept(val, match string) bool {
	if val == "" || (ru.entropy > 0 && Entropy(val) < ru.entropy) {
		return false
	}
	for _, re := range ru.allowS {
		if re.MatchString(val) {
			return false
		}
	}
	for _, re := range ru.allowM {
		if re.MatchString(match) {
			return false
		}
	}
	if len(ru.stopwords) > 0 {
		l := strings.ToLower(val)
		for _, w := range ru.stopwords {
			if strings.Contains(l, w) {
				return false
			}
		}
	}
	for _, re := range globalAllow {
		if re.MatchString(val) {
			return false
		}
	}
	if generic[ru.id] && isPlaceholder(val) {
		return false
	}
	return true
}

func hasPrefixFold(s, lowerPrefix string) bool {
	if len(s) < len(lowerPrefix) {
		return false
	}
	for i := 0; i < len(lowerPrefix); i++ {
		if lowerByte(s[i]) != lowerPrefix[i] {
			return false
		}
	}
	return true
}

func isPlaceholder(v string) bool {
	l := strings.ToLower(v)
	for _, p := range placeholders {
		if strings.Contains(l, p) {
			return true
		}
	}
	return false
}

// mixed requires a generic secret to contain a digit and a letter (drops
// words and identifiers such as "password: getPasswordFromEnv").
func mixed(v string) bool {
	var d, a bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case '0' <= c && c <= '9':
			d = true
		case ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'):
			a = true
		}
	}
	return d && a
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

// resolve keeps the highest-confidence of overlapping matches.
func resolve(in []Match) []Match {
	slices.SortStableFunc(in, func(a, b Match) int {
		if a.Confidence != b.Confidence {
			if a.Confidence > b.Confidence {
				return -1
			}
			return 1
		}
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return (b.End - b.Start) - (a.End - a.Start)
	})
	var out []Match
	for _, m := range in {
		ok := true
		for _, k := range out {
			if m.Start < k.End && k.Start < m.End {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Match) int { return a.Start - b.Start })
	return out
}

// RuleIDs lists the supported rule ids.
func RuleIDs() []string {
	ids := make([]string, len(rules))
	for i, ru := range rules {
		ids[i] = ru.id
	}
	return ids
}
