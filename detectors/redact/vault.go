package redact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
)

// Mode selects how originals are replaced.
type Mode string

// Redaction modes.
const (
	Mask      Mode = "mask"
	Hash      Mode = "hash"
	Synthetic Mode = "synthetic"
)

// ParseMode validates a mode name.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Mask, Hash, Synthetic:
		return Mode(s), nil
	}
	return "", fmt.Errorf("redact: unknown mode %q (want mask, hash or synthetic)", s)
}

// VaultOptions configure a Vault. Zero values get defaults.
type VaultOptions struct {
	TTL        time.Duration    // entry lifetime; default 1h
	MaxEntries int              // memory bound; default 10000
	Key        []byte           // HMAC key for hash and synthetic modes; default random per vault
	Now        func() time.Time // clock, for tests
}

// Span is a region of text to replace, with its entity type (e.g. "EMAIL_ADDRESS").
type Span struct {
	Type       string
	Start, End int
}

type entry struct {
	surrogate, original, key string
	expires                  time.Time
}

// Vault maps surrogates to originals for one session.
type Vault struct {
	opts     VaultOptions
	mu       sync.Mutex
	byKey    map[string]*entry   // mode|type|original -> entry
	bySurr   map[string]*entry   // surrogate -> entry
	anchors  map[string][]string // first 4 bytes of surrogate -> surrogates, longest first
	order    []*entry            // insertion order, for eviction
	counters map[string]int      // per type, for mask numbering and synthetic variety
}

// NewVault returns an empty vault.
func NewVault(opts VaultOptions) *Vault {
	if opts.TTL <= 0 {
		opts.TTL = time.Hour
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if len(opts.Key) == 0 {
		opts.Key = make([]byte, 32)
		_, _ = rand.Read(opts.Key)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Vault{opts: opts, byKey: map[string]*entry{}, bySurr: map[string]*entry{}, anchors: map[string][]string{}, counters: map[string]int{}}
}

// Len reports the number of live entries.
func (v *Vault) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.bySurr)
}

const anchorLen = 4

// ErrEmpty is returned for an empty original.
var ErrEmpty = errors.New("redact: empty original")

// Surrogate returns the surrogate for original (of entity type typ) in mode,
// creating and recording it if needed. avoid is text the new surrogate must
// not already occur in (the text being redacted), which keeps restore exact.
func (v *Vault) Surrogate(mode Mode, typ, original, avoid string) (string, error) {
	if original == "" {
		return "", ErrEmpty
	}
	if _, err := ParseMode(string(mode)); err != nil {
		return "", err
	}
	key := string(mode) + "|" + typ + "|" + original
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.opts.Now()
	if e, ok := v.byKey[key]; ok && now.Before(e.expires) {
		e.expires = now.Add(v.opts.TTL)
		return e.surrogate, nil
	} else if ok {
		v.remove(e)
	}
	for attempt := 0; attempt < 64; attempt++ {
		v.counters[typ]++
		s := v.make(mode, typ, original, v.counters[typ], attempt)
		if len(s) < anchorLen {
			s = "[" + s + "]"
		}
		if _, taken := v.bySurr[s]; taken || strings.Contains(avoid, s) || s == original {
			continue
		}
		e := &entry{surrogate: s, original: original, key: key, expires: now.Add(v.opts.TTL)}
		v.insert(e)
		return s, nil
	}
	return "", fmt.Errorf("redact: no free surrogate for %s", typ)
}

func (v *Vault) insert(e *entry) {
	for len(v.bySurr) >= v.opts.MaxEntries && len(v.order) > 0 {
		v.remove(v.order[0])
	}
	v.byKey[e.key] = e
	v.bySurr[e.surrogate] = e
	a := e.surrogate[:anchorLen]
	list := append(v.anchors[a], e.surrogate)
	slices.SortFunc(list, func(x, y string) int { return len(y) - len(x) })
	v.anchors[a] = list
	v.order = append(v.order, e)
}

