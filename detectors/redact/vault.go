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
	"sync/atomic"
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
	prev, next               *entry // insertion order, for O(1) eviction
}

// anchorLen is one surrogate length under an anchor, with how many live
// surrogates have it.
type anchorLen struct{ n, count int }

// Vault maps surrogates to originals for one session (one binding of
// principal, route and session). A Vault from Vaults with a Store is
// shared: it is loaded from the store on first use and every new
// surrogate is claimed there atomically, so every replica restores it.
type Vault struct {
	opts       VaultOptions
	mu         sync.Mutex
	byKey      map[string]*entry      // mode|type|original -> entry
	bySurr     map[string]*entry      // surrogate -> entry
	anchors    map[string][]anchorLen // first 4 bytes of surrogate -> lengths, longest first
	head, tail *entry                 // oldest, newest
	counters   map[string]int         // per type, for mask numbering and synthetic variety
	shared     *sharedVault           // nil: this process only
	// live mirrors len(bySurr) for lock-free reads; total (nil for a
	// standalone vault) is the entry count of the Vaults set it belongs
	// to, until detached (evicted from the set).
	live     atomic.Int64
	total    *atomic.Int64
	detached atomic.Bool
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
	return &Vault{opts: opts, byKey: map[string]*entry{}, bySurr: map[string]*entry{}, anchors: map[string][]anchorLen{}, counters: map[string]int{}}
}

// Len reports the number of live entries.
func (v *Vault) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.bySurr)
}

const anchorLen4 = 4

// ErrEmpty is returned for an empty original.
var ErrEmpty = errors.New("redact: empty original")

// Surrogate returns the surrogate for original (of entity type typ) in mode,
// creating and recording it if needed. avoid is text the new surrogate must
// not already occur in (the text being redacted), which keeps restore exact.
// A shared vault claims a new surrogate in its store; a store error is
// returned (wrapping ErrUnavailable) and nothing is redacted.
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
	if err := v.loadLocked(); err != nil {
		return "", err
	}
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
		if len(s) < anchorLen4 {
			s = "[" + s + "]"
		}
		if _, taken := v.bySurr[s]; taken || strings.Contains(avoid, s) || s == original {
			continue
		}
		if v.shared != nil {
			got, taken, err := v.shared.claim(key, s)
			if err != nil {
				return "", err
			}
			if taken {
				continue
			}
			s = got // another replica's surrogate for the same original wins
		}
		v.insert(&entry{surrogate: s, original: original, key: key, expires: now.Add(v.opts.TTL)})
		return s, nil
	}
	return "", fmt.Errorf("redact: no free surrogate for %s", typ)
}

func (v *Vault) insert(e *entry) {
	if old := v.bySurr[e.surrogate]; old != nil {
		v.remove(old)
	}
	for len(v.bySurr) >= v.opts.MaxEntries && v.head != nil {
		v.remove(v.head)
	}
	v.byKey[e.key] = e
	v.bySurr[e.surrogate] = e
	v.count(1)
	a := e.surrogate[:anchorLen4]
	lens := v.anchors[a]
	i, found := slices.BinarySearchFunc(lens, len(e.surrogate), func(x anchorLen, n int) int { return n - x.n })
	if found {
		lens[i].count++
	} else {
		lens = slices.Insert(lens, i, anchorLen{n: len(e.surrogate), count: 1})
	}
	v.anchors[a] = lens
	e.prev, e.next = v.tail, nil
	if v.tail != nil {
		v.tail.next = e
	} else {
		v.head = e
	}
	v.tail = e
}

func (v *Vault) count(d int64) {
	v.live.Add(d)
	if v.total != nil && !v.detached.Load() {
		v.total.Add(d)
	}
}

// remove unlinks e in O(1) (plus the few distinct lengths of its anchor).
func (v *Vault) remove(e *entry) {
	if v.bySurr[e.surrogate] != e {
		return
	}
	delete(v.bySurr, e.surrogate)
	v.count(-1)
	if v.byKey[e.key] == e {
		delete(v.byKey, e.key)
	}
	a := e.surrogate[:anchorLen4]
	lens := v.anchors[a]
	if i, found := slices.BinarySearchFunc(lens, len(e.surrogate), func(x anchorLen, n int) int { return n - x.n }); found {
		if lens[i].count--; lens[i].count == 0 {
			lens = slices.Delete(lens, i, i+1)
		}
	}
	if len(lens) == 0 {
		delete(v.anchors, a)
	} else {
		v.anchors[a] = lens
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		v.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		v.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// Restore replaces every live surrogate in s by its original and reports how
// many were replaced. Time is linear in len(s) times the number of distinct
// surrogate lengths under a matching anchor (a few map probes per byte). A
// shared vault must have been loaded (RestoreJSON, RestoreText or
// Surrogate); Restore itself never touches the store.
func (v *Vault) Restore(s string) (string, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.restoreLocked(s)
}

// RestoreText is Restore for a shared vault: it loads the vault first and
// returns the store's error instead of restoring nothing.
func (v *Vault) RestoreText(s string) (string, int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.loadLocked(); err != nil {
		return "", 0, err
	}
	out, n := v.restoreLocked(s)
	return out, n, nil
}

func (v *Vault) restoreLocked(s string) (string, int) {
	if len(v.bySurr) == 0 || len(s) < anchorLen4 {
		return s, 0
	}
	now := v.opts.Now()
	var b strings.Builder
	n, last := 0, 0
	for i := 0; i+anchorLen4 <= len(s); {
		lens, ok := v.anchors[s[i:i+anchorLen4]]
		matched := false
		if ok {
			for _, l := range lens {
				if i+l.n > len(s) {
					continue
				}
				e := v.bySurr[s[i:i+l.n]]
				if e == nil || !now.Before(e.expires) {
					continue
				}
				if n == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[last:i])
				b.WriteString(e.original)
				i += l.n
				last = i
				n++
				matched = true
				break
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
	v.mu.Lock()
	err := v.loadLocked()
	v.mu.Unlock()
	if err != nil {
		return nil, 0, err
	}
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
