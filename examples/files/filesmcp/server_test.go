package filesmcp

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connect starts the files server on a loopback httptest server rooted at a
// copy of the committed sandbox and returns a connected SDK client session.
func connect(t *testing.T) (*mcp.ClientSession, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../sandbox")); err != nil {
		t.Fatalf("copy sandbox: %v", err)
	}
	h, closeRoot, err := Handler(dir)
	if err != nil {
		t.Fatalf("Handler: %v", err)
	}
	t.Cleanup(func() { closeRoot() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, dir
}

func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool %s: protocol error %v", name, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}

func TestToolsListAnnotations(t *testing.T) {
	cs, _ := connect(t)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*mcp.Tool{}
	for _, tl := range res.Tools {
		got[tl.Name] = tl
	}
	for _, name := range []string{"list_dir", "read_file", "write_file", "delete_file"} {
		if got[name] == nil {
			t.Fatalf("tool %s missing from tools/list: %v", name, got)
		}
	}
	if a := got["read_file"].Annotations; a == nil || !a.ReadOnlyHint {
		t.Errorf("read_file must be readOnlyHint, got %+v", a)
	}
	if a := got["delete_file"].Annotations; a == nil || a.DestructiveHint == nil || !*a.DestructiveHint || a.ReadOnlyHint {
		t.Errorf("delete_file must be destructiveHint, got %+v", a)
	}
}

func TestTools(t *testing.T) {
	cs, dir := connect(t)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("TOP SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tool    string
		args    map[string]any
		wantErr bool
		want    string // substring of the text result
		notWant string
	}{
		{"list root", "list_dir", map[string]any{}, false, `"customers.csv"`, ""},
		{"list subdir", "list_dir", map[string]any{"path": "projects"}, false, `"roadmap.md"`, ""},
		{"read pii file", "read_file", map[string]any{"path": "customers.csv"}, false, "4111 1111 1111 1111", ""},
		{"read nested", "read_file", map[string]any{"path": "./projects/../projects/roadmap.md"}, true, "leaves the sandbox", ""},
		{"read dotdot", "read_file", map[string]any{"path": "../../etc/passwd"}, true, "leaves the sandbox", "root:"},
		{"read absolute", "read_file", map[string]any{"path": "/etc/passwd"}, true, "absolute", "root:"},
		{"read backslash dotdot", "read_file", map[string]any{"path": `..\..\etc\passwd`}, true, "leaves the sandbox", "root:"},
		{"read symlink escape", "read_file", map[string]any{"path": "escape.txt"}, true, "", "TOP SECRET"},
		{"read missing", "read_file", map[string]any{"path": "nope.txt"}, true, "no such file", ""},
		{"read dir", "read_file", map[string]any{"path": "projects"}, true, "is a directory", ""},
		{"read empty path", "read_file", map[string]any{"path": ""}, true, "empty", ""},
		{"list dotdot", "list_dir", map[string]any{"path": ".."}, true, "leaves the sandbox", ""},
		{"write escape", "write_file", map[string]any{"path": "../x.txt", "content": "x"}, true, "leaves the sandbox", ""},
		{"delete escape", "delete_file", map[string]any{"path": "../secret.txt"}, true, "leaves the sandbox", ""},
		{"delete dir", "delete_file", map[string]any{"path": "projects"}, true, "is a directory", ""},
		{"missing required arg", "read_file", map[string]any{}, true, "path", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, isErr := call(t, cs, tc.tool, tc.args)
			if isErr != tc.wantErr {
				t.Fatalf("isError = %v, want %v (text %q)", isErr, tc.wantErr, text)
			}
			if !strings.Contains(text, tc.want) {
				t.Errorf("result %q does not contain %q", text, tc.want)
			}
			if tc.notWant != "" && strings.Contains(text, tc.notWant) {
				t.Errorf("result %q leaks %q", text, tc.notWant)
			}
			if strings.Contains(text, dir) {
				t.Errorf("result %q reveals the sandbox location", text)
			}
		})
	}
	if b, _ := os.ReadFile(outside); string(b) != "TOP SECRET" {
		t.Errorf("file outside the sandbox changed: %q", b)
	}
}

func TestWriteReadDelete(t *testing.T) {
	cs, dir := connect(t)
	if text, isErr := call(t, cs, "write_file", map[string]any{"path": "new/dir/hello.txt", "content": "hi there"}); isErr {
		t.Fatalf("write_file: %s", text)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "new", "dir", "hello.txt")); err != nil || string(b) != "hi there" {
		t.Fatalf("file on disk = %q, %v", b, err)
	}
	if text, _ := call(t, cs, "read_file", map[string]any{"path": "new/dir/hello.txt"}); text != "hi there" {
		t.Fatalf("read_file = %q", text)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_dir", Arguments: map[string]any{"path": "new/dir"}})
	if err != nil {
		t.Fatal(err)
	}
	var ld ListDirResult
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &ld); err != nil || len(ld.Entries) != 1 || ld.Entries[0] != (Entry{Name: "hello.txt", Size: 8}) {
		t.Fatalf("list_dir structured = %s (%v)", raw, err)
	}
	if text, isErr := call(t, cs, "delete_file", map[string]any{"path": "new/dir/hello.txt"}); isErr {
		t.Fatalf("delete_file: %s", text)
	}
	if _, err := os.Stat(filepath.Join(dir, "new", "dir", "hello.txt")); !os.IsNotExist(err) {
		t.Fatalf("file still exists after delete: %v", err)
	}
}

func TestNewServerMissingRoot(t *testing.T) {
	if _, _, err := NewServer(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("NewServer on a missing directory succeeded")
	}
}

var cleanSeeds = []string{"", ".", "a/b", "../x", "a/../../x", "/etc/passwd", `..\x`, "a/./b/", "a\x00b", "....", "a/..b"}

func TestClean(t *testing.T) {
	tests := []struct {
		in      string
		root    bool
		want    string
		wantErr bool
	}{
		{"", true, ".", false},
		{"", false, "", true},
		{"a/./b/", false, "a/b", false},
		{"....", false, "....", false},
		{"a/..b", false, "a/..b", false},
		{"a/../b", false, "", true},
		{"/abs", false, "", true},
		{"a\x00b", false, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := clean(tc.in, tc.root)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("clean(%q) = %q, %v; want %q, err %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range cleanSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := clean(in, true)
		if err != nil {
			return
		}
		if got != "." && !filepath.IsLocal(got) {
			t.Fatalf("clean(%q) = %q is not local", in, got)
		}
	})
}