func (v *Vault) remove(e *entry) {
	if v.bySurr[e.surrogate] != e {
		return
	}
	delete(v.bySurr, e.surrogate)
	if v.byKey[e.key] == e {
		delete(v.byKey, e.key)
	}
	a := e.surrogate[:anchorLen]
	list := v.anchors[a]
	if i := slices.Index(list, e.surrogate); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(v.anchors, a)
	} else {
		v.anchors[a] = list
	}
	if i := slices.Index(v.order, e); i >= 0 {
		v.order = slices.Delete(v.order, i, i+1)
	}
}

// Restore replaces every live surrogate in s by its original and reports how
// many were replaced. Time is linear in len(s) (one map probe per byte).
func (v *Vault) Restore(s string) (string, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.bySurr) == 0 || len(s) < anchorLen {
		return s, 0
	}
	now := v.opts.Now()
	var b strings.Builder
	n, last := 0, 0
	for i := 0; i+anchorLen <= len(s); {
		list, ok := v.anchors[s[i:i+anchorLen]]
		matched := false
		if ok {
			for _, sur := range list {
				if strings.HasPrefix(s[i:], sur) {
					e := v.bySurr[sur]
					if !now.Before(e.expires) {
						continue
					}
					if n == 0 {
						b.Grow(len(s))
					}
					b.WriteString(s[last:i])
					b.WriteString(e.original)
					i += len(sur)
					last = i
					n++
					matched = true
					break
				}
			}
		}
		if !matched {
			i++
		}
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

// RestoreJSON restores surrogates inside every string leaf of a JSON document
// (object keys untouched) and returns the rewritten, still valid document.
func (v *Vault) RestoreJSON(raw []byte) ([]byte, int, error) {
	res, err := jsonwalk.Walk(raw, jsonwalk.Limits{})
	if err != nil {
		return nil, 0, fmt.Errorf("redact: restore json: %w", err)
	}
	var out []byte
	last, total := 0, 0
	for _, l := range res.Leaves {
		r, n := v.Restore(l.Value)
		if n == 0 {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(raw)+64)
		}
		out = append(out, raw[last:l.RawStart]...)
		out = jsonwalk.AppendQuote(out, r)
		last = l.RawEnd
		total += n
	}
	if total == 0 {
		return raw, 0, nil
	}
	return append(out, raw[last:]...), total, nil
}

// ErrAmbiguous means no surrogate assignment could be verified to restore
// exactly (only seen with adversarial text built around live surrogates).
var ErrAmbiguous = errors.New("redact: redacted text would not restore exactly")

// Redact replaces spans of text (non-overlapping, any order) with surrogates
// from v and returns the new text. The result is verified: Restore(result)
// must give text back; if a format-preserving surrogate would blend into its
// neighbours, the spans are redacted again in mask mode, and if even that
// does not verify, ErrAmbiguous is returned.
func Redact(text string, spans []Span, mode Mode, v *Vault) (string, error) {
	if len(spans) == 0 {
		return text, nil
	}
	out, err := redactOnce(text, spans, mode, v)
	if err != nil {
		return "", err
	}
	if back, _ := v.Restore(out); back == text {
		return out, nil
	}
	if mode != Mask {
		out, err = redactOnce(text, spans, Mask, v)
		if err != nil {
			return "", err
		}
		if back, _ := v.Restore(out); back == text {
			return out, nil
		}
	}
	return "", ErrAmbiguous
}

func redactOnce(text string, spans []Span, mode Mode, v *Vault) (string, error) {
	sp := slices.Clone(spans)
	slices.SortFunc(sp, func(a, b Span) int { return a.Start - b.Start })
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, s := range sp {
		if s.Start < last || s.End > len(text) || s.Start >= s.End {
			continue // overlapping or out of range: skip rather than corrupt
		}
		sur, err := v.Surrogate(mode, s.Type, text[s.Start:s.End], text)
		if err != nil {
			return "", err
		}
		b.WriteString(text[last:s.Start])
		b.WriteString(sur)
		last = s.End
	}
	b.WriteString(text[last:])
	return b.String(), nil
}

