package behavior

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

var resourceCases = []struct {
	name, args, want string
	sensitive        bool
}{
	{"path", `{"path":"/srv/public/a/b.txt"}`, "path:/srv/public", false},
	{"etc", `{"path":"/etc/shadow"}`, "path:/etc/shadow", true},
	{"home ssh", `{"file_path":"/home/alice/.ssh/id_rsa"}`, "path:/home/alice", true},
	{"relative", `{"path":"./docs/readme.md"}`, "path:docs/readme.md", false},
	{"bare file", `{"file":"notes.txt"}`, "path:notes.txt", false},
	{"root", `{"path":"/"}`, "path:/", false},
	{"windows", `{"path":"C:\\Users\\Bob\\secret.txt"}`, "path:c:/users", false},
	{"url", `{"url":"HTTPS://API.Example.com:8443/v1/x?y=1"}`, "url:https://api.example.com:8443", false},
	{"file url", `{"uri":"file:///etc/passwd"}`, "path:/etc/passwd", true},
	{"url without scheme", `{"url":"/var/log/syslog"}`, "path:/var/log", false},
	{"table", `{"table":"Users"}`, "table:users", false},
	{"database", `{"database":"billing"}`, "db:billing", false},
	{"sql", `{"query":"SELECT a FROM billing.cards WHERE x=1"}`, "table:billing.cards", false},
	{"sql quoted", `{"sql":"insert into \"Audit\" values (1)"}`, "table:audit", false},
	{"sql subquery skipped", `{"query":"select * from (select 1) join t2 on x"}`, "table:t2", false},
	{"sql no table", `{"query":"select 1"}`, "", false},
	{"first key wins", `{"url":"https://a.example/x","path":"/etc/x"}`, "path:/etc/x", true},
	{"non-string ignored", `{"path":42,"table":"t"}`, "table:t", false},
	{"not object", `["/etc/passwd"]`, "", false},
	{"invalid", `{"path":`, "", false},
	{"empty", ``, "", false},
}

func TestExtractResource(t *testing.T) {
	for _, tc := range resourceCases {
		t.Run(tc.name, func(t *testing.T) {
			r, sens := extractResource([]byte(tc.args))
			require.Equal(t, tc.want, r)
			require.Equal(t, tc.sensitive, sens)
			require.Equal(t, tc.want, ExtractResource([]byte(tc.args)))
		})
	}
}

func FuzzExtractResource(f *testing.F) {
	for _, tc := range resourceCases {
		f.Add([]byte(tc.args))
	}
	f.Fuzz(func(t *testing.T, args []byte) {
		r, _ := extractResource(args)
		if r == "" {
			return
		}
		// Bounded and tagged with a kind.
		require.LessOrEqual(t, len(r), 300)
		require.Regexp(t, `^(path|url|table|db|collection|bucket|repo):`, r)
		if utf8.Valid(args) {
			_ = utf8.ValidString(r) // clipping may split a rune; only length is bounded
		}
	})
}

func FuzzCandidateHashes(f *testing.F) {
	f.Add([]byte(`{"note":"card 4111 1111 1111 1111, thanks"}`), []byte("4111111111111111"))
	f.Add([]byte(`{"a":["x",["AKIAABCDEFGHIJKLMNOP"]]}`), []byte("AKIAABCDEFGHIJKLMNOP"))
	f.Fuzz(func(t *testing.T, args, value []byte) {
		e := New(Config{Salt: "s"}, nil, nil)
		n := normalize(nil, value)
		if len(n) < minValueLen {
			return
		}
		hs := e.candidateHashes(args, ^uint64(0))
		require.LessOrEqual(t, len(hs), maxCandidates)
		// A value that is a whole string leaf is always found.
		if len(value) <= maxValueLen && utf8.Valid(value) {
			quoted := []byte(`{"v":` + jsonString(string(value)) + `}`)
			require.Contains(t, e.candidateHashes(quoted, ^uint64(0)), e.hash(n))
		}
	})
}

func jsonString(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c < 0x20:
			out = append(out, []byte(`\u00`)...)
			out = append(out, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			out = append(out, c)
		}
	}
	return string(append(out, '"'))
}
