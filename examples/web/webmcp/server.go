package webmcp

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

//go:embed pages/*.html
var pagesFS embed.FS

// InjectedURL is the fixture page that carries a hidden prompt injection.
const InjectedURL = "https://example.com/blog/release-notes"

// fixtures maps a normalised URL (host + path, no scheme, no trailing slash)
// to its embedded page.
var fixtures = map[string]string{
	"example.com":                      "pages/index.html",
	"example.com/docs/getting-started": "pages/getting-started.html",
	"example.com/blog/release-notes":   "pages/release-notes.html",
}

// URLs lists the URLs that have a fixture page, sorted.
func URLs() []string {
	out := make([]string, 0, len(fixtures))
	for k := range fixtures {
		out = append(out, "https://"+k)
	}
	sort.Strings(out)
	return out
}

// FetchArgs are the arguments of fetch.
type FetchArgs struct {
	URL string `json:"url" jsonschema:"the http(s) URL to fetch"`
}

// CrawlArgs are the arguments of crawl.
type CrawlArgs struct {
	URL     string `json:"url" jsonschema:"the http(s) URL to start from"`
	DelayMS int    `json:"delay_ms,omitempty" jsonschema:"pause between pages in milliseconds (0-1000, default 50)"`
}

// CrawlResult is the structured result of crawl.
type CrawlResult struct {
	Pages []CrawledPage `json:"pages"`
	// Instance names the server instance that crawled (for example
	// "sandbox"), so a demo can show where a re-routed call ran.
	Instance string `json:"instance,omitempty"`
}

// CrawledPage is one page visited by crawl.
type CrawledPage struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	Bytes int    `json:"bytes"`
}

// NewServer returns the web MCP server.
func NewServer() *mcp.Server { return NewServerInstance("") }

// NewServerInstance is NewServer for a named instance (e.g. "sandbox"):
// crawl results carry the name.
func NewServerInstance(instance string) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "portcullis-example-web", Version: "v0.1.0"},
		&mcp.ServerOptions{Instructions: "Fetches web pages (offline fixtures of example.com)."})
	t := true
	mcp.AddTool(s, &mcp.Tool{
		Name:        "fetch",
		Description: "Fetch a web page and return its HTML.",
		Annotations: &mcp.ToolAnnotations{Title: "Fetch URL", ReadOnlyHint: true, OpenWorldHint: &t},
	}, fetch)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "crawl",
		Description: "Crawl a site from a start URL, reporting progress for each page visited.",
		Annotations: &mcp.ToolAnnotations{Title: "Crawl site", ReadOnlyHint: true, OpenWorldHint: &t},
	}, func(ctx context.Context, req *mcp.CallToolRequest, in CrawlArgs) (*mcp.CallToolResult, CrawlResult, error) {
		r, out, err := crawl(ctx, req, in)
		if err == nil {
			out.Instance = instance
		}
		return r, out, err
	})
	return s
}

// Handler returns an http.Handler serving the web server at /mcp (MCP
// Streamable HTTP, stateful sessions, SSE responses).
func Handler() http.Handler { return HandlerInstance("", false) }

// HandlerInstance serves a named instance (see NewServerInstance). A
// stateless instance ignores Mcp-Session-Id, so it can act as the sandbox
// upstream for calls whose session was opened on another instance.
func HandlerInstance(instance string, stateless bool) http.Handler {
	s := NewServerInstance(instance)
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: stateless}))
	return mux
}

// lookup returns the fixture page for a URL.
func lookup(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("invalid URL %q: scheme must be http or https", raw)
	}
	key := strings.ToLower(u.Hostname()) + strings.TrimRight(u.EscapedPath(), "/")
	key = strings.TrimPrefix(key, "www.")
	name, ok := fixtures[key]
	if !ok {
		return "", fmt.Errorf("fetch %s: 404 not found (this offline example only knows %s)", raw, strings.Join(URLs(), ", "))
	}
	b, err := pagesFS.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", raw, err)
	}
	return string(b), nil
}

func fetch(_ context.Context, _ *mcp.CallToolRequest, in FetchArgs) (*mcp.CallToolResult, any, error) {
	page, err := lookup(in.URL)
	if err != nil {
		return nil, nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: page}}}, nil, nil
}

func title(page string) string {
	_, after, ok := strings.Cut(page, "<title>")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(after, "</title>")
	return t
}

// crawl visits the start page and every fixture page, sending a
// notifications/progress message per page (when the client asked for
// progress), then returns the list. Because notifications precede the result
// on the same request, the Streamable HTTP response is an SSE stream.
func crawl(ctx context.Context, req *mcp.CallToolRequest, in CrawlArgs) (*mcp.CallToolResult, CrawlResult, error) {
	if _, err := lookup(in.URL); err != nil {
		return nil, CrawlResult{}, err
	}
	delay := 50 * time.Millisecond
	if in.DelayMS > 0 {
		delay = time.Duration(min(in.DelayMS, 1000)) * time.Millisecond
	} else if in.DelayMS < 0 {
		delay = 0
	}
	order := []string{in.URL}
	for _, u := range URLs() {
		if p, _ := lookup(u); p != "" && !sameURL(u, in.URL) {
			order = append(order, u)
		}
	}
	var token any
	if req != nil && req.Params != nil {
		token = req.Params.GetProgressToken()
	}
	var out CrawlResult
	for i, u := range order {
		page, err := lookup(u)
		if err != nil {
			return nil, CrawlResult{}, err
		}
		out.Pages = append(out.Pages, CrawledPage{URL: u, Title: title(page), Bytes: len(page)})
		if token != nil && req.Session != nil {
			err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: token,
				Progress:      float64(i + 1),
				Total:         float64(len(order)),
				Message:       "fetched " + u,
			})
			if err != nil {
				return nil, CrawlResult{}, fmt.Errorf("crawl: send progress: %w", err)
			}
		}
		if delay > 0 && i < len(order)-1 {
			select {
			case <-ctx.Done():
				return nil, CrawlResult{}, fmt.Errorf("crawl: %w", ctx.Err())
			case <-time.After(delay):
			}
		}
	}
	return nil, out, nil
}

func sameURL(a, b string) bool {
	pa, errA := url.Parse(a)
	pb, errB := url.Parse(b)
	if errA != nil || errB != nil {
		return false
	}
	norm := func(u *url.URL) string {
		return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.") + strings.TrimRight(u.EscapedPath(), "/")
	}
	return norm(pa) == norm(pb)
}
