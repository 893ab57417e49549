// Package sentinel delivers audit batches to Microsoft Sentinel through the
// Azure Monitor Logs Ingestion API: POST
// <endpoint>/dataCollectionRules/<dcr-immutable-id>/streams/<stream>?api-version=2023-01-01
// with an Entra ID bearer token from the OAuth2 client-credentials flow and
// a JSON array of rows (ASIM-style column names, the full OCSF record in
// RawEvent). Success is 204; calls stay under the 1 MB per-call limit.
package sentinel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

// Limits: max 1 MB per API call (Azure Monitor service limits). We size on
// the encoded row and split inside Send if the estimate was low.
const (
	MaxBytes   = 1_000_000
	MaxEvents  = 500
	APIVersion = "2023-01-01"
	// DefaultScope is the Logs Ingestion API token audience.
	DefaultScope = "https://monitor.azure.com//.default"
)

// Transport posts rows to a DCR stream.
type Transport struct {
	IngestURL    string // full stream URL with api-version
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scope        string
	Client       *http.Client
	Now          func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ sink.Transport = (*Transport)(nil)

// New builds the stream URL from the DCR endpoint base, immutable id and stream.
func New(endpoint, dcrID, stream, tokenURL, clientID, clientSecret, scope string, client *http.Client) *Transport {
	if client == nil {
		client = &http.Client{}
	}
	if scope == "" {
		scope = DefaultScope
	}
	u := strings.TrimSuffix(endpoint, "/") + "/dataCollectionRules/" + url.PathEscape(dcrID) + "/streams/" + url.PathEscape(stream) + "?api-version=" + APIVersion
	return &Transport{IngestURL: u, TokenURL: tokenURL, ClientID: clientID, ClientSecret: strings.TrimSpace(clientSecret), Scope: scope, Client: client, Now: time.Now}
}

// Limits implements sink.Transport.
func (t *Transport) Limits() sink.Limits {
	return sink.Limits{MaxEvents: MaxEvents, MaxBytes: MaxBytes, PerEventOverhead: 1024}
}

// accessToken returns a cached token, fetching one with client credentials
// when missing or within a minute of expiry.
func (t *Transport) accessToken(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.Now().Before(t.expires.Add(-time.Minute)) {
		return t.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {t.ClientID}, "client_secret": {t.ClientSecret}, "scope": {t.Scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &sink.PermanentError{Err: fmt.Errorf("sentinel token: %w", err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := t.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sentinel token: %w", err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", &sink.HTTPError{Status: resp.StatusCode, Body: "token endpoint refused client credentials"}
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		return "", errors.New("sentinel token: malformed token response")
	}
	t.token = tr.AccessToken
	t.expires = t.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	return t.token, nil
}

// Row converts one audit record (or checkpoint) into a table row.
func Row(event []byte) []byte {
	g := func(p string) gjson.Result { return gjson.GetBytes(event, p) }
	row := map[string]any{
		"EventVendor":        "Portcullis",
		"EventProduct":       "Portcullis",
		"EventSchemaVersion": "0.1",
		"RawEvent":           json.RawMessage(event),
	}
	if g("origin").Exists() { // checkpoint
		row["TimeGenerated"] = g("time").String()
		row["EventType"] = "AuditCheckpoint"
		row["EventResult"] = "Success"
		row["CheckpointSize"] = g("size").Uint()
		row["CheckpointHead"] = g("head").String()
	} else {
		row["TimeGenerated"] = g("time_dt").String()
		row["EventType"] = "ToolCall"
		if k := g("kind").String(); k != "decision" {
			row["EventType"] = "Audit" + k
		}
		row["EventResult"] = g("status").String()
		dvc := "Allow"
		if g("action_id").Int() == 2 {
			dvc = "Deny"
		}
		row["DvcAction"] = dvc
		row["EventSeverity"] = g("risk_level").String()
		row["ThreatRiskLevel"] = g("risk_score").Int()
		row["ActorUsername"] = g("actor.user.uid").String()
		row["ActorSessionId"] = g("actor.session.uid").String()
		row["TargetAppName"] = g("api.service.name").String()
		row["Operation"] = g("api.operation").String()
		row["ToolName"] = g("resources.0.name").String()
		row["Disposition"] = g("disposition").String()
		row["Decision"] = g("unmapped.portcullis.decision").String()
		row["Plane"] = g("unmapped.portcullis.plane").String()
		row["RuleIds"] = g("policy.uid").String()
		row["PolicyVersion"] = g("policy.version").String()
		row["TraceId"] = g("trace.uid").String()
		row["AuditSeq"] = g("seq").Uint()
	}
	b, _ := json.Marshal(row)
	return b
}

// Send implements sink.Transport.
func (t *Transport) Send(ctx context.Context, events [][]byte) error {
	rows := make([][]byte, len(events))
	for i, ev := range events {
		rows[i] = Row(ev)
	}
	for len(rows) > 0 {
		n, body := 0, []byte{'['}
		for n < len(rows) && (n == 0 || len(body)+len(rows[n])+2 <= MaxBytes) {
			if n > 0 {
				body = append(body, ',')
			}
			body = append(body, rows[n]...)
			n++
		}
		body = append(body, ']')
		if err := t.post(ctx, body); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (t *Transport) post(ctx context.Context, body []byte) error {
	tok, err := t.accessToken(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.IngestURL, bytes.NewReader(body))
	if err != nil {
		return &sink.PermanentError{Err: fmt.Errorf("sentinel: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	err = sink.Do(t.Client, req)
	var he *sink.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
		t.mu.Lock()
		t.token = ""
		t.mu.Unlock()
		return sink.TokenExpired()
	}
	return err
}
