// Package notify tells people about new approval requests: a signed generic
// webhook, Slack and Microsoft Teams incoming webhooks. Messages carry the
// call's names, risk score and a link to the console, never argument
// content. Each channel is an approval.Notifier.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/approval"
)

// SignatureHeader carries the webhook signature: "t=<unix>,v1=<hex>" where
// v1 = HMAC-SHA256(secret, "<t>.<body>").
const SignatureHeader = "X-Portcullis-Signature"

// Webhook posts a signed JSON event.
type Webhook struct {
	URL    string
	Secret []byte
	Client *http.Client
	Now    func() time.Time
}

// Name implements approval.Notifier.
func (w *Webhook) Name() string { return "webhook" }

// Event is the webhook body.
type Event struct {
	Type     string          `json:"type"` // approval.requested
	Approval approval.Notice `json:"approval"`
}

// Notify implements approval.Notifier.
func (w *Webhook) Notify(ctx context.Context, n approval.Notice) error {
	body, err := json.Marshal(Event{Type: "approval.requested", Approval: n})
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	return post(ctx, w.Client, w.URL, body, map[string]string{SignatureHeader: "t=" + ts + ",v1=" + Sign(w.Secret, ts, body)})
}

// Sign returns the hex HMAC-SHA256 of "<ts>.<body>".
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body; receivers should also
// refuse timestamps older than tolerance (replay).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("malformed %s", SignatureHeader)
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature timestamp outside ±%s", tolerance)
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

// Slack posts to a Slack incoming webhook.
type Slack struct {
	URL    string
	Client *http.Client
}

// Name implements approval.Notifier.
func (s *Slack) Name() string { return "slack" }

// Notify implements approval.Notifier.
func (s *Slack) Notify(ctx context.Context, n approval.Notice) error {
	text := fmt.Sprintf("*Approval needed*: `%s` on `%s` by agent `%s` (risk %d)", slackEsc(n.Tool), slackEsc(n.Server), slackEsc(n.Principal), n.Score)
	details := fmt.Sprintf("Approval %s · needs %d approval(s) · expires %s%s", n.ID, n.Quorum, n.Expires.UTC().Format(time.RFC3339), factorText(n, slackEsc))
	blocks := []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}},
		map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": details}}},
	}
	if n.URL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "text": map[string]any{"type": "plain_text", "text": "Review in console"}, "url": n.URL, "style": "primary"}}})
	}
	body, err := json.Marshal(map[string]any{"text": "Approval needed: " + n.Tool + " on " + n.Server + " (" + n.ID + ")", "blocks": blocks})
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return post(ctx, s.Client, s.URL, body, nil)
}

// Teams posts an Adaptive Card to a Microsoft Teams incoming webhook
// (Workflows or connector URL).
type Teams struct {
	URL    string
	Client *http.Client
}

// Name implements approval.Notifier.
func (t *Teams) Name() string { return "teams" }

// Notify implements approval.Notifier.
func (t *Teams) Notify(ctx context.Context, n approval.Notice) error {
	facts := []any{
		map[string]any{"title": "Tool", "value": n.Tool},
		map[string]any{"title": "Server", "value": n.Server},
		map[string]any{"title": "Agent", "value": n.Principal},
		map[string]any{"title": "Risk", "value": strconv.Itoa(n.Score) + factorText(n, func(s string) string { return s })},
		map[string]any{"title": "Approvals needed", "value": strconv.Itoa(n.Quorum)},
		map[string]any{"title": "Expires", "value": n.Expires.UTC().Format(time.RFC3339)},
		map[string]any{"title": "Id", "value": n.ID},
	}
	card := map[string]any{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": "Approval needed: " + n.Tool + " on " + n.Server},
			map[string]any{"type": "FactSet", "facts": facts},
		}}
	if n.URL != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Review in console", "url": n.URL}}
	}
	body, err := json.Marshal(map[string]any{"type": "message", "attachments": []any{
		map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}})
	if err != nil {
		return fmt.Errorf("teams: %w", err)
	}
	return post(ctx, t.Client, t.URL, body, nil)
}

func factorText(n approval.Notice, esc func(string) string) string {
	var parts []string
	for _, f := range n.Factors {
		if f.Score > 0 && f.Reason != "" {
			parts = append(parts, esc(f.Name+" "+strconv.Itoa(f.Score)+": "+f.Reason))
		}
		if len(parts) == 3 {
			break
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func slackEsc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

func post(ctx context.Context, c *http.Client, url string, body []byte, hdr map[string]string) error {
	if c == nil {
		c = defaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "portcullis-approvals")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify: %s answered %s", hostOf(url), resp.Status)
	}
	return nil
}

// hostOf keeps webhook URLs (which are secrets for Slack and Teams) out of
// error messages.
func hostOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?"); i >= 0 {
		u = u[:i]
	}
	return u
}

var (
	_ approval.Notifier = (*Webhook)(nil)
	_ approval.Notifier = (*Slack)(nil)
	_ approval.Notifier = (*Teams)(nil)
)
