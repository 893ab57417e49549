package pii

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Entity types (Presidio names; STREET_ADDRESS follows presidio-research).
const (
	CreditCard    = "CREDIT_CARD"
	USSSN         = "US_SSN"
	IBAN          = "IBAN_CODE"
	Email         = "EMAIL_ADDRESS"
	Phone         = "PHONE_NUMBER"
	IPAddress     = "IP_ADDRESS"
	DateOfBirth   = "DATE_TIME"
	MedicalRecord = "MEDICAL_RECORD"
	DriverLicense = "US_DRIVER_LICENSE"
	Passport      = "US_PASSPORT"
	Person        = "PERSON"
	StreetAddress = "STREET_ADDRESS"
	maxCandidate  = 48 // longest digit/separator run considered
	contextBefore = 48 // bytes of left context searched for context words
	contextAfter  = 24 // bytes of right context
	maxInputBytes = 4 << 20
)

// Types lists every entity type Find can return.
var Types = []string{CreditCard, USSSN, IBAN, Email, Phone, IPAddress, DateOfBirth, MedicalRecord, DriverLicense, Passport, Person, StreetAddress}

// Entity is one PII match: a byte span [Start,End) into the scanned text.
type Entity struct {
	Type  string
	Start int
	End   int
	Score float64 // 0..1
}

// Find returns the PII entities in s, non-overlapping and sorted by Start.
// Input beyond 4 MiB is not scanned.
func Find(s string) []Entity {
	if len(s) > maxInputBytes {
		s = s[:maxInputBytes]
	}
	// Evasions: full-width digits and '＠', zero-width characters inside a
	// value. The recognisers run on a folded copy; spans map back to s.
	t, starts, ends := foldEvasions(s)
	sc := scanner{s: t}
	sc.emails()
	sc.ibans()
	sc.digitRuns()
	sc.ipv6()
	sc.contextual()
	sc.names()
	out := resolve(sc.out)
	if starts != nil {
		for i := range out {
			out[i].Start, out[i].End = int(starts[out[i].Start]), int(ends[out[i].End-1])
		}
	}
	return out
}

// evasionShaped reports whether a digit run separated by sep is a card
// (4-4-4-4, 4-4-4-x) or SSN (3-2-4) shape.
func evasionShaped(r string, nd int, sep byte) bool {
	groups := strings.Split(r, string(sep))
	if nd == 9 && len(groups) == 3 {
		return len(groups[0]) == 3 && len(groups[1]) == 2 && len(groups[2]) == 4
	}
	if len(groups) < 3 {
		return false
	}
	for _, g := range groups[:len(groups)-1] {
		if len(g) != 4 {
			return false
		}
	}
	return len(groups[len(groups)-1]) >= 1 && len(groups[len(groups)-1]) <= 4
}

// foldEvasions returns s with full-width ASCII forms folded to ASCII,
// small/full-width commercial at to '@', ideographic space to ' ', and
// zero-width characters and soft hyphens removed, plus for every byte of
// the result the original start and end offsets. ASCII-only input (the
// common case) is returned as is with nil maps.
func foldEvasions(s string) (string, []int32, []int32) {
	if asciiPrefix(s) == len(s) {
		return s, nil, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	starts := make([]int32, 0, len(s))
	ends := make([]int32, 0, len(s))
	for k, r := range s {
		size := utf8.RuneLen(r)
		if r == utf8.RuneError {
			size = 1
			if k+1 <= len(s) {
				_, size = utf8.DecodeRuneInString(s[k:])
			}
		}
		var out string
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			out = string(rune(r - 0xFEE0))
		case r == 0xFE6B:
			out = "@"
		case r == 0x3000:
			out = " "
		case r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF || r == 0x00AD || r == 0x180E:
			continue
		default:
			out = s[k : k+size]
		}
		for j := 0; j < len(out); j++ {
			starts = append(starts, int32(k))
			ends = append(ends, int32(k+size))
		}
		b.WriteString(out)
	}
	return b.String(), starts, ends
}

type scanner struct {
	s   string
	out []Entity
}

func (sc *scanner) add(typ string, start, end int, score float64) {
	if sc.out == nil {
		sc.out = make([]Entity, 0, 4) // one allocation for the usual few
	}
	sc.out = append(sc.out, Entity{Type: typ, Start: start, End: end, Score: score})
}

// lowerTab lower-cases ASCII letters (byte offsets are preserved).
var lowerTab = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] = byte(c + 32)
		}
	}
	return t
}()

