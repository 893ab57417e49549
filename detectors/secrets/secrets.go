package secrets

import (
	"math"
	"regexp"
	"slices"
	"strings"
)

// Match is one secret: byte span [Start,End) of the secret value.
type Match struct {
	Rule       string
	Start, End int
	Confidence float64
}

type rule struct {
	id       string
	keywords []string // lower-case; any occurrence triggers the rule's regexp on a window
	re       *regexp.Regexp
	group    int     // capture group holding the secret (0 = whole match)
	entropy  float64 // minimum Shannon entropy (bits/char) of the secret, 0 = none
	conf     float64
	before   int // window bytes before a keyword hit
	after    int // window bytes after a keyword hit
}

func r(id string, kws []string, pattern string, group int, entropy, conf float64) *rule {
	return &rule{id: id, keywords: kws, re: regexp.MustCompile(pattern), group: group, entropy: entropy, conf: conf, before: 96, after: 640}
}

// Rules follow gitleaks rule ids where a rule is a port.
var rules = []*rule{
	r("aws-access-token", []string{"akia", "asia", "abia", "acca", "a3t"}, `\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`, 1, 3.0, 0.95),
	r("aws-secret-access-key", []string{"aws"}, `(?i)aws.{0,20}?(?:secret|private)?.{0,10}?(?:key|token).{0,10}?['"]?\s{0,3}[:=]{1,2}\s{0,3}['"]?([A-Za-z0-9/+=]{40})(?:['"\s,;]|$)`, 1, 3.5, 0.9),
	r("github-pat", []string{"ghp_"}, `ghp_[0-9a-zA-Z]{36}`, 0, 3.0, 0.95),
	r("github-oauth", []string{"gho_"}, `gho_[0-9a-zA-Z]{36}`, 0, 3.0, 0.95),
	r("github-app-token", []string{"ghu_", "ghs_"}, `(?:ghu|ghs)_[0-9a-zA-Z]{36}`, 0, 3.0, 0.95),
	r("github-refresh-token", []string{"ghr_"}, `ghr_[0-9a-zA-Z]{36}`, 0, 3.0, 0.95),
	r("github-fine-grained-pat", []string{"github_pat_"}, `github_pat_\w{82}`, 0, 3.0, 0.95),
	r("gitlab-pat", []string{"glpat-"}, `glpat-[\w-]{20}`, 0, 3.0, 0.95),
	r("gitlab-ptt", []string{"glptt-"}, `glptt-[0-9a-f]{40}`, 0, 3.0, 0.95),
	r("gitlab-runner-authentication-token", []string{"glrt-"}, `glrt-[0-9a-zA-Z_\-]{20}`, 0, 3.0, 0.95),
	r("slack-bot-token", []string{"xoxb"}, `xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*`, 0, 0, 0.95),
	r("slack-user-token", []string{"xoxp", "xoxe"}, `xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}`, 0, 0, 0.95),
	r("slack-legacy-token", []string{"xoxa", "xoxo", "xoxs", "xoxr"}, `xox[aors]-(?:\d+-)+[a-z0-9]+`, 0, 0, 0.9),
	r("slack-app-token", []string{"xapp"}, `(?i)xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+`, 0, 0, 0.95),
	r("slack-webhook-url", []string{"hooks.slack.com"}, `(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}`, 0, 0, 0.95),
	r("stripe-access-token", []string{"sk_test", "sk_live", "sk_prod", "rk_test", "rk_live", "rk_prod"}, `\b((?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99})\b`, 1, 2.0, 0.95),
	r("gcp-api-key", []string{"aiza"}, `\b(AIza[\w-]{35})(?:[^\w-]|$)`, 1, 3.0, 0.95),
	r("private-key", []string{"-----begin"}, `(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S-]{64,}?KEY(?: BLOCK)?-----`, 0, 0, 1.0),
	r("jwt", []string{"eyj"}, `\b(ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9\/\\_-]{17,}\.(?:[a-zA-Z0-9\/\\_-]{10,}={0,2})?)(?:['"\s,;]|$)`, 1, 3.0, 0.85),
	r("openai-api-key", []string{"t3blbkfj"}, `\b(sk-(?:proj|svcacct|admin)-(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})T3BlbkFJ(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})\b|sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20})`, 1, 3.0, 0.95),
	r("anthropic-api-key", []string{"sk-ant-api03", "sk-ant-admin01"}, `\b(sk-ant-(?:api03|admin01)-[a-zA-Z0-9_\-]{93}AA)(?:[^\w-]|$)`, 1, 0, 0.95),
	r("npm-access-token", []string{"npm_"}, `(?i)\b(npm_[a-z0-9]{36})(?:[^\w-]|$)`, 1, 2.0, 0.9),
	r("pypi-upload-token", []string{"pypi-ageichlwas5vcmc"}, `pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}`, 0, 0, 0.95),
	r("sendgrid-api-token", []string{"sg."}, `\b(SG\.(?i)[a-z0-9=_\-\.]{66})(?:['"\s,;]|$)`, 1, 2.0, 0.9),
	r("shopify-token", []string{"shpat_", "shpca_", "shppa_", "shpss_"}, `shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`, 0, 0, 0.95),
	r("square-access-token", []string{"sq0atp-", "sq0csp-", "eaaa"}, `\b((?:EAAA|sq0atp-|sq0csp-)[\w-]{22,60})(?:[^\w-]|$)`, 1, 3.0, 0.85),
	r("telegram-bot-api-token", []string{":aa"}, `\b([0-9]{5,16}:AA[0-9A-Za-z_-]{33})(?:[^\w-]|$)`, 1, 0, 0.9),
	r("huggingface-access-token", []string{"hf_"}, `\b(hf_(?i:[a-z]{34}))(?:[^\w-]|$)`, 1, 3.0, 0.9),
	r("databricks-api-token", []string{"dapi"}, `\b(dapi[a-f0-9]{32}(?:-\d)?)(?:[^\w-]|$)`, 1, 3.0, 0.9),
	r("digitalocean-token", []string{"dop_v1_", "doo_v1_", "dor_v1_"}, `\b(do[opr]_v1_[a-f0-9]{64})(?:[^\w-]|$)`, 1, 3.0, 0.95),
	r("doppler-api-token", []string{"dp.pt."}, `dp\.pt\.(?i)[a-z0-9]{43}`, 0, 2.0, 0.95),
	r("dynatrace-api-token", []string{"dt0c01."}, `dt0c01\.(?i)[a-z0-9]{24}\.[a-z0-9]{64}`, 0, 0, 0.95),
	r("hashicorp-vault-token", []string{"hvs.", "hvb."}, `\b(hv[sb]\.[\w-]{90,120})(?:[^\w-]|$)`, 1, 3.0, 0.9),
	r("grafana-token", []string{"glc_", "glsa_"}, `\b(glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})(?:[^\w-]|$)`, 1, 3.0, 0.9),
	r("postman-api-token", []string{"pmak-"}, `\b(PMAK-(?i)[a-f0-9]{24}\-[a-f0-9]{34})(?:[^\w-]|$)`, 1, 3.0, 0.95),
	r("pulumi-api-token", []string{"pul-"}, `\b(pul-[a-f0-9]{40})(?:[^\w-]|$)`, 1, 2.0, 0.95),
	r("linear-api-key", []string{"lin_api_"}, `lin_api_(?i)[a-z0-9]{40}`, 0, 2.0, 0.95),
	r("new-relic-user-api-key", []string{"nrak-"}, `\b(NRAK-[a-z0-9]{27})(?:[^\w-]|$)`, 1, 2.0, 0.9),
	r("age-secret-key", []string{"age-secret-key-1"}, `AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`, 0, 0, 1.0),
	r("1password-service-account-token", []string{"ops_eyj"}, `ops_eyJ[a-zA-Z0-9+/]{250,}={0,3}`, 0, 3.0, 0.95),
	r("atlassian-api-token", []string{"atatt3"}, `\b(ATATT3[A-Za-z0-9_\-=]{186})(?:[^\w-]|$)`, 1, 3.0, 0.95),
	r("azure-storage-connection-string", []string{"accountkey="}, `(?i)AccountKey=([A-Za-z0-9+/]{86,88}={0,2})`, 1, 3.0, 0.95),
	r("azure-ad-client-secret", []string{"q~"}, `(?:^|[\\'"\x60\s>=:(,)])([a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34})(?:$|[\\'"\x60\s<),])`, 1, 3.0, 0.9),
	r("mailchimp-api-key", []string{"-us"}, `(?i)(?:mailchimp|mc).{0,40}?\b([a-f0-9]{32}-us\d{1,2})\b`, 1, 2.0, 0.85),
	r("twilio-api-key", []string{"twilio", "sk"}, `(?:twilio.{0,40}?)?\b(SK[0-9a-fA-F]{32})\b`, 1, 3.0, 0.7),
	r("connection-string", []string{"postgres://", "postgresql://", "mysql://", "mongodb://", "mongodb+srv://", "redis://", "rediss://", "amqp://", "amqps://", "mssql://", "sqlserver://", "jdbc:", "ftp://", "ldap://", "smtp://", "https://", "http://"},
		`(?i)\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|ftp|ldap|smtp|https?)://[^\s:/@'"]{1,64}:([^\s@/'"]{3,128})@[^\s/'"]+`, 1, 0, 0.9),
	r("connection-string-password", []string{"password="}, `(?i)\b(?:server|host|data source)=[^;'"]{1,128};(?:[^;'"]{1,128};){0,6}?\s*password=([^;'"\s]{3,128})`, 1, 0, 0.9),
	r("generic-api-key", []string{"key", "secret", "token", "passw", "pwd", "credential", "auth"},
		`(?i)\b[\w.-]{0,40}?(?:api[_.-]?key|apikey|secret[_.-]?key|secret|token|passwd|password|pwd|credentials?|auth[_.-]?key|access[_.-]?key|client[_.-]?secret)[\w.-]{0,20}?['"]?\s{0,3}(?:=|:|:=|=>|\|\|:)\s{0,3}['"\x60]?([\w.=~@#$%^&*+/!-]{10,150})(?:['"\x60\s,;<]|$)`, 1, 3.5, 0.7),
}

