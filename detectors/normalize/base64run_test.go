package normalize

import (
	"math/rand"
	"strings"
	"testing"
)

// refNextBase64Run is nextBase64Run as first written, one byte at a time.
func refNextBase64Run(s string, i int) (string, int, bool) {
	for i < len(s) {
		if !b64Class[s[i]] {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && b64Class[s[j]] {
			j++
		}
		if j-i >= 16 {
			return s[i:j], j, true
		}
		i = j
	}
	return "", len(s), false
}

func checkBase64Runs(t *testing.T, s string) {
	t.Helper()
	for i := 0; i <= len(s); i++ {
		r1, n1, ok1 := nextBase64Run(s, i)
		r2, n2, ok2 := refNextBase64Run(s, i)
		if r1 != r2 || n1 != n2 || ok1 != ok2 {
			t.Fatalf("nextBase64Run(%q, %d) = %q, %d, %v; byte by byte %q, %d, %v", s, i, r1, n1, ok1, r2, n2, ok2)
		}
	}
}

// TestNextBase64RunMatchesReference: the skip-ahead scan finds the same
// runs as the byte-by-byte one from every offset, on runs just under, at
// and over 16 bytes among prose and random texts.
func TestNextBase64RunMatchesReference(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for _, sep := range []string{" ", "\n", "é", ".", ""} {
			checkBase64Runs(t, strings.Repeat("a", n)+sep+strings.Repeat("Zz9+/", n%7)+sep+"hello world")
		}
	}
	parts := []string{"a", "Z", "0", "+", "/", "=", "-", "_", " ", ".", "\n", "é", "aGVsbG8gd29ybGQ", "deadbeef", "the", "quick"}
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 3000; n++ {
		var b strings.Builder
		for k := rng.Intn(40); k > 0; k-- {
			b.WriteString(parts[rng.Intn(len(parts))])
		}
		checkBase64Runs(t, b.String())
	}
}

func FuzzNextBase64Run(f *testing.F) {
	f.Add("see aGVsbG8gd29ybGQgaGVsbG8= here")
	f.Fuzz(func(t *testing.T, s string) { checkBase64Runs(t, s) })
}