// resolve keeps the best of overlapping entities (score, then length) in
// O(n log n): after sorting by start, an entity can only overlap the last kept one.
func resolve(in []Entity) []Entity {
	if len(in) <= 1 {
		return in
	}
	slices.SortStableFunc(in, func(a, b Entity) int { return a.Start - b.Start })
	better := func(a, b Entity) bool {
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.End-a.Start > b.End-b.Start
	}
	out := in[:0] // in place: out never passes the entity being read
	for _, e := range in {
		if n := len(out); n > 0 && e.Start < out[n-1].End {
			if better(e, out[n-1]) {
				out[n-1] = e
			}
			continue
		}
		out = append(out, e)
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isWord(c byte) bool  { return isAlnum(c) || c == '_' || c >= 0x80 }

// ---- email -----------------------------------------------------------------

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}
func isDomain(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func (sc *scanner) emails() {
	s := sc.s
	from := 0
	for {
		k := strings.IndexByte(s[from:], '@')
		if k < 0 {
			return
		}
		at := from + k
		from = at + 1
		st := at
		for st > 0 && at-st < 64 && isLocal(s[st-1]) {
			st--
		}
		for st < at && (s[st] == '.' || s[st] == '-') {
			st++
		}
		en := at + 1
		for en < len(s) && en-at < 255 && isDomain(s[en]) {
			en++
		}
		for en > at+1 && (s[en-1] == '.' || s[en-1] == '-') {
			en--
		}
		if st == at || en <= at+1 {
			continue
		}
		dom := s[at+1 : en]
		dot := strings.LastIndexByte(dom, '.')
		if dot <= 0 || len(dom)-dot-1 < 2 || strings.Contains(dom, "..") {
			continue
		}
		tld := dom[dot+1:]
		okTLD := true
		for i := 0; i < len(tld); i++ {
			if !isAlpha(tld[i]) {
				okTLD = false
			}
		}
		if !okTLD {
			continue
		}
		sc.add(Email, st, en, 1.0)
		from = en
	}
}

// ---- IBAN ------------------------------------------------------------------

// ibanLen is the IBAN length per country (SWIFT registry).
var ibanLen = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
	"MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
	"QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25,
	"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// ibanLens is ibanLen indexed by (c0-'A')*26 + (c1-'A').
var ibanLens = func() (t [26 * 26]uint8) {
	for cc, n := range ibanLen {
		t[int(cc[0]-'A')*26+int(cc[1]-'A')] = uint8(n)
	}
	return t
}()

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 32
	}
	return c
}

func (sc *scanner) ibans() {
	s := sc.s
	for i := 0; i+4 <= len(s); i++ {
		// a candidate has digits at i+2 and i+3: skip to the next digit
		// (at i+2 or later), eight bytes at a time
		d := nextDigit(s, i+2)
		if d+2 > len(s) {
			return
		}
		i = d - 2
		if !isDigit(s[i+3]) || !isAlpha(s[i]) || !isAlpha(s[i+1]) {
			continue
		}
		if i > 0 && isWord(s[i-1]) {
			continue
		}
		want := int(ibanLens[int(upper(s[i])-'A')*26+int(upper(s[i+1])-'A')])
		if want == 0 {
			continue
		}
		var buf [34]byte
		n, j := 0, i
		for j < len(s) && n < want {
			c := s[j]
			if isAlnum(c) {
				buf[n] = upper(c)
				n++
				j++
				continue
			}
			if (c == ' ' || c == '-') && n%4 == 0 && j+1 < len(s) && isAlnum(s[j+1]) {
				j++
				continue
			}
			break
		}
		if n != want || (j < len(s) && isWord(s[j])) {
			continue
		}
		if ValidIBAN(string(buf[:n])) {
			sc.add(IBAN, i, j, 1.0)
			i = j - 1
		}
	}
}

