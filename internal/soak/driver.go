package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/portcullis-mcp/portcullis/mcp"
)

// Outcome is how the gateway answered one call, as the client saw it.
type Outcome string

const (
	Allowed    Outcome = "allowed"
	Blocked    Outcome = "blocked"
	Redacted   Outcome = "redacted"
	Notice     Outcome = "notice"
	Unexpected Outcome = "unexpected"
)

// scenario is one kind of call in the mix, with the outcome it must get.
type scenario struct {
	tool string
	args string
	want Outcome
}

// mix is cycled through by call number: mostly allowed calls, as in real
// traffic, with every decision kind present.
var mix = []scenario{
	{toolSearch, `{"query":"quarterly report"}`, Allowed},
	{toolSearch, `{"query":"release notes"}`, Allowed},
	{toolRecord, `{"id":4411}`, Redacted},
	{toolSearch, `{"query":"open tickets"}`, Allowed},
	{toolPage, `{"url":"https://example.com/weather"}`, Notice},
	{toolSearch, `{"query":"team calendar"}`, Allowed},
	{toolQuery, `{"sql":"DROP TABLE users"}`, Blocked},
	{toolSearch, `{"query":"build status"}`, Allowed},
	{toolDelete, `{"id":7}`, Blocked},
	{toolRecord, `{"id":12}`, Redacted},
}

// driver sends tool calls to the gateway with bounded concurrency.
type driver struct {
	client   *http.Client
	url      string
	sessions int
	agents   int

	done   atomic.Int64
	mu     sync.Mutex
	counts map[Outcome]int64
	first  []string // first few unexpected answers, for the report
}

func newDriver(url string, concurrency, sessions, agents int) *driver {
	tr := &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency}
	return &driver{client: &http.Client{Transport: tr}, url: url, sessions: sessions, agents: agents, counts: map[Outcome]int64{}}
}

// run sends calls numbered [0, total) from concurrency workers.
func (d *driver) run(ctx context.Context, total int64, concurrency int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, concurrency)
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				got, detail, err := d.call(ctx, i)
				if err != nil {
					errc <- fmt.Errorf("call %d: %w", i, err)
					return
				}
				d.mu.Lock()
				if got != mix[i%int64(len(mix))].want {
					if len(d.first) < 5 {
						d.first = append(d.first, fmt.Sprintf("call %d (%s): got %s, want %s: %s", i, mix[i%int64(len(mix))].tool, got, mix[i%int64(len(mix))].want, detail))
					}
					got = Unexpected
				}
				d.counts[got]++
				d.mu.Unlock()
				d.done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errc)
	return errors.Join(drain(errc)...)
}

func drain(c chan error) []error {
	var out []error
	for err := range c {
		out = append(out, err)
	}
	return out
}

// call sends call i and classifies the answer.
func (d *driver) call(ctx context.Context, i int64) (Outcome, string, error) {
	sc := mix[i%int64(len(mix))]
	body := `{"jsonrpc":"2.0","id":` + strconv.FormatInt(i+1, 10) + `,"method":"tools/call","params":{"name":"` + sc.tool + `","arguments":` + sc.args + `}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, strings.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req.Header.Set("Mcp-Session-Id", "soak-session-"+strconv.FormatInt((i/7)%int64(d.sessions), 10))
	req.Header.Set("X-Portcullis-Agent", "soak-agent-"+strconv.FormatInt(i%int64(d.agents), 10))
	resp, err := d.client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("read response: %w", err)
	}
	msg := raw
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		msg = lastSSEData(raw)
	}
	detail := fmt.Sprintf("HTTP %d %v: %s", resp.StatusCode, resp.Header, truncate(string(raw), 300))
	return classify(resp.StatusCode, msg), detail, nil
}

// classify maps a JSON-RPC answer to an outcome.
func classify(status int, msg []byte) Outcome {
	var m struct {
		Result *struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if status != http.StatusOK || json.Unmarshal(msg, &m) != nil {
		return Unexpected
	}
	switch {
	case m.Error != nil:
		return Blocked
	case m.Result == nil || len(m.Result.Content) == 0:
		return Unexpected
	}
	text := m.Result.Content[0].Text
	switch {
	case strings.Contains(text, "IGNORE ALL PREVIOUS"):
		return Unexpected // the injection reached the client
	case strings.Contains(text, "jane.roe@example.com") || strings.Contains(text, "4111 1111 1111 1111"):
		return Unexpected // PII reached the client
	case strings.Contains(text, "Customer 4411"):
		return Redacted
	case strings.Contains(text, "3 results"):
		return Allowed
	case strings.Contains(strings.ToLower(text), "portcullis") || strings.Contains(strings.ToLower(text), "withheld") || strings.Contains(strings.ToLower(text), "injection"):
		return Notice
	}
	return Unexpected
}

// lastSSEData returns the data of the last event that carries data in an
// SSE body, parsed as the gateway parses it (mcp.SSEParser).
func lastSSEData(raw []byte) []byte {
	var p mcp.SSEParser
	evs, err := p.Feed(append(append([]byte(nil), raw...), '\n', '\n'))
	if err != nil {
		return nil
	}
	var last []byte
	for _, ev := range evs {
		if ev.HasData {
			last = ev.Data
		}
	}
	return last
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
