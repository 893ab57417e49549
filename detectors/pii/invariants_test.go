package pii_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/pii"
)

// checkInvariants: properties of Find that hold for any input and need no
// second implementation. Entities are known types with sane scores, sorted
// and non-overlapping inside s; validated types carry text their validator
// accepts; and a repeated call (after another input, so pooled scratch has
// been reused) returns the same entities.
func checkInvariants(t *testing.T, s string) {
	t.Helper()
	es := pii.Find(s)
	prev := 0
	for _, e := range es {
		if !slices.Contains(pii.Types, e.Type) || e.Start < prev || e.Start >= e.End || e.End > len(s) || e.Score <= 0 || e.Score > 1 {
			t.Fatalf("Find(%.200q): bad entity %+v after offset %d", s, e, prev)
		}
		prev = e.End
		text := s[e.Start:e.End]
		ok := true
		switch e.Type {
		case pii.Email:
			ok = strings.Count(text, "@") == 1
		case pii.CreditCard:
			d := digits(text)
			ok = len(d) >= 12 && len(d) <= 19 && luhn(d)
		case pii.USSSN:
			ok = len(digits(text)) == 9
		case pii.IPAddress:
			_, err := netip.ParseAddr(text)
			ok = err == nil
		case pii.IBAN:
			ok = ibanValid(text)
		}
		if !ok {
			t.Fatalf("Find(%.200q): %s %q fails its validator", s, e.Type, text)
		}
	}
	pii.Find("Dear Maria Lopez, call (415) 555-0134 or write maria@example.org")
	if again := pii.Find(s); !slices.Equal(es, again) {
		t.Fatalf("Find(%.200q) = %+v, then %+v", s, es, again)
	}
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func luhn(d string) bool {
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// ibanValid: ISO 13616 mod-97 over the alphanumerics, country code moved
// to the end.
func ibanValid(s string) bool {
	var a []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			a = append(a, c)
		case c >= 'a' && c <= 'z':
			a = append(a, c-'a'+'A')
		}
	}
	if len(a) < 5 {
		return false
	}
	a = append(a[4:], a[:4]...)
	r := 0
	for _, c := range a {
		if c <= '9' {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	return r == 1
}

// TestFindInvariantsOnCorpus: the invariants hold on the golden inputs,
// which have entities of every type.
func TestFindInvariantsOnCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range piiTexts(t) {
		checkInvariants(t, s)
		for _, e := range pii.Find(s) {
			seen[e.Type] = true
		}
	}
	for _, typ := range []string{pii.Email, pii.CreditCard, pii.USSSN, pii.IPAddress, pii.IBAN} {
		if !seen[typ] && !testing.Short() {
			t.Errorf("no %s in the corpus: its validator check went unexercised", typ)
		}
	}
}

func FuzzFindInvariants(f *testing.F) {
	for _, s := range []string{"call me at (415) 555-0134", "SSN 078-05-1121", "card 4111 1111 1111 1111", "Dear Maria Lopez,",
		"maria@example.org", "IBAN DE89 3704 0044 0532 0130 00", "10.0.0.1 and fe80::1", "born on 03/04/1980", "12 Main Street"} {
		f.Add(s)
	}
	f.Fuzz(checkInvariants)
}