// ValidIBAN checks the country length and the ISO 7064 mod-97 checksum of a
// compact (no spaces) IBAN.
func ValidIBAN(iban string) bool {
	if len(iban) < 15 || len(iban) > 34 {
		return false
	}
	cc := string([]byte{upper(iban[0]), upper(iban[1])})
	if ibanLen[cc] != len(iban) {
		return false
	}
	rem := 0
	for k := 0; k < len(iban); k++ {
		c := upper(iban[(k+4)%len(iban)])
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case 'A' <= c && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// ---- digit runs: card, SSN, IPv4, phone ------------------------------------

func isRunSep(c byte) bool {
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/'
}

// runStart marks the bytes a digit run can start with.
var runStart = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['+'], t['('] = true, true
	return t
}()

func (sc *scanner) digitRuns() {
	s := sc.s
	for i := 0; i < len(s); i++ {
		i = nextRunStart(s, i) // the common case: skip to the next digit, '+' or '('
		if i == len(s) {
			return
		}
		c := s[i]
		start := i
		if c == '+' || c == '(' {
			if i+1 >= len(s) || !isDigit(s[i+1]) {
				continue
			}
		} else if !isDigit(c) {
			continue
		}
		if i > 0 && (isWord(s[i-1]) || (s[i-1] == '.' && i > 1 && isDigit(s[i-2]))) {
			// skip the rest of this token
			for i < len(s) && (isAlnum(s[i]) || s[i] == '+') {
				i++
			}
			continue
		}
		j := i + 1
		for j < len(s) && j-start < maxCandidate {
			d := s[j]
			if isDigit(d) {
				j++
				continue
			}
			if isRunSep(d) && j+1 < len(s) && (isDigit(s[j+1]) || (d != '(' && s[j+1] == '(') || (d == ')' && s[j+1] == ' ')) && !(j > 0 && isRunSep(s[j-1]) && s[j-1] != ')' && d != '(') {
				j++
				continue
			}
			break
		}
		for j > start && !isDigit(s[j-1]) && s[j-1] != ')' {
			j--
		}
		end := j
		// phone extension "x123" / "ext 123"
		ext := end
		if ext < len(s) && (s[ext] == 'x' || s[ext] == 'X') && ext+1 < len(s) && isDigit(s[ext+1]) {
			ext++
			for ext < len(s) && isDigit(s[ext]) && ext-end < 7 {
				ext++
			}
		}
		if ext < len(s) && isAlpha(s[ext]) {
			i = ext
			continue
		}
		if end < len(s) && s[end] == '_' {
			i = end
			continue
		}
		sc.classifyRun(start, end, ext)
		i = max(ext, i+1) - 1
	}
}

// sepCount counts separator bytes in a digit run.
type sepCount struct {
	n     [128]uint8
	kinds int
}

func (c *sepCount) add(b byte) {
	if b >= 128 {
		return
	}
	if c.n[b] == 0 {
		c.kinds++
	}
	if c.n[b] < 255 {
		c.n[b]++
	}
}

func (sc *scanner) classifyRun(start, end, ext int) {
	r := sc.s[start:end]
	var digits [maxCandidate]byte
	nd := 0
	var seps sepCount
	for k := 0; k < len(r); k++ {
		if isDigit(r[k]) {
			digits[nd] = r[k]
			nd++
		} else {
			seps.add(r[k])
		}
	}
	d := string(digits[:nd])
	if seps.n['/'] > 0 && !evasionShaped(r, nd, '/') {
		return // dates; DOB is context-gated elsewhere
	}
	// IPv4: four dot-separated octets, nothing else.
	if seps.n['.'] == 3 && seps.kinds == 1 {
		if a, err := netip.ParseAddr(r); err == nil && a.Is4() {
			sc.add(IPAddress, start, end, 0.95)
			return
		}
	}
	// ISO date / datetime parts: 2020-06-20, 2020-06-20 14 (:11:22)
	if len(r) >= 10 && r[4] == '-' && r[7] == '-' && isDigit(r[5]) && isDigit(r[8]) {
		return
	}
	if end < len(sc.s) && sc.s[end] == ':' {
		return // a time or a port
	}
	// SSN: ddd-dd-dddd, ddd dd dddd, or 9 bare digits with context.
	if nd == 9 && !strings.HasPrefix(r, "+") && !strings.HasPrefix(r, "(") {
		shaped := len(r) == 11 && (r[3] == '-' || r[3] == ' ' || r[3] == '.' || r[3] == '/') && r[6] == r[3]
		ctx := sc.hasContext(start, end, ssnWords)
		if (shaped || (len(r) == 9 && ctx)) && ValidSSN(d) {
			score := 0.85
			if ctx {
				score = 1.0
			}
			sc.add(USSSN, start, end, score)
			return
		}
	}
	// Credit card: 12-19 digits, only space or dash separators used
	// consistently, Luhn and issuer prefix/length.
	// Dots or slashes pass only in card-shaped groups of four (an evasion
	// of the usual separators, not a version or a date).
	if nd >= 12 && nd <= 19 && seps.n['('] == 0 && seps.kinds <= 1 && ext == end &&
		(seps.n['.'] == 0 && seps.n['/'] == 0 || evasionShaped(r, nd, '.') || evasionShaped(r, nd, '/')) {
		if Luhn(d) && (Issuer(d) != "" || sc.hasContext(start, end, cardWords)) {
			sc.add(CreditCard, start, end, 1.0)
			return
		}
	}
	// Phone.
	if nd >= 7 && nd <= 15 {
		if score := sc.phoneScore(r, nd, start, end, seps.kinds > 0); score > 0 {
			sc.add(Phone, start, ext, score)
		}
	}
}

var cardWords = []string{"card", "visa", "mastercard", "amex", "credit", "debit", "cc#", "ccn"}

var ssnWords = []string{"ssn", "social security", "social sec", "ss#", "ss #"}

var phoneWords = []string{"phone", "mobile", "cell", "tel", "fax", "desk", "office", "call", "contact",
	"answering", "messages to", "registered", "whatsapp", "sms", "text me", "reach", "dial", "ring", "landline", "hotline"}

// validPhone reports whether r is a valid number: international when it
// starts with '+', else for one of regions.
func validPhone(r string, regions ...string) bool {
	if strings.HasPrefix(r, "+") {
		n, err := phonenumbers.Parse(r, "")
		return err == nil && phonenumbers.IsValidNumber(n)
	}
	for _, reg := range regions {
		n, err := phonenumbers.Parse(r, reg)
		if err == nil && phonenumbers.IsValidNumberForRegion(n, reg) {
			return true
		}
	}
	return false
}

func (sc *scanner) phoneScore(r string, nd, start, end int, separated bool) float64 {
	ctx := sc.hasContext(start, end, phoneWords)
	plus := strings.HasPrefix(r, "+")
	if !separated && !plus && !ctx {
		return 0 // a bare digit string is an id, an amount, a timestamp...
	}
	if end+1 < len(sc.s) && sc.s[end] == ' ' && 'A' <= sc.s[end+1] && sc.s[end+1] <= 'Z' && !plus && !nanpShaped(r) {
		return 0 // "17031 2202 Rissik St": a house number, not a phone
	}
	// Cheap decisions first; phonenumbers validation (regexp-heavy) only
	// where it decides the outcome.
	switch {
	case plus:
		if validPhone(r, "") {
			return 0.95
		}
		if separated && nd >= 9 {
			return 0.5
		}
		return 0
	case ctx && separated:
		return 0.8
	case ctx:
		if validPhone(r, "US", "GB", "DE", "FR", "IN") {
			return 0.85
		}
		return 0
	case nanpShaped(r):
		if validPhone(r, "US") {
			return 0.7
		}
	}
	return 0
}

// nanpShaped reports the unmistakable North American layouts
// (ddd) ddd-dddd, ddd-ddd-dddd and ddd.ddd.dddd, which are phones even
// without a context word; other digit groupings need context or a '+'.
func nanpShaped(r string) bool {
	if len(r) == 12 && (r[3] == '-' || r[3] == '.') && r[7] == r[3] {
		return true
	}
	return len(r) >= 13 && r[0] == '(' && r[4] == ')' && r[len(r)-5] == '-'
}

// hasContext reports whether one of words occurs just before or after the
// span, ASCII case-insensitively: in the left window, the right window, or
// across the two joined by one space (a word with a space, "social
// security", may straddle them). The joined window is lower-cased once into
// a stack buffer and each word found by bytes.Index (a vectorised search
// instead of a byte-by-byte comparison per word and window).
func (sc *scanner) hasContext(start, end int, words []string) bool {
	left := sc.s[max(0, start-contextBefore):start]
	right := sc.s[end:min(len(sc.s), end+contextAfter)]
	var buf [contextBefore + 1 + contextAfter]byte
	n := 0
	for i := 0; i < len(left); i++ {
		buf[n] = lowerTab[left[i]]
		n++
	}
	buf[n] = ' '
	n++
	for i := 0; i < len(right); i++ {
		buf[n] = lowerTab[right[i]]
		n++
	}
	win := buf[:n]
	for _, w := range words {
		if bytes.Contains(win, []byte(w)) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case word w, with
// ASCII letters of s compared lower-cased.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if lowerTab[s[i]] != w[i] {
			return false
		}
	}
	return true
}