// ---- surrogate construction --------------------------------------------------

func label(typ string) string {
	switch typ {
	case "EMAIL_ADDRESS":
		return "EMAIL"
	case "PHONE_NUMBER":
		return "PHONE"
	case "CREDIT_CARD":
		return "CARD"
	case "US_SSN":
		return "SSN"
	case "IBAN_CODE":
		return "IBAN"
	case "IP_ADDRESS":
		return "IP"
	case "":
		return "PII"
	}
	return strings.ToUpper(typ)
}

func (v *Vault) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, v.opts.Key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func (v *Vault) make(mode Mode, typ, original string, n, attempt int) string {
	switch mode {
	case Hash:
		h := hex.EncodeToString(v.mac(typ, original, strconv.Itoa(attempt)))[:12]
		return "<" + label(typ) + "_" + h + ">"
	case Synthetic:
		if s, ok := synthetic(typ, original, n, v.mac(typ, original, strconv.Itoa(attempt))); ok {
			return s
		}
	}
	return "[" + label(typ) + "_" + strconv.Itoa(n) + "]"
}

// fillDigits replaces the digits of tmpl, in order, with digits.
func fillDigits(tmpl, digits string) string {
	b := []byte(tmpl)
	k := 0
	for i, c := range b {
		if '0' <= c && c <= '9' && k < len(digits) {
			b[i] = digits[k]
			k++
		}
	}
	return string(b)
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			n++
		}
	}
	return n
}

func digitsFrom(h []byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0' + h[i%len(h)]%10
	}
	return string(b)
}

// luhnComplete appends the Luhn check digit to body.
func luhnComplete(body string) string {
	sum := 0
	double := true
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return body + strconv.Itoa((10-sum%10)%10)
}

func synthetic(typ, original string, n int, h []byte) (string, bool) {
	switch typ {
	case "EMAIL_ADDRESS":
		return "user" + strconv.Itoa(n) + "-" + hex.EncodeToString(h[:3]) + "@example.com", true
	case "PHONE_NUMBER":
		nd := countDigits(original)
		if nd < 7 {
			return "", false
		}
		// NANP fictional range: NPA-555-01XX. Vary the area code and XX.
		area := 201 + (n/100)%700
		core := strconv.Itoa(area) + "55501" + fmt.Sprintf("%02d", n%100)
		full := strings.Repeat("1", max(0, nd-len(core))) + core
		return fillDigits(original, full[len(full)-nd:]), true
	case "CREDIT_CARD":
		nd := countDigits(original)
		if nd < 12 || nd > 19 {
			return "", false
		}
		body := "400000" + digitsFrom(h, nd-7)
		return fillDigits(original, luhnComplete(body)), true
	case "US_SSN":
		if countDigits(original) != 9 {
			return "", false
		}
		return fillDigits(original, "000"+digitsFrom(h, 6)), true
	case "IBAN_CODE":
		if len(original) < 5 {
			return "", false
		}
		var b []byte
		k := 0
		for i := 0; i < len(original); i++ {
			c := original[i]
			switch {
			case i < 2:
				b = append(b, c)
			case c == ' ' || c == '-':
				b = append(b, c)
			case k < 2:
				b = append(b, '0') // check digits 00 never validate
				k++
			default:
				b = append(b, '0'+h[(i+k)%len(h)]%10)
			}
		}
		return string(b), true
	case "IP_ADDRESS":
		if strings.Contains(original, ":") {
			return "2001:db8::" + strconv.FormatInt(int64(n), 16), true
		}
		nets := []string{"192.0.2.", "198.51.100.", "203.0.113."}
		return nets[(n/254)%3] + strconv.Itoa(1+n%254), true
	}
	return "", false
}
