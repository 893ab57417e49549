package config

import (
	"strings"
	"testing"
)

// Issue 13: config problems used to be reported in two passes (unknown keys
// first, then, once fixed, validation). Every problem comes at once.
func TestParseReportsEveryProblemInOnePass(t *testing.T) {
	const doc = `
listen: {extproc: 0.0.0.0:50051, admni: x}
limits: {max_depth: deep, max_body_bytes: 12}
servers:
  - name: Bad Name
    url: ftp://x
    tool: {}
`
	_, err := Parse([]byte(doc))
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{
		"listen.admni: unknown field",                             // strict decoding
		"servers[0].tool: unknown field",                          // strict decoding
		"cannot unmarshal !!str `deep`",                           // wrong type
		"limits.max_body_bytes: must be at least 1024",            // validation
		`servers[0].name: "Bad Name" must match`,                  // validation
		"servers[0].url: invalid URL",                             // validation
		"listen.extproc: binds \"0.0.0.0:50051\" beyond loopback", // validation
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("report lacks %q:\n%v", want, err)
		}
	}
}