// lowerIn reports whether strings.ToLower(w) is in list (lower-case
// words) without lower-casing a copy when w is ASCII, as it almost always
// is (non-ASCII w keeps strings.ToLower: a few runes, such as U+0130 or
// the Kelvin sign, lower-case to ASCII letters).
func lowerIn(w string, list []string) bool {
	if asciiPrefix(w) != len(w) {
		return slices.Contains(list, strings.ToLower(w))
	}
	for _, m := range list {
		if len(m) == len(w) && hasPrefixFold(w, m) {
			return true
		}
	}
	return false
}

// hasPrefixLower is strings.HasPrefix(strings.ToLower(s), w) for a
// lower-case w, without the copy when s is ASCII.
func hasPrefixLower(s, w string) bool {
	if asciiPrefix(s) != len(s) {
		return strings.HasPrefix(strings.ToLower(s), w)
	}
	return hasPrefixFold(s, w)
}

// Luhn reports whether the digit string passes the Luhn checksum.
func Luhn(d string) bool {
	if len(d) < 2 {
		return false
	}
	sum, alt := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if !isDigit(c) {
			return false
		}
		n := int(c - '0')
		if alt {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		alt = !alt
	}
	return sum%10 == 0
}

func prefixIn(d string, lo, hi int, width int) bool {
	if len(d) < width {
		return false
	}
	v := 0
	for i := 0; i < width; i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v >= lo && v <= hi
}