var placeholders = []string{"example", "xxxxx", "changeme", "placeholder", "your_", "your-", "<", "${", "{{", "redacted", "dummy", "sample", "000000", "123456", "abcdef", "*****", "test_key", "undefined", "null", "true", "false", "none"}

// prefilter: two-byte prefix table -> keyword indexes.
type kw struct {
	text string
	rule int
}

var (
	pairSeen [65536]bool
	pairKws  = map[uint16][]kw{}
)

func init() {
	for i, ru := range rules {
		for _, k := range ru.keywords {
			p := uint16(k[0])<<8 | uint16(k[1])
			pairSeen[p] = true
			pairKws[p] = append(pairKws[p], kw{k, i})
		}
	}
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 32
	}
	return c
}

const maxInput = 4 << 20

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
	var wins map[int][]window
	for i := 0; i+1 < len(s); i++ {
		p := uint16(lowerByte(s[i]))<<8 | uint16(lowerByte(s[i+1]))
		if !pairSeen[p] {
			continue
		}
		for _, k := range pairKws[p] {
			if !hasPrefixFold(s[i:], k.text) {
				continue
			}
			ru := rules[k.rule]
			a, b := max(0, i-ru.before), min(len(s), i+len(k.text)+ru.after)
			if wins == nil {
				wins = map[int][]window{}
			}
			w := wins[k.rule]
			if n := len(w); n > 0 && a <= w[n-1].b {
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
	var out []Match
	for ri, ws := range wins {
		ru := rules[ri]
		for _, w := range ws {
			for _, loc := range ru.re.FindAllStringSubmatchIndex(s[w.a:w.b], -1) {
				st, en := loc[0], loc[1]
				if ru.group > 0 && 2*ru.group+1 < len(loc) && loc[2*ru.group] >= 0 {
					st, en = loc[2*ru.group], loc[2*ru.group+1]
				}
				val := s[w.a+st : w.a+en]
				if ru.entropy > 0 && Entropy(val) < ru.entropy {
					continue
				}
				if ru.id == "generic-api-key" || ru.id == "connection-string" || ru.id == "connection-string-password" {
					if isPlaceholder(val) {
						continue
					}
				}
				if ru.id == "generic-api-key" && !mixed(val) {
					continue
				}
				out = append(out, Match{Rule: ru.id, Start: w.a + st, End: w.a + en, Confidence: ru.conf * scale})
			}
		}
	}
	return resolve(out)
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
