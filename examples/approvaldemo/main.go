// Command approvaldemo shows human approval through the gateway (part of
// `make run`): an MCP client calls write_file, which the quickstart policy
// holds for approval; an operator approves it through the admin API (what
// the console's Approve button and `portcullis approvals approve` do); the
// same call retried goes through once, and a third try is held again.
//
// With -wait it does not approve by itself: it prints the console URL and
// waits until a person approves in the browser.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	gateway := flag.String("gateway", "http://127.0.0.1:10000", "gateway URL")
	admin := flag.String("admin", "http://127.0.0.1:9090", "gateway admin URL (console and approvals API)")
	as := flag.String("as", "quickstart-operator", "approver name (the quickstart runs approvals in insecure development mode)")
	wait := flag.Bool("wait", false, "wait for a person to approve in the console instead of approving through the API")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := run(ctx, *gateway, *admin, *as, *wait, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "approvaldemo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, gateway, admin, as string, wait bool, w io.Writer) error {
	c := mcp.NewClient(&mcp.Implementation{Name: "portcullis-approval-demo", Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: strings.TrimRight(gateway, "/") + "/mcp/files", DisableStandaloneSSE: true}, nil)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer cs.Close()
	args := map[string]any{"path": "approved.txt", "content": fmt.Sprintf("written with a person's approval at %s\n", time.Now().UTC().Format(time.RFC3339))}
	call := func() (*mcp.CallToolResult, *jsonrpc.Error, error) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "write_file", Arguments: args})
		var werr *jsonrpc.Error
		if errors.As(err, &werr) {
			return nil, werr, nil
		}
		return res, nil, err
	}

	fmt.Fprintln(w, "Human approval (write_file needs a person's approval under the quickstart policy):")
	_, werr, err := call()
	if err != nil {
		return err
	}
	if werr == nil {
		return errors.New("write_file went through without approval")
	}
	var data struct {
		ID     string `json:"approval_id"`
		URL    string `json:"approval_url"`
		Status string `json:"status"`
	}
	_ = json.Unmarshal(werr.Data, &data)
	if data.ID == "" {
		return fmt.Errorf("refused without an approval id: %d %s", werr.Code, werr.Message)
	}
	fmt.Fprintf(w, "  1. %-36s -> HELD (%d): approval %s is %s\n", "write_file approved.txt", werr.Code, data.ID, data.Status)
	fmt.Fprintf(w, "     console: %s\n", data.URL)

	if wait {
		fmt.Fprintln(w, "  2. waiting for a person to approve it in the console…")
		if err := waitApproved(ctx, admin, as, data.ID); err != nil {
			return err
		}
	} else {
		if err := approve(ctx, admin, as, data.ID); err != nil {
			return err
		}
		fmt.Fprintf(w, "  2. %s approves it (bin/portcullis approvals approve %s --as %s)\n", as, data.ID, as)
	}

	res, werr, err := call()
	switch {
	case err != nil:
		return err
	case werr != nil:
		return fmt.Errorf("the approved retry was refused: %d %s", werr.Code, werr.Message)
	case res.IsError:
		return fmt.Errorf("the approved retry reached the tool, which failed: %+v", res.Content)
	}
	fmt.Fprintf(w, "  3. %-36s -> ALLOWED (the grant is now used up)\n", "the same call retried")
	_, werr, err = call()
	if err != nil {
		return err
	}
	if werr == nil {
		return errors.New("a second use of the grant went through")
	}
	fmt.Fprintf(w, "  4. %-36s -> HELD again (%d): a grant is single use\n", "the same call once more", werr.Code)
	return nil
}

func apiRequest(ctx context.Context, method, url, as string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Portcullis-Approver", as)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s %s", method, url, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

func approve(ctx context.Context, admin, as, id string) error {
	_, err := apiRequest(ctx, http.MethodPost, strings.TrimRight(admin, "/")+"/api/approvals/"+id+"/approve", as, []byte(`{"comment":"make run demo"}`))
	return err
}

func waitApproved(ctx context.Context, admin, as, id string) error {
	for {
		b, err := apiRequest(ctx, http.MethodGet, strings.TrimRight(admin, "/")+"/api/approvals/"+id, as, nil)
		if err != nil {
			return err
		}
		var v struct{ Status, Reason string }
		_ = json.Unmarshal(b, &v)
		switch v.Status {
		case "approved":
			return nil
		case "rejected", "expired":
			return fmt.Errorf("approval %s was %s: %s", id, v.Status, v.Reason)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