// Issuer returns the card scheme for a digit string by IIN prefix and length,
// or "" when no scheme issues that prefix/length combination.
func Issuer(d string) string {
	n := len(d)
	switch {
	case d[0] == '4' && (n == 13 || n == 16 || n == 19):
		return "visa"
	case (prefixIn(d, 51, 55, 2) || prefixIn(d, 2221, 2720, 4)) && n == 16:
		return "mastercard"
	case (prefixIn(d, 34, 34, 2) || prefixIn(d, 37, 37, 2)) && n == 15:
		return "amex"
	case (prefixIn(d, 6011, 6011, 4) || prefixIn(d, 644, 649, 3) || prefixIn(d, 65, 65, 2)) && n >= 16 && n <= 19:
		return "discover"
	case (prefixIn(d, 300, 305, 3) || prefixIn(d, 36, 36, 2) || prefixIn(d, 38, 39, 2) || prefixIn(d, 3095, 3095, 4)) && n >= 14 && n <= 19:
		return "diners"
	case prefixIn(d, 3528, 3589, 4) && n >= 16 && n <= 19:
		return "jcb"
	case (prefixIn(d, 2131, 2131, 4) || prefixIn(d, 1800, 1800, 4)) && n == 15:
		return "jcb"
	case prefixIn(d, 62, 62, 2) && n >= 16 && n <= 19:
		return "unionpay"
	case (prefixIn(d, 50, 50, 2) || prefixIn(d, 56, 69, 2)) && n >= 12 && n <= 19:
		return "maestro"
	case prefixIn(d, 2200, 2204, 4) && n == 16:
		return "mir"
	}
	return ""
}

// ValidSSN applies the SSA rules to 9 digits: area not 000, 666 or 9xx; group
// not 00; serial not 0000; and not a well-known advertising number.
func ValidSSN(d string) bool {
	if len(d) != 9 {
		return false
	}
	for i := 0; i < 9; i++ {
		if !isDigit(d[i]) {
			return false
		}
	}
	area, group, serial := d[:3], d[3:5], d[5:]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return false
	}
	switch d {
	case "078051120", "219099999", "123456789", "111111111", "333333333":
		return false
	}
	return true
}

// ---- IPv6 ------------------------------------------------------------------

func isHex(c byte) bool { return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }

func (sc *scanner) ipv6() {
	s := sc.s
	from := 0
	for {
		k := strings.Index(s[from:], ":")
		if k < 0 {
			return
		}
		p := from + k
		st := p
		for st > 0 && p-st < 45 && (isHex(s[st-1]) || s[st-1] == ':') {
			st--
		}
		en := p
		for en < len(s) && en-st < 45 && (isHex(s[en]) || s[en] == ':' || s[en] == '.') {
			en++
		}
		for en > p && s[en-1] == '.' {
			en--
		}
		from = max(en, p+1)
		if (st > 0 && isWord(s[st-1])) || (en < len(s) && isWord(s[en])) || en-st < 6 {
			continue
		}
		cand := s[st:en]
		if strings.Count(cand, ":") < 2 {
			continue
		}
		if a, err := netip.ParseAddr(cand); err == nil && a.Is6() {
			groups := 0
			for _, g := range strings.Split(cand, ":") {
				if g != "" {
					groups++
				}
			}
			if groups >= 2 || cand == "::1" {
				sc.add(IPAddress, st, en, 0.9)
			}
		}
	}
}

