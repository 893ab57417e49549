package filesmcp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxReadBytes is the largest file read_file returns.
const MaxReadBytes = 1 << 20

// ListDirArgs are the arguments of list_dir.
type ListDirArgs struct {
	Path string `json:"path,omitempty" jsonschema:"directory relative to the sandbox root; empty or . for the root"`
}

// Entry is one directory entry returned by list_dir.
type Entry struct {
	Name string `json:"name"`
	Dir  bool   `json:"dir"`
	Size int64  `json:"size"`
}

// ListDirResult is the structured result of list_dir.
type ListDirResult struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
}

// PathArgs are the arguments of read_file and delete_file.
type PathArgs struct {
	Path string `json:"path" jsonschema:"file path relative to the sandbox root"`
}

// WriteFileArgs are the arguments of write_file.
type WriteFileArgs struct {
	Path    string `json:"path" jsonschema:"file path relative to the sandbox root"`
	Content string `json:"content" jsonschema:"the new file content (UTF-8 text)"`
}

// NewServer returns the files MCP server rooted at dir. The directory must
// exist. The caller owns the returned closer (it releases the os.Root).
func NewServer(dir string) (*mcp.Server, func() error, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("files server: open sandbox root: %w", err)
	}
	fsrv := &files{root: root}
	s := mcp.NewServer(&mcp.Implementation{Name: "portcullis-example-files", Version: "v0.1.0"},
		&mcp.ServerOptions{Instructions: "Files in a sandbox folder. Paths are relative to the sandbox root."})
	f := false
	mcp.AddTool(s, &mcp.Tool{
		Name:        "list_dir",
		Description: "List the entries of a directory in the sandbox.",
		Annotations: &mcp.ToolAnnotations{Title: "List directory", ReadOnlyHint: true, OpenWorldHint: &f},
	}, fsrv.listDir)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "read_file",
		Description: "Read a text file from the sandbox.",
		Annotations: &mcp.ToolAnnotations{Title: "Read file", ReadOnlyHint: true, OpenWorldHint: &f},
	}, fsrv.readFile)
	t := true
	mcp.AddTool(s, &mcp.Tool{
		Name:        "write_file",
		Description: "Create or overwrite a text file in the sandbox.",
		// Overwriting loses the old content: destructive, but idempotent.
		Annotations: &mcp.ToolAnnotations{Title: "Write file", DestructiveHint: &t, IdempotentHint: true, OpenWorldHint: &f},
	}, fsrv.writeFile)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "delete_file",
		Description: "Delete a file from the sandbox.",
		Annotations: &mcp.ToolAnnotations{Title: "Delete file", DestructiveHint: &t, OpenWorldHint: &f},
	}, fsrv.deleteFile)
	return s, root.Close, nil
}

// Handler returns an http.Handler serving the files server at /mcp (MCP
// Streamable HTTP, stateful sessions, SSE responses).
func Handler(dir string) (http.Handler, func() error, error) {
	s, closeFn, err := NewServer(dir)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	return mux, closeFn, nil
}

type files struct {
	root *os.Root
}

// clean maps a client-supplied path to a root-relative one. os.Root enforces
// containment; this rejects the obvious escapes early with a clear message.
func clean(p string, allowRoot bool) (string, error) {
	p = strings.ReplaceAll(p, "\\", "/")
	if strings.ContainsRune(p, 0) {
		return "", errors.New("path contains a NUL byte")
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path %q is absolute; use a path relative to the sandbox root", p)
	}
	c := path.Clean("/" + p)[1:]
	if c == "" {
		c = "."
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", fmt.Errorf("path %q leaves the sandbox root", p)
		}
	}
	if c == "." && !allowRoot {
		return "", errors.New("path is empty")
	}
	return c, nil
}

func (f *files) listDir(_ context.Context, _ *mcp.CallToolRequest, in ListDirArgs) (*mcp.CallToolResult, ListDirResult, error) {
	p, err := clean(in.Path, true)
	if err != nil {
		return nil, ListDirResult{}, err
	}
	d, err := f.root.Open(p)
	if err != nil {
		return nil, ListDirResult{}, fmt.Errorf("list_dir %s: %w", p, unwrapPath(err))
	}
	defer d.Close()
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, ListDirResult{}, fmt.Errorf("list_dir %s: %w", p, unwrapPath(err))
	}
	out := ListDirResult{Path: p, Entries: make([]Entry, 0, len(des))}
	for _, de := range des {
		e := Entry{Name: de.Name(), Dir: de.IsDir()}
		if info, err := de.Info(); err == nil && !de.IsDir() {
			e.Size = info.Size()
		}
		out.Entries = append(out.Entries, e)
	}
	sort.Slice(out.Entries, func(i, j int) bool { return out.Entries[i].Name < out.Entries[j].Name })
	return nil, out, nil
}

func (f *files) readFile(_ context.Context, _ *mcp.CallToolRequest, in PathArgs) (*mcp.CallToolResult, any, error) {
	p, err := clean(in.Path, false)
	if err != nil {
		return nil, nil, err
	}
	fh, err := f.root.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("read_file %s: %w", p, unwrapPath(err))
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read_file %s: %w", p, unwrapPath(err))
	}
	if info.IsDir() {
		return nil, nil, fmt.Errorf("read_file %s: is a directory", p)
	}
	if info.Size() > MaxReadBytes {
		return nil, nil, fmt.Errorf("read_file %s: file is %d bytes, limit is %d", p, info.Size(), MaxReadBytes)
	}
	buf := make([]byte, info.Size())
	if _, err := fh.ReadAt(buf, 0); err != nil && info.Size() > 0 {
		return nil, nil, fmt.Errorf("read_file %s: %w", p, unwrapPath(err))
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(buf)}}}, nil, nil
}

func (f *files) writeFile(_ context.Context, _ *mcp.CallToolRequest, in WriteFileArgs) (*mcp.CallToolResult, any, error) {
	p, err := clean(in.Path, false)
	if err != nil {
		return nil, nil, err
	}
	if len(in.Content) > MaxReadBytes {
		return nil, nil, fmt.Errorf("write_file %s: content is %d bytes, limit is %d", p, len(in.Content), MaxReadBytes)
	}
	if dir := path.Dir(p); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("write_file %s: %w", p, unwrapPath(err))
		}
	}
	if err := f.root.WriteFile(p, []byte(in.Content), 0o644); err != nil {
		return nil, nil, fmt.Errorf("write_file %s: %w", p, unwrapPath(err))
	}
	return text(fmt.Sprintf("wrote %d bytes to %s", len(in.Content), p)), nil, nil
}

func (f *files) deleteFile(_ context.Context, _ *mcp.CallToolRequest, in PathArgs) (*mcp.CallToolResult, any, error) {
	p, err := clean(in.Path, false)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.root.Lstat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("delete_file %s: %w", p, unwrapPath(err))
	}
	if info.IsDir() {
		return nil, nil, fmt.Errorf("delete_file %s: is a directory", p)
	}
	if err := f.root.Remove(p); err != nil {
		return nil, nil, fmt.Errorf("delete_file %s: %w", p, unwrapPath(err))
	}
	return text("deleted " + p), nil, nil
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// unwrapPath drops the *PathError wrapper so that errors do not repeat the
// path (and never reveal the absolute sandbox location).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
