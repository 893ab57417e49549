package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/notify"
)

type received struct {
	hdr  http.Header
	body []byte
}

// receiver is a local fake of Slack, Teams or a webhook endpoint.
func receiver(t *testing.T, status int) (*httptest.Server, chan received) {
	ch := make(chan received, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- received{r.Header.Clone(), b}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

var notice = approval.Notice{ID: "apr_abc", URL: "http://127.0.0.1:9901/approvals/apr_abc", Principal: "agent<1>", Server: "files", Tool: "write_file",
	Score: 55, Quorum: 2, Expires: time.Date(2026, 12, 1, 10, 15, 0, 0, time.UTC),
	Factors: []approval.Factor{{Name: "action", Score: 80, Weight: 3, Reason: "destructive tool"}, {Name: "temporal", Score: 0}}}

func TestChannels(t *testing.T) {
	now := time.Unix(1764583200, 0)
	secret := []byte("webhook-secret-0123456789")
	cases := []struct {
		name  string
		make  func(url string) approval.Notifier
		check func(t *testing.T, r received)
	}{
		{"webhook", func(u string) approval.Notifier {
			return &notify.Webhook{URL: u, Secret: secret, Now: func() time.Time { return now }}
		}, func(t *testing.T, r received) {
			require.NoError(t, notify.Verify(secret, r.hdr.Get(notify.SignatureHeader), r.body, now, 5*time.Minute))
			require.Error(t, notify.Verify([]byte("other"), r.hdr.Get(notify.SignatureHeader), r.body, now, 5*time.Minute))
			require.Error(t, notify.Verify(secret, r.hdr.Get(notify.SignatureHeader), append(r.body, ' '), now, 5*time.Minute), "tampered body")
			require.Error(t, notify.Verify(secret, r.hdr.Get(notify.SignatureHeader), r.body, now.Add(time.Hour), 5*time.Minute), "replayed")
			require.Equal(t, "approval.requested", gjson.GetBytes(r.body, "type").Str)
			require.Equal(t, "apr_abc", gjson.GetBytes(r.body, "approval.id").Str)
			require.Equal(t, notice.URL, gjson.GetBytes(r.body, "approval.url").Str)
		}},
		{"slack", func(u string) approval.Notifier { return &notify.Slack{URL: u} }, func(t *testing.T, r received) {
			require.Contains(t, gjson.GetBytes(r.body, "blocks.0.text.text").Str, "agent&lt;1&gt;", "mrkdwn is escaped")
			require.Contains(t, gjson.GetBytes(r.body, "blocks.1.elements.0.text").Str, "action 80: destructive tool")
			require.Equal(t, notice.URL, gjson.GetBytes(r.body, "blocks.2.elements.0.url").Str)
		}},
		{"teams", func(u string) approval.Notifier { return &notify.Teams{URL: u} }, func(t *testing.T, r received) {
			card := gjson.GetBytes(r.body, "attachments.0.content")
			require.Equal(t, "AdaptiveCard", card.Get("type").Str)
			require.Equal(t, notice.URL, card.Get("actions.0.url").Str)
			require.Equal(t, "write_file", card.Get("body.1.facts.0.value").Str)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, ch := receiver(t, 200)
			n := tc.make(srv.URL + "/hook/secret-path")
			require.NoError(t, n.Notify(context.Background(), notice))
			r := <-ch
			require.Equal(t, "application/json", r.hdr.Get("Content-Type"))
			tc.check(t, r)

			bad, _ := receiver(t, 500)
			err := tc.make(bad.URL+"/hook/secret-path").Notify(context.Background(), notice)
			require.ErrorContains(t, err, "500")
			require.NotContains(t, err.Error(), "secret-path", "webhook URLs stay out of errors")
		})
	}
}

// The service notifies every channel and records which accepted.
func TestServiceNotifies(t *testing.T) {
	srv, ch := receiver(t, 200)
	cfg := approval.Config{ConsoleURL: "http://127.0.0.1:9901"}
	cfg.ApplyDefaults()
	s, err := approval.New(cfg, approval.NewMemoryStore(0), approval.WithNotifiers(&notify.Slack{URL: srv.URL}))
	require.NoError(t, err)
	res, err := s.Check(context.Background(), approval.Binding{Principal: "a", Server: "files", Method: "tools/call", Tool: "t", Arguments: []byte(`{"secret":"x"}`)})
	require.NoError(t, err)
	r := <-ch
	require.Contains(t, string(r.body), res.URL)
	require.NotContains(t, string(r.body), `"x"`)
	s.Close() // waits for the notification goroutine
	got, err := s.Get(context.Background(), res.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"slack"}, got.Notified)
}