// ---- context-gated recognizers ---------------------------------------------

type ctxRule struct {
	typ   string
	words []string
	score float64
	token func(s string, i int) (int, int, bool) // find the value after the keyword
}

var ctxRules = []ctxRule{
	{MedicalRecord, []string{"mrn", "medical record number", "medical record no", "medical record #", "patient id", "chart number"}, 0.8, idToken(5, 12, 4)},
	{DriverLicense, []string{"driver's license", "drivers license", "driver license", "driver's licence", "driving licence", "driving license", "dl#", "dl #", "dl no", "license number", "licence number"}, 0.75, idToken(5, 14, 4)},
	{Passport, []string{"passport"}, 0.75, idToken(6, 9, 5)},
	{DateOfBirth, []string{"date of birth", "dob", "d.o.b", "born on", "born", "birthday", "birth date", "birthdate"}, 0.8, dateToken},
	{Person, []string{"my name is", "name:", "name is", "mr.", "mrs.", "ms.", "dr.", "dear ", "signed,", "regards,", "patient:", "contact:"}, 0.7, nameToken},
}

type ctxKw struct {
	word string
	rule int
}

// ctxBits is the set of first-two-byte pairs of the context keywords.
var ctxBits = func() (t [65536 / 64]uint64) {
	for k, g := range ctxGroup {
		if g != 0 {
			t[k>>6] |= 1 << (k & 63)
		}
	}
	return t
}()

// ctxGroups holds the context keywords grouped by their first two bytes;
// ctxGroup maps those two bytes to 1 + the group index (0 = no keyword), so
// contextual() finds all keywords in one pass with one table load per byte.
var ctxGroups, ctxGroup = func() ([][]ctxKw, *[65536]uint8) {
	var groups [][]ctxKw
	idx := new([65536]uint8)
	for ri, r := range ctxRules {
		for _, w := range r.words {
			k := uint16(w[0])<<8 | uint16(w[1])
			if idx[k] == 0 {
				groups = append(groups, nil)
				idx[k] = uint8(len(groups))
			}
			groups[idx[k]-1] = append(groups[idx[k]-1], ctxKw{w, ri})
		}
	}
	return groups, idx
}()

// ctxFirst marks the bytes a context keyword can start with, either case.
// contextual() tries keywords only at word starts, so each must start with
// an ASCII letter.
var ctxFirst = func() (t [256]bool) {
	for _, kws := range ctxGroups {
		if !isAlpha(kws[0].word[0]) {
			panic("pii: context keyword " + kws[0].word + " does not start with a letter")
		}
	}
	for c := 0; c < 256; c++ {
		for _, kws := range ctxGroups {
			t[c] = t[c] || kws[0].word[0] == lowerTab[c]
		}
	}
	return t
}()

// ctxThird screens a pair hit by the byte after it: per group, the third
// bytes of its keywords (bit 256: a two-byte keyword). Most pair hits in
// prose ("na", "do", "de") end there, before any keyword is compared.
var ctxThird = func() [][5]uint64 {
	t := make([][5]uint64, len(ctxGroups))
	for g, kws := range ctxGroups {
		for _, kw := range kws {
			third := 256
			if len(kw.word) > 2 {
				third = int(kw.word[2]) // keywords are lower-case, as lowerTab gives
			}
			t[g][third>>6] |= 1 << (third & 63)
		}
	}
	return t
}()

func (sc *scanner) contextual() {
	l := sc.s // compared through lowerTab: no lower-cased copy
	// Every keyword starts with a letter and matches only where no letter
	// precedes it, so only word starts are candidates: they are found
	// eight bytes at a time (letters not preceded by a letter, the carry
	// being the previous word's last byte).
	var carry uint64
	for base := 0; base+1 < len(l); base += 8 {
		var alpha uint64
		if base+8 <= len(l) {
			alpha = inRange(load64(l, base)|0x2020202020202020, 'a', 'z')
		} else {
			for i := base; i < len(l); i++ {
				if isAlpha(l[i]) {
					alpha |= 0x80 << (8 * (i - base))
				}
			}
		}
		starts := alpha &^ (alpha<<8 | carry)
		carry = alpha >> 56
		for ; starts != 0; starts &= starts - 1 {
			p := base + firstSet(starts)
			if p+1 >= len(l) {
				break
			}
			sc.keywordAt(p)
		}
	}
	sc.addresses()
}

