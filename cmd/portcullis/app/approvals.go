package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

func init() {
	for _, c := range []struct{ name, summary string }{
		{"approvals list", "list approval requests on a running gateway (--status pending)"},
		{"approvals show", "show one approval request: call, redacted arguments, risk factors, votes"},
		{"approvals approve", "approve a pending request (--comment)"},
		{"approvals reject", "reject a pending request (--comment)"},
	} {
		verb := strings.TrimPrefix(c.name, "approvals ")
		register(command{name: c.name, summary: c.summary, run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runApprovals(ctx, verb, args, stdout, stderr)
		}})
	}
}

// approvalsClient talks to the admin API (approval/console).
type approvalsClient struct {
	base  string
	token string // JWT bearer
	as    string // insecure development mode approver name
	http  *http.Client
}

func (c *approvalsClient) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("approvals: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.as != "" {
		req.Header.Set("X-Portcullis-Approver", c.as)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("approvals: is the gateway's admin listener at %s? %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("approvals: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("approvals: %s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("approvals: %s", resp.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("approvals: decode answer: %w", err)
	}
	return nil
}

// approvalView mirrors console.View (the CLI does not import the server).
type approvalView struct {
	ID            string          `json:"id"`
	Status        string          `json:"status"`
	Principal     string          `json:"principal"`
	Server        string          `json:"server"`
	Method        string          `json:"method"`
	Tool          string          `json:"tool"`
	ArgsDigest    string          `json:"args_digest"`
	Arguments     json.RawMessage `json:"arguments"`
	PolicyVersion string          `json:"policy_version"`
	Rule          string          `json:"rule"`
	Score         int             `json:"score"`
	Factors       []struct {
		Name   string `json:"name"`
		Score  int    `json:"score"`
		Weight int    `json:"weight"`
		Reason string `json:"reason"`
	} `json:"factors"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Votes   []struct {
		By      string    `json:"by"`
		Approve bool      `json:"approve"`
		At      time.Time `json:"at"`
		Comment string    `json:"comment"`
	} `json:"votes"`
	Quorum int    `json:"quorum"`
	Reason string `json:"reason"`
	URL    string `json:"url"`
}

func runApprovals(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("approvals " + verb)
	admin := fs.String("admin", envOr("PORTCULLIS_ADMIN", "http://127.0.0.1:9090"), "gateway admin URL (env PORTCULLIS_ADMIN)")
	token := fs.String("token", "", "approver JWT (default: env PORTCULLIS_APPROVER_TOKEN)")
	as := fs.String("as", os.Getenv("PORTCULLIS_APPROVER"), "approver name in the gateway's INSECURE development mode (env PORTCULLIS_APPROVER)")
	asJSON := fs.Bool("json", false, "print JSON")
	certFile := fs.String("cert", "", "client certificate (PEM) for an admin listener with mTLS; with approvals.auth.mtls it names the approver")
	keyFile := fs.String("key", "", "private key (PEM) for --cert")
	caFile := fs.String("cacert", "", "CA bundle (PEM) that signed the admin listener's certificate (default: system roots)")
	status := new(string)
	comment := new(string)
	switch verb {
	case "list":
		status = fs.String("status", "", "only requests with this status (pending, approved, rejected, expired, used)")
	case "approve", "reject":
		comment = fs.String("comment", "", "reason recorded with the decision")
	}
	if err := parseFlags(fs, auditInterleave(fs, args), stderr); err != nil {
		return err
	}
	wantArgs := 1
	if verb == "list" {
		wantArgs = 0
	}
	if fs.NArg() != wantArgs {
		return &ExitError{Code: 2, Err: fmt.Errorf("approvals %s: want %d argument(s), got %d", verb, wantArgs, fs.NArg())}
	}
	if *token == "" {
		*token = os.Getenv("PORTCULLIS_APPROVER_TOKEN")
	}
	if _, err := url.Parse(*admin); err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("--admin: %w", err)}
	}
	hc, err := approvalsHTTPClient(*certFile, *keyFile, *caFile)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("approvals %s: %w", verb, err)}
	}
	c := &approvalsClient{base: *admin, token: *token, as: *as, http: hc}
	switch verb {
	case "list":
		var out struct {
			Approvals []approvalView `json:"approvals"`
		}
		q := "?limit=200"
		if *status != "" {
			q += "&status=" + url.QueryEscape(*status)
		}
		if err := c.do(ctx, http.MethodGet, "/api/approvals"+q, nil, &out); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, out.Approvals)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tSERVER\tTOOL\tAGENT\tRISK\tEXPIRES")
		for _, a := range out.Approvals {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, a.Status, a.Server, a.Tool, a.Principal, a.Score, a.Expires.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "show":
		var v approvalView
		if err := c.do(ctx, http.MethodGet, "/api/approvals/"+url.PathEscape(fs.Arg(0)), nil, &v); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, v)
		}
		printApproval(stdout, v)
		return nil
	default:
		var v approvalView
		if err := c.do(ctx, http.MethodPost, "/api/approvals/"+url.PathEscape(fs.Arg(0))+"/"+verb, map[string]string{"comment": *comment}, &v); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, v)
		}
		fmt.Fprintf(stdout, "%s: %s (%d of %d approvals)\n", v.ID, v.Status, approvalsCount(v), v.Quorum)
		return nil
	}
}

// approvalsHTTPClient builds the admin API client, with a client
// certificate and a private CA when given.
func approvalsHTTPClient(certFile, keyFile, caFile string) (*http.Client, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	if certFile == "" && keyFile == "" && caFile == "" {
		return c, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("--cert and --key go together")
	}
	if certFile != "" {
		kp, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificates", caFile)
		}
		tc.RootCAs = pool
	}
	c.Transport = &http.Transport{TLSClientConfig: tc}
	return c, nil
}

func approvalsCount(v approvalView) int {
	n := 0
	for _, x := range v.Votes {
		if x.Approve {
			n++
		}
	}
	return n
}

func printApproval(w io.Writer, v approvalView) {
	fmt.Fprintf(w, "%s  %s\n", v.ID, strings.ToUpper(v.Status))
	fmt.Fprintf(w, "call     %s %s on %s by %s\n", v.Method, v.Tool, v.Server, v.Principal)
	fmt.Fprintf(w, "policy   %s (rule %s)\n", v.PolicyVersion, v.Rule)
	fmt.Fprintf(w, "risk     %d\n", v.Score)
	for _, f := range v.Factors {
		if f.Score > 0 {
			fmt.Fprintf(w, "         %s %d ×%d  %s\n", f.Name, f.Score, f.Weight, f.Reason)
		}
	}
	fmt.Fprintf(w, "created  %s\nexpires  %s\nquorum   %d\n", v.Created.UTC().Format(time.RFC3339), v.Expires.UTC().Format(time.RFC3339), v.Quorum)
	for _, x := range v.Votes {
		verb := "approved"
		if !x.Approve {
			verb = "rejected"
		}
		fmt.Fprintf(w, "vote     %s %s at %s %s\n", x.By, verb, x.At.UTC().Format(time.RFC3339), x.Comment)
	}
	if v.Reason != "" {
		fmt.Fprintf(w, "reason   %s\n", v.Reason)
	}
	fmt.Fprintf(w, "digest   %s\narguments (redacted):\n", v.ArgsDigest)
	var buf bytes.Buffer
	if json.Indent(&buf, v.Arguments, "  ", "  ") == nil {
		fmt.Fprintf(w, "  %s\n", buf.String())
	}
	if v.URL != "" {
		fmt.Fprintf(w, "console  %s\n", v.URL)
	}
}

func writeJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
