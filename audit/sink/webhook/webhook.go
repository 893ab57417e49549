// Package webhook delivers audit batches as Standard Webhooks 1.0 signed
// HTTP POSTs: headers webhook-id, webhook-timestamp and
// webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>,
// with a whsec_<base64> secret. The id is derived from the body so a retried
// batch keeps its id and receivers can de-duplicate.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

// Batch limits: the Standard Webhooks spec sets none; keep calls small
// enough for common receivers (many cap bodies at 1 MB).
const (
	MaxEvents = 100
	MaxBytes  = 512 << 10
)

// EventType is the "type" of the payload.
const EventType = "portcullis.audit.batch"

// Transport signs and posts batches.
type Transport struct {
	URL    string
	key    []byte
	Client *http.Client
	Now    func() time.Time
}

var _ sink.Transport = (*Transport)(nil)

// New parses a whsec_<base64> secret.
func New(url, secret string, client *http.Client) (*Transport, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Transport{URL: url, key: key, Client: client, Now: time.Now}, nil
}

// DecodeSecret decodes a Standard Webhooks secret ("whsec_" + base64).
func DecodeSecret(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("webhook: secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 16 {
		return nil, errors.New("webhook: secret is not base64 of at least 16 bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for id, timestamp and body.
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Limits implements sink.Transport.
func (t *Transport) Limits() sink.Limits {
	return sink.Limits{MaxEvents: MaxEvents, MaxBytes: MaxBytes, PerEventOverhead: 1}
}

// Body builds the payload {"type":...,"timestamp":...,"data":[events]}.
func Body(events [][]byte, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"` + EventType + `","timestamp":"`)
	b.WriteString(now.UTC().Format(time.RFC3339Nano))
	b.WriteString(`","data":[`)
	for i, ev := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(ev)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// Send implements sink.Transport.
func (t *Transport) Send(ctx context.Context, events [][]byte) error {
	// The id commits to the events, not the send time, so retries keep it.
	h := sha256.New()
	for _, ev := range events {
		h.Write(ev)
		h.Write([]byte{'\n'})
	}
	id := "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
	now := t.Now()
	body := Body(events, now)
	ts := now.Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return &sink.PermanentError{Err: fmt.Errorf("webhook: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(t.key, id, ts, body))
	return sink.Do(t.Client, req)
}