// keywordAt tries the context keywords at p, a word start.
func (sc *scanner) keywordAt(p int) {
	l := sc.s
	if !ctxFirst[l[p]] {
		return
	}
	k := uint16(lowerTab[l[p]])<<8 | uint16(lowerTab[l[p+1]])
	if ctxBits[k>>6]&(1<<(k&63)) == 0 {
		return // an 8 KiB bitset screens most pairs before the 64 KiB table
	}
	g := ctxGroup[k]
	if g == 0 {
		return
	}
	if th := &ctxThird[g-1]; th[4]&1 == 0 { // no two-byte keyword: screen by the third byte
		if p+2 >= len(l) {
			return
		}
		if c := lowerTab[l[p+2]]; th[c>>6]&(1<<(c&63)) == 0 {
			return
		}
	}
	for _, kw := range ctxGroups[g-1] {
		w := kw.word
		if !hasPrefixFold(l[p:], w) {
			continue
		}
		r := ctxRules[kw.rule]
		if a, b, ok := r.token(sc.s, p+len(w)); ok {
			sc.add(r.typ, a, b, r.score)
		}
	}
}

// skipFiller skips separators and short filler words ("is", "no", "#", ":")
// after a context keyword, up to a bounded distance.
func skipFiller(s string, i int) int {
	lim := min(len(s), i+24)
	for i < lim {
		c := s[i]
		if c == ' ' || c == ':' || c == '#' || c == '-' || c == '=' || c == '\t' || c == '"' || c == '\'' || c == '(' {
			i++
			continue
		}
		for _, f := range []string{"is ", "was ", "no. ", "no ", "number ", "num ", "on ", "at ", "in "} {
			if hasPrefixLower(s[i:min(len(s), i+len(f))], f) {
				i += len(f)
				goto next
			}
		}
		break
	next:
	}
	return i
}

// idToken accepts an alphanumeric token of length lo..hi with at least
// minDigits digits, right after the keyword.
func idToken(lo, hi, minDigits int) func(string, int) (int, int, bool) {
	return func(s string, i int) (int, int, bool) {
		i = skipFiller(s, i)
		j, nd := i, 0
		for j < len(s) && j-i <= hi && (isAlnum(s[j]) || (s[j] == '-' && j > i)) {
			if isDigit(s[j]) {
				nd++
			}
			j++
		}
		for j > i && s[j-1] == '-' {
			j--
		}
		if j-i < lo || j-i > hi || nd < minDigits || (j < len(s) && isWord(s[j])) {
			return 0, 0, false
		}
		return i, j, true
	}
}

var months = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
	"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}

// dateToken accepts d/m/y, y-m-d, d.m.y and "Month d, yyyy" / "d Month yyyy".
func dateToken(s string, i int) (int, int, bool) {
	i = skipFiller(s, i)
	j, nd, ns := i, 0, 0
	for j < len(s) && j-i < 10 && (isDigit(s[j]) || s[j] == '/' || s[j] == '-' || s[j] == '.') {
		if isDigit(s[j]) {
			nd++
		} else {
			ns++
		}
		j++
	}
	for j > i && !isDigit(s[j-1]) {
		j--
		ns--
	}
	if nd >= 6 && nd <= 8 && ns == 2 {
		return i, j, true
	}
	// textual month
	k := i
	for k < len(s) && k-i < 20 && (isAlnum(s[k]) || s[k] == ' ' || s[k] == ',') {
		k++
	}
	frag := strings.ToLower(s[i:k])
	for _, m := range months {
		if strings.Contains(frag, m) {
			// require a 4-digit year in the fragment
			for y := 0; y+4 <= len(frag); y++ {
				if isDigit(frag[y]) && isDigit(frag[y+1]) && isDigit(frag[y+2]) && isDigit(frag[y+3]) && (y+4 == len(frag) || !isDigit(frag[y+4])) {
					return i, i + y + 4, true
				}
			}
			break
		}
	}
	return 0, 0, false
}

