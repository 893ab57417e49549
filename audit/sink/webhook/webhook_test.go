package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

// The Standard Webhooks spec's example: secret, id, timestamp and body
// produce this signature (spec/standard-webhooks.md).
func TestSignMatchesSpecExample(t *testing.T) {
	key, err := DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", got)
}

func TestDecodeSecret(t *testing.T) {
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_YQ=="} {
		_, err := DecodeSecret(bad)
		require.Error(t, err, bad)
	}
}

type delivery struct {
	id, ts, sig string
	body        []byte
}

func TestWebhookWireFormatAndRetry(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := DecodeSecret(secret)
	var mu sync.Mutex
	var got []delivery
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), b})
		n := len(got)
		mu.Unlock()
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // first attempt fails
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tr, err := New(srv.URL, secret, srv.Client())
	require.NoError(t, err)
	e, err := sink.New("hook", tr, sink.Options{SpoolDir: t.TempDir(), FlushInterval: 5 * time.Millisecond, InitialBackoff: time.Millisecond})
	require.NoError(t, err)
	e.WriteRecord([]byte(`{"seq":1,"kind":"decision"}`))
	e.WriteCheckpoint([]byte(`{"origin":"portcullis-audit/v1","size":1}`))
	require.Eventually(t, func() bool { return e.Stats().Sent == 2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e.Close())

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2, "one failed attempt, one retry")
	require.Equal(t, got[0].id, got[1].id, "a retry keeps the webhook-id")
	for _, d := range got {
		require.Regexp(t, `^msg_[0-9a-f]{32}$`, d.id)
		ts, err := strconv.ParseInt(d.ts, 10, 64)
		require.NoError(t, err)
		require.InDelta(t, time.Now().Unix(), ts, 60)
		want := Sign(key, d.id, ts, d.body)
		require.True(t, hmac.Equal([]byte(want), []byte(d.sig)), "signature over id.timestamp.body")
		raw, err := base64.StdEncoding.DecodeString(d.sig[3:])
		require.NoError(t, err)
		require.Len(t, raw, 32)
		require.Equal(t, EventType, gjson.GetBytes(d.body, "type").String())
		require.EqualValues(t, 1, gjson.GetBytes(d.body, "data.0.seq").Int())
		require.Equal(t, "portcullis-audit/v1", gjson.GetBytes(d.body, "data.1.origin").String())
	}
}
