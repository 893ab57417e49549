package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeTransport struct {
	mu      sync.Mutex
	lim     Limits
	fail    []error // errors returned by successive calls, then nil
	batches [][]string
	calls   int
}

func (f *fakeTransport) Limits() Limits { return f.lim }
func (f *fakeTransport) Send(_ context.Context, events [][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return err
	}
	var b []string
	for _, e := range events {
		b = append(b, string(e))
	}
	f.batches = append(f.batches, b)
	return nil
}

func (f *fakeTransport) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.batches {
		out = append(out, b...)
	}
	return out
}

func fastOpts(dir string) Options {
	return Options{SpoolDir: dir, FlushInterval: 5 * time.Millisecond, InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
}

func events(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"seq":%d}`, i+1)
	}
	return out
}

func TestNextBatchLimits(t *testing.T) {
	ev := [][]byte{[]byte("aaaa"), []byte("bbbb"), []byte("cccc"), []byte("dddd")}
	tests := []struct {
		name string
		lim  Limits
		want int
	}{
		{"count", Limits{MaxEvents: 3}, 3},
		{"bytes", Limits{MaxBytes: 10}, 2},
		{"overhead", Limits{MaxBytes: 10, PerEventOverhead: 2}, 1},
		{"oversized single event still goes alone", Limits{MaxBytes: 1}, 1},
		{"unlimited", Limits{}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { require.Len(t, nextBatch(ev, tc.lim), tc.want) })
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&HTTPError{Status: 500}, true},
		{&HTTPError{Status: 503}, true},
		{&HTTPError{Status: 429}, true},
		{&HTTPError{Status: 408}, true},
		{&HTTPError{Status: 400}, false},
		{&HTTPError{Status: 403}, false},
		{TokenExpired(), true},
		{errors.New("connection refused"), true},
		{&PermanentError{Err: errors.New("bad url")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) { require.Equal(t, tc.want, Retryable(tc.err)) })
	}
}

func TestExporterBatchesRetriesAndDelivers(t *testing.T) {
	ft := &fakeTransport{lim: Limits{MaxEvents: 4}, fail: []error{&HTTPError{Status: 503}, errors.New("reset"), &HTTPError{Status: 429}}}
	var errs int
	var mu sync.Mutex
	o := fastOpts(t.TempDir())
	o.OnError = func(string, error) { mu.Lock(); errs++; mu.Unlock() }
	e, err := New("fake", ft, o)
	require.NoError(t, err)
	for _, ev := range events(10) {
		e.WriteRecord([]byte(ev))
	}
	require.Eventually(t, func() bool { return len(ft.sent()) == 10 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e.Close())
	require.Equal(t, events(10), ft.sent(), "in order, each exactly once")
	for _, b := range ft.batches {
		require.LessOrEqual(t, len(b), 4)
	}
	require.Equal(t, 3, errs)
	st := e.Stats()
	require.EqualValues(t, 10, st.Sent)
	require.EqualValues(t, 3, st.Failures)
	left, _ := filepath.Glob(filepath.Join(o.SpoolDir, "*"))
	require.Empty(t, left, "spool is empty after delivery")
}

func TestExporterOutageSpoolsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	down := &fakeTransport{lim: Limits{MaxEvents: 3}}
	for i := 0; i < 1000; i++ {
		down.fail = append(down.fail, &HTTPError{Status: 503})
	}
	e, err := New("fake", down, fastOpts(dir))
	require.NoError(t, err)
	for _, ev := range events(7) {
		e.WriteRecord([]byte(ev))
	}
	require.Eventually(t, func() bool { down.mu.Lock(); defer down.mu.Unlock(); return down.calls > 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e.Close())
	require.Empty(t, down.sent())
	spooled, _ := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	require.NotEmpty(t, spooled)

	// The service is back: a new exporter on the same spool delivers everything.
	up := &fakeTransport{lim: Limits{MaxEvents: 3}}
	e2, err := New("fake", up, fastOpts(dir))
	require.NoError(t, err)
	e2.WriteRecord([]byte(`{"seq":8}`))
	require.Eventually(t, func() bool { return len(up.sent()) == 8 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e2.Close())
	require.Equal(t, events(8), up.sent())
}

func TestExporterPartialProgressNotResent(t *testing.T) {
	dir := t.TempDir()
	// First batch accepted, then an outage: Close's single final pass stops
	// after batch 1 and records the progress.
	ft := &fakeTransport{lim: Limits{MaxEvents: 2}}
	e, err := New("fake", &failAfter{fakeTransport: ft, ok: 1}, Options{SpoolDir: dir, FlushInterval: time.Hour})
	require.NoError(t, err)
	for _, ev := range events(5) {
		e.WriteRecord([]byte(ev))
	}
	require.NoError(t, e.Close())
	require.Equal(t, events(2), ft.sent())

	up := &fakeTransport{lim: Limits{MaxEvents: 2}}
	e2, err := New("fake", up, fastOpts(dir))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(up.sent()) == 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e2.Close())
	require.Equal(t, events(5)[2:], up.sent(), "the acknowledged batch is not resent")
}

type failAfter struct {
	*fakeTransport
	ok int
}

func (f *failAfter) Send(ctx context.Context, ev [][]byte) error {
	if f.ok > 0 {
		f.ok--
		return f.fakeTransport.Send(ctx, ev)
	}
	return &HTTPError{Status: http.StatusServiceUnavailable}
}

func TestExporterDeadLettersPermanentRejection(t *testing.T) {
	dir := t.TempDir()
	// Every send is rejected permanently: however the three records are
	// batched (one batch, or several when the flush timer fires between
	// writes on a loaded machine), all of them end up dead-lettered.
	bad := &HTTPError{Status: 400, Body: "invalid"}
	ft := &fakeTransport{lim: Limits{MaxEvents: 10}, fail: []error{bad, bad, bad}}
	e, err := New("fake", ft, fastOpts(dir))
	require.NoError(t, err)
	for _, ev := range events(3) {
		e.WriteRecord([]byte(ev))
	}
	require.Eventually(t, func() bool { return e.Stats().Dead == 3 }, 20*time.Second, time.Millisecond)
	require.NoError(t, e.Close())
	dead, _ := filepath.Glob(filepath.Join(dir, "dead-*.jsonl"))
	require.NotEmpty(t, dead)
	sort.Strings(dead)
	var all strings.Builder
	for _, f := range dead {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		all.Write(b)
	}
	require.Equal(t, strings.Join(events(3), "\n")+"\n", all.String())
}