// nameToken accepts one to three capitalised words (a trailing single
// initial allowed), e.g. "Jay Pearce", "Chise T. Horiguchi".
func nameToken(s string, i int) (int, int, bool) {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for _, h := range []string{"Mr. ", "Mrs. ", "Ms. ", "Dr. ", "Miss ", "Prof. ", "Mr ", "Mrs ", "Ms ", "Dr "} {
		if strings.HasPrefix(s[i:], h) {
			i += len(h)
			break
		}
	}
	st, j, words := i, i, 0
	for words < 4 && j < len(s) {
		if !('A' <= s[j] && s[j] <= 'Z') {
			break
		}
		k := j + 1
		for k < len(s) && (('a' <= s[k] && s[k] <= 'z') || s[k] >= 0x80 || s[k] == '\'' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] == '.' && k == j+1 {
			k++ // initial
		} else if k-j < 2 {
			break
		}
		words++
		j = k
		if j < len(s) && s[j] == ' ' && j+1 < len(s) && 'A' <= s[j+1] && s[j+1] <= 'Z' {
			j++
			continue
		}
		break
	}
	if words == 0 {
		return 0, 0, false
	}
	for j > st && s[j-1] == ' ' {
		j--
	}
	return st, j, true
}

// euroStreet matches 1-3 capitalised words then a 1-4 digit house number at
// i, returning the end. Month names are rejected ("5 May 2021").
func euroStreet(s string, i int) (int, bool) {
	k, words := i, 0
	for words < 3 {
		if k >= len(s) || !('A' <= s[k] && s[k] <= 'Z') {
			return 0, false
		}
		w := k
		for k < len(s) && (isAlpha(s[k]) || s[k] >= 0x80 || s[k] == '.' || s[k] == '-') {
			k++
		}
		if lowerIn(strings.TrimSuffix(s[w:k], "."), months) || k-w < 3 {
			return 0, false
		}
		words++
		if k+1 < len(s) && s[k] == ' ' && isDigit(s[k+1]) {
			d := k + 1
			for d < len(s) && isDigit(s[d]) && d-k <= 5 {
				d++
			}
			if d-k-1 <= 4 && (d >= len(s) || !isWord(s[d])) {
				return d, true
			}
			return 0, false
		}
		if k < len(s) && s[k] == ' ' {
			k++
			continue
		}
		return 0, false
	}
	return 0, false
}

var streetSuffix = []string{"street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd", "lane", "ln", "drive", "dr",
	"court", "ct", "way", "place", "pl", "terrace", "square", "sq", "highway", "hwy", "parkway", "pkwy", "circle", "trail", "crescent", "alley", "row"}

// unitWords introduce an address line component ("Apt. 12", "Suite 400",
// "P.O. Box 77", "Unit 5022").
var unitWords = []string{"Apt. ", "Apt ", "Suite ", "P.O. Box ", "PO Box "}

// addresses finds "<number> <Capitalised words> <street suffix>" (US style),
// "<number> <Capitalised word(s)> <number>" (European style, e.g.
// "67952 Höfðagata 39") and unit components ("Apt. 946", "Suite 250").
func (sc *scanner) addresses() {
	s := sc.s
	for _, u := range unitWords {
		from := 0
		for {
			k := strings.Index(s[from:], u)
			if k < 0 {
				break
			}
			p := from + k
			from = p + len(u)
			if p > 0 && isWord(s[p-1]) {
				continue
			}
			e := from
			for e < len(s) && e-from < 6 && (isDigit(s[e]) || (e > from && isAlpha(s[e]) && e-from < 2)) {
				e++
			}
			if e > from && isDigit(s[from]) && (e >= len(s) || !isWord(s[e])) {
				sc.add(StreetAddress, p, e, 0.6)
			}
		}
	}
	for i := 0; i < len(s); i++ {
		if i = nextDigit(s, i); i == len(s) {
			return
		}
		if i > 0 && isWord(s[i-1]) {
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) && j-i < 6 {
			j++
		}
		if j >= len(s) || s[j] != ' ' || (j < len(s) && isDigit(s[j])) {
			i = j
			continue
		}
		// European style: number, 1-3 capitalised words (not a month), number.
		if k, ok := euroStreet(s, j+1); ok {
			sc.add(StreetAddress, i, k, 0.55)
			i = k
			continue
		}
		k, words := j+1, 0
		for words < 5 && k < len(s) && 'A' <= s[k] && s[k] <= 'Z' {
			w := k
			for k < len(s) && (isAlpha(s[k]) || s[k] >= 0x80) {
				k++
			}
			words++
			if words >= 2 && lowerIn(s[w:k], streetSuffix) {
				end := k
				if end < len(s) && s[end] == '.' {
					end++
				}
				sc.add(StreetAddress, i, end, 0.6)
				break
			}
			if k < len(s) && s[k] == ' ' {
				k++
				continue
			}
			break
		}
		i = j
	}
}
