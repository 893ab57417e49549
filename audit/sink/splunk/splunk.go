// Package splunk delivers audit batches to a Splunk HTTP Event Collector:
// POST <base>/services/collector/event with "Authorization: Splunk <token>"
// and a body of newline-separated JSON envelopes
// {"time":<epoch seconds.ms>,"host":..,"source":..,"sourcetype":..,"index":..,"event":<record>}.
package splunk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

// Batch limits: HEC's default max_content_length is 1,000,000 bytes
// (limits.conf [http_input]); stay under it with a bounded event count.
const (
	MaxEvents = 1000
	MaxBytes  = 1_000_000
)

// Transport posts HEC batches.
type Transport struct {
	URL                             string // base URL, e.g. https://splunk:8088
	Token                           string
	Index, Source, SourceType, Host string
	Client                          *http.Client
}

var _ sink.Transport = (*Transport)(nil)

// New returns a HEC transport.
func New(baseURL, token, index, source, sourceType string, client *http.Client) *Transport {
	if client == nil {
		client = &http.Client{}
	}
	if source == "" {
		source = "portcullis"
	}
	if sourceType == "" {
		sourceType = "_json"
	}
	host, _ := os.Hostname()
	return &Transport{URL: strings.TrimSuffix(baseURL, "/") + "/services/collector/event", Token: strings.TrimSpace(token),
		Index: index, Source: source, SourceType: sourceType, Host: host, Client: client}
}

// Limits implements sink.Transport.
func (t *Transport) Limits() sink.Limits {
	return sink.Limits{MaxEvents: MaxEvents, MaxBytes: MaxBytes, PerEventOverhead: 160 + len(t.Index) + len(t.Source) + len(t.SourceType) + len(t.Host)}
}

// Envelope appends one HEC envelope for event. The time is the record's
// "time" (epoch ms) as seconds with millisecond fraction; events without a
// numeric time (checkpoints) get the receipt time.
func (t *Transport) Envelope(b []byte, event []byte) []byte {
	b = append(b, '{')
	if ms := gjson.GetBytes(event, "time"); ms.Type == gjson.Number {
		v := ms.Int()
		b = append(b, `"time":`...)
		b = strconv.AppendInt(b, v/1000, 10)
		b = append(b, '.')
		b = append(b, byte('0'+v%1000/100), byte('0'+v%100/10), byte('0'+v%10))
		b = append(b, ',')
	}
	for _, f := range []struct{ k, v string }{{"host", t.Host}, {"source", t.Source}, {"sourcetype", t.SourceType}, {"index", t.Index}} {
		if f.v != "" {
			q, _ := json.Marshal(f.v)
			b = append(b, `"`+f.k+`":`...)
			b = append(b, q...)
			b = append(b, ',')
		}
	}
	b = append(b, `"event":`...)
	b = append(b, event...)
	return append(b, '}')
}

// Send implements sink.Transport.
func (t *Transport) Send(ctx context.Context, events [][]byte) error {
	var body []byte
	for i, ev := range events {
		if i > 0 {
			body = append(body, '\n')
		}
		body = t.Envelope(body, ev)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return &sink.PermanentError{Err: fmt.Errorf("splunk: %w", err)}
	}
	req.Header.Set("Authorization", "Splunk "+t.Token)
	req.Header.Set("Content-Type", "application/json")
	return sink.Do(t.Client, req)
}
