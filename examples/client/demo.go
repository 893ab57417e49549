package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	readPath    = "notes.txt"
	deletePath  = "notes.txt"
	injectedURL = "https://example.com/blog/release-notes"
)

// injectionMarker is text from the hidden instruction in the injected page.
const injectionMarker = "ignore previous instructions"

// demo runs the quickstart scenario against gateway and writes the report to
// w. It fails when read_file is refused or delete_file is not.
func demo(ctx context.Context, gateway string, w io.Writer) error {
	gateway = strings.TrimRight(gateway, "/")
	fmt.Fprintf(w, "Portcullis quickstart: an MCP client talking to two servers through %s\n\n", gateway)

	files, err := connect(ctx, gateway+"/mcp/files")
	if err != nil {
		return err
	}
	defer files.Close()
	fmt.Fprintf(w, "[files] connected to %s\n", serverName(files))

	tl, err := files.ListTools(ctx, nil)
	if err != nil {
		return fmt.Errorf("files: tools/list: %w", err)
	}
	var names []string
	for _, t := range tl.Tools {
		names = append(names, t.Name)
	}
	var hidden []string
	for _, n := range []string{"list_dir", "read_file", "write_file", "delete_file"} {
		if !slices.Contains(names, n) {
			hidden = append(hidden, n)
		}
	}
	fmt.Fprintf(w, "[files] tools/list -> %s", strings.Join(names, ", "))
	if len(hidden) > 0 {
		fmt.Fprintf(w, "   (hidden by the gateway: %s)", strings.Join(hidden, ", "))
	}
	fmt.Fprintln(w)

	var problems []error
	res, err := files.CallTool(ctx, &mcp.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": readPath}})
	switch {
	case err != nil:
		fmt.Fprintf(w, "[files] read_file %s -> REFUSED: %s\n", readPath, describe(err))
		problems = append(problems, fmt.Errorf("read_file was refused: %w", err))
	case res.IsError:
		fmt.Fprintf(w, "[files] read_file %s -> tool error: %s\n", readPath, firstLine(text(res)))
		problems = append(problems, errors.New("read_file returned a tool error"))
	default:
		fmt.Fprintf(w, "[files] read_file %s -> ALLOWED, %d bytes: %q\n", readPath, len(text(res)), firstLine(text(res)))
	}

	res, err = files.CallTool(ctx, &mcp.CallToolParams{Name: "delete_file", Arguments: map[string]any{"path": deletePath}})
	switch {
	case err != nil:
		fmt.Fprintf(w, "[files] delete_file %s -> BLOCKED: %s\n", deletePath, describe(err))
	case res.IsError:
		fmt.Fprintf(w, "[files] delete_file %s -> NOT blocked by the gateway (the server itself failed: %s)\n", deletePath, firstLine(text(res)))
		problems = append(problems, errors.New("delete_file reached the server"))
	default:
		fmt.Fprintf(w, "[files] delete_file %s -> NOT BLOCKED: the server deleted the file\n", deletePath)
		problems = append(problems, errors.New("delete_file was not blocked"))
	}

	web, err := connect(ctx, gateway+"/mcp/web")
	if err != nil {
		return errors.Join(append(problems, err)...)
	}
	defer web.Close()
	fmt.Fprintf(w, "\n[web] connected to %s\n", serverName(web))
	res, err = web.CallTool(ctx, &mcp.CallToolParams{Name: "fetch", Arguments: map[string]any{"url": injectedURL}})
	switch {
	case err != nil:
		fmt.Fprintf(w, "[web] fetch %s -> BLOCKED: %s\n", injectedURL, describe(err))
	case res.IsError:
		fmt.Fprintf(w, "[web] fetch %s -> tool error: %s\n", injectedURL, firstLine(text(res)))
	default:
		page := text(res)
		verdict := "hidden instruction removed"
		if strings.Contains(strings.ToLower(page), injectionMarker) {
			verdict = fmt.Sprintf("page still contains the hidden instruction %q", injectionMarker)
		}
		fmt.Fprintf(w, "[web] fetch %s -> %d bytes; %s\n", injectedURL, len(page), verdict)
	}
	policyTour(ctx, files, web, w)
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("quickstart demo failed: %w", err)
	}
	fmt.Fprintln(w, "\nOK: one allowed call went through, one disallowed call was refused.")
	return nil
}

func connect(ctx context.Context, endpoint string) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "portcullis-quickstart-client", Version: "v0.1.0"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             endpoint,
		HTTPClient:           &http.Client{},
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", endpoint, err)
	}
	return cs, nil
}

func serverName(cs *mcp.ClientSession) string {
	ir := cs.InitializeResult()
	if ir == nil || ir.ServerInfo == nil {
		return "(unknown server)"
	}
	return ir.ServerInfo.Name + " " + ir.ServerInfo.Version
}

// describe renders a JSON-RPC error as "message (code N), data: {...}".
func describe(err error) string {
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) {
		return err.Error()
	}
	s := fmt.Sprintf("%s (JSON-RPC error %d)", werr.Message, werr.Code)
	if len(werr.Data) > 0 {
		var v any
		if json.Unmarshal(werr.Data, &v) == nil {
			b, _ := json.Marshal(v)
			s += "\n          data: " + string(b)
		}
	}
	return s
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// policyTour shows the policy decisions of examples/quickstart/policy.yaml.
// It only reports what happened; the demo's pass/fail is the two calls above.
func policyTour(ctx context.Context, files, web *mcp.ClientSession, w io.Writer) {
	fmt.Fprintln(w, "\nPolicy decisions (examples/quickstart/policy.yaml):")
	call := func(label string, cs *mcp.ClientSession, name string, args map[string]any) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		switch {
		case err != nil:
			fmt.Fprintf(w, "  %-46s -> REFUSED: %s\n", label, describe(err))
		case res.IsError:
			fmt.Fprintf(w, "  %-46s -> passed the gateway; tool error: %s\n", label, firstLine(text(res)))
		default:
			out := text(res)
			if res.StructuredContent != nil {
				if b, err := json.Marshal(res.StructuredContent); err == nil {
					out = string(b)
				}
			}
			fmt.Fprintf(w, "  %-46s -> ALLOWED: %s\n", label, clip(out, 160))
		}
	}
	call("files read_file ../../etc/passwd (block)", files, "read_file", map[string]any{"path": "../../etc/passwd"})
	call("files write_file out.txt (require approval)", files, "write_file", map[string]any{"path": "out.txt", "content": "hello"})
	call("web crawl (sandbox: runs on the sandbox instance)", web, "crawl", map[string]any{"url": "https://example.com/", "delay_ms": 1})
	call("web fetch https://example.org/ (dry-run rule)", web, "fetch", map[string]any{"url": "https://example.org/"})
	call("files read_file customers.csv (PII masked)", files, "read_file", map[string]any{"path": "customers.csv"})
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
