package sink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-mcp/portcullis/audit"
)

// Limits bound one call to a service.
type Limits struct {
	MaxEvents int // events per call
	MaxBytes  int // encoded request body bytes per call
	// PerEventOverhead is added to each event's length when sizing a batch
	// (envelope, separators).
	PerEventOverhead int
}

// Transport delivers one batch of events (each a JSON object) to a service.
type Transport interface {
	Limits() Limits
	Send(ctx context.Context, events [][]byte) error
}

// Options configure an Exporter.
type Options struct {
	// SpoolDir holds undelivered events (required).
	SpoolDir string
	// FlushInterval bounds how long a partial batch waits (default 1s).
	FlushInterval time.Duration
	// InitialBackoff and MaxBackoff bound retry delays (defaults 200ms, 30s).
	InitialBackoff, MaxBackoff time.Duration
	// Timeout per Send (default 10s).
	Timeout time.Duration
	// OnError is called for every failed attempt (e.g. telemetry.SinkError).
	OnError func(sink string, err error)
	// OnDelivered is called with the number of events each accepted batch
	// carried (e.g. telemetry.SinkDelivered).
	OnDelivered func(sink string, n int)
	// OnDropped is called with the number of events that will never be
	// delivered: refused because the spool was full, or moved to a
	// dead-letter file (e.g. telemetry.SinkDropped).
	OnDropped func(sink string, n int)
	// MaxSpoolBytes bounds the undelivered events kept on disk; past it new
	// events are dropped and counted (0: unbounded). The audit log itself
	// keeps every record, so a SIEM outage costs disk up to this bound,
	// never the gateway's availability.
	MaxSpoolBytes int64
}

// Exporter is an audit.Sink that spools to disk and delivers in the background.
type Exporter struct {
	name string
	t    Transport
	o    Options

	mu      sync.Mutex
	cur     *os.File
	bw      *bufio.Writer
	curN    int
	fileSeq uint64
	werr    error

	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	// spoolBytes is the size of the spool-*.jsonl files (what is not
	// delivered yet, plus delivered parts of a file still in progress).
	spoolBytes atomic.Int64
	full       bool // under mu: the last event was dropped (log once per episode)

	statsMu sync.Mutex
	stats   Stats
}

// Stats are delivery counters.
type Stats struct {
	Sent     uint64 // events acknowledged
	Batches  uint64 // successful calls
	Failures uint64 // failed attempts
	Dead     uint64 // events moved to dead-letter files
	Dropped  uint64 // events refused because the spool was full
}

var _ audit.Sink = (*Exporter)(nil)

// New starts an exporter; spooled events from a previous run are delivered first.
func New(name string, t Transport, o Options) (*Exporter, error) {
	if o.SpoolDir == "" {
		return nil, errors.New("sink: spool dir is required")
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if err := os.MkdirAll(o.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("sink %s: spool: %w", name, err)
	}
	e := &Exporter{name: name, t: t, o: o, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	files, err := e.spooled()
	if err != nil {
		return nil, err
	}
	if n := len(files); n > 0 {
		e.fileSeq = files[n-1].seq
	}
	for _, f := range files {
		if fi, err := os.Stat(f.path); err == nil {
			e.spoolBytes.Add(fi.Size())
		}
	}
	go e.run()
	return e, nil
}

// Name implements audit.Sink.
func (e *Exporter) Name() string { return e.name }

// WriteRecord implements audit.Sink: it appends the record to the spool.
func (e *Exporter) WriteRecord(rec []byte) { e.write(rec) }

// WriteCheckpoint implements audit.Sink: checkpoints travel as events too.
func (e *Exporter) WriteCheckpoint(cp []byte) { e.write(cp) }

func (e *Exporter) write(ev []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := int64(len(ev) + 1)
	if max := e.o.MaxSpoolBytes; max > 0 && e.spoolBytes.Load()+n > max {
		if !e.full {
			// Once per episode, not per event.
			slog.Warn("audit sink spool full: dropping events until delivery catches up (the audit log keeps them)", "sink", e.name, "max_spool_bytes", max)
			e.full = true
		}
		e.statsMu.Lock()
		e.stats.Dropped++
		e.statsMu.Unlock()
		if e.o.OnDropped != nil {
			e.o.OnDropped(e.name, 1)
		}
		return
	}
	e.full = false
	if e.cur == nil {
		e.fileSeq++
		f, err := os.OpenFile(e.spoolPath(e.fileSeq), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			e.fail(err)
			return
		}
		e.cur, e.curN = f, 0
		if e.bw == nil {
			e.bw = bufio.NewWriterSize(f, 32<<10)
		} else {
			e.bw.Reset(f)
		}
	}
	e.bw.Write(ev)
	if err := e.bw.WriteByte('\n'); err != nil {
		e.fail(err)
		return
	}
	e.spoolBytes.Add(n)
	e.curN++
	if e.curN >= e.t.Limits().MaxEvents {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
}

func (e *Exporter) fail(err error) {
	e.werr = err
	if e.o.OnError != nil {
		e.o.OnError(e.name, fmt.Errorf("spool: %w", err))
	}
}

// seal closes the current spool file so the sender may take it.
func (e *Exporter) seal() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return nil
	}
	err := e.bw.Flush()
	if cerr := e.cur.Close(); err == nil {
		err = cerr
	}
	e.cur = nil
	return err
}

// Stats returns delivery counters.
func (e *Exporter) Stats() Stats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	return e.stats
}

// Close seals the spool, makes one last delivery pass without waiting on
// backoff, and stops. Undelivered events stay spooled for the next start.
func (e *Exporter) Close() error {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	<-e.done
	return e.werr
}

func (e *Exporter) spoolPath(seq uint64) string {
	return filepath.Join(e.o.SpoolDir, fmt.Sprintf("spool-%012d.jsonl", seq))
}

type spoolFile struct {
	path string
	seq  uint64
}

func (e *Exporter) spooled() ([]spoolFile, error) {
	ents, err := os.ReadDir(e.o.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("sink %s: spool: %w", e.name, err)
	}
	var out []spoolFile
	for _, d := range ents {
		n := d.Name()
		if !strings.HasPrefix(n, "spool-") || !strings.HasSuffix(n, ".jsonl") {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, "spool-"), ".jsonl"), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, spoolFile{filepath.Join(e.o.SpoolDir, n), seq})
	}
	slices.SortFunc(out, func(a, b spoolFile) int { return int(a.seq - b.seq) })
	return out, nil
}

func (e *Exporter) run() {
	defer close(e.done)
	tick := time.NewTicker(e.o.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			e.seal()
			e.deliverAll(true)
			return
		case <-tick.C:
		case <-e.kick:
		}
		if err := e.seal(); err != nil {
			e.fail(err)
		}
		e.deliverAll(false)
	}
}

// deliverAll sends every sealed spool file in order. With final set it
// makes a single attempt per batch and stops at the first failure.
func (e *Exporter) deliverAll(final bool) {
	files, err := e.spooled()
	if err != nil {
		e.fail(err)
		return
	}
	e.mu.Lock()
	curSeq := uint64(0)
	if e.cur != nil {
		curSeq = e.fileSeq
	}
	e.mu.Unlock()
	for _, f := range files {
		if f.seq == curSeq {
			break
		}
		if !e.deliverFile(f.path, final) {
			return
		}
	}
}

// deliverFile sends one spool file batch by batch, recording progress in
// <file>.sent. It returns false when delivery stopped (shutdown).
func (e *Exporter) deliverFile(path string, final bool) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		e.fail(err)
		return false
	}
	events := bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
	if len(data) == 0 {
		events = nil
	}
	sentPath := path + ".sent"
	done := 0
	if b, err := os.ReadFile(sentPath); err == nil {
		done, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	lim := e.t.Limits()
	for done < len(events) {
		batch := nextBatch(events[done:], lim)
		ok, dead := e.sendWithRetry(batch, final)
		if dead {
			e.deadLetter(path, events[done:], int64(len(data)))
			return true
		}
		if !ok {
			return false
		}
		done += len(batch)
		if done < len(events) {
			if err := os.WriteFile(sentPath, []byte(strconv.Itoa(done)), 0o600); err != nil {
				e.fail(err)
				return false
			}
		}
	}
	e.removeSpool(path, int64(len(data)))
	os.Remove(sentPath)
	return true
}

// removeSpool deletes a spool file of size bytes and frees its room.
func (e *Exporter) removeSpool(path string, size int64) {
	if err := os.Remove(path); err == nil || errors.Is(err, os.ErrNotExist) {
		e.spoolBytes.Add(-size)
	}
}

// SpoolBytes returns the bytes of undelivered spool files.
func (e *Exporter) SpoolBytes() int64 { return e.spoolBytes.Load() }

// nextBatch takes as many events as fit the limits (at least one; an event
// larger than MaxBytes is sent alone and the service decides).
func nextBatch(events [][]byte, lim Limits) [][]byte {
	size := 0
	for i, ev := range events {
		n := len(ev) + lim.PerEventOverhead
		if i > 0 && ((lim.MaxEvents > 0 && i >= lim.MaxEvents) || (lim.MaxBytes > 0 && size+n > lim.MaxBytes)) {
			return events[:i]
		}
		size += n
	}
	return events
}

func (e *Exporter) deadLetter(path string, rest [][]byte, size int64) {
	dead := strings.Replace(path, "spool-", "dead-", 1)
	if err := os.WriteFile(dead, append(bytes.Join(rest, []byte{'\n'}), '\n'), 0o600); err != nil {
		e.fail(err)
		return
	}
	e.removeSpool(path, size)
	os.Remove(path + ".sent")
	e.statsMu.Lock()
	e.stats.Dead += uint64(len(rest))
	e.statsMu.Unlock()
	if e.o.OnDropped != nil {
		e.o.OnDropped(e.name, len(rest))
	}
}

// sendWithRetry returns ok when the batch was accepted, dead when the
// service rejected it permanently.
func (e *Exporter) sendWithRetry(batch [][]byte, final bool) (ok, dead bool) {
	backoff := e.o.InitialBackoff
	for {
		ctx, cancel := context.WithTimeout(context.Background(), e.o.Timeout)
		err := e.t.Send(ctx, batch)
		cancel()
		if err == nil {
			e.statsMu.Lock()
			e.stats.Sent += uint64(len(batch))
			e.stats.Batches++
			e.statsMu.Unlock()
			if e.o.OnDelivered != nil {
				e.o.OnDelivered(e.name, len(batch))
			}
			return true, false
		}
		e.statsMu.Lock()
		e.stats.Failures++
		e.statsMu.Unlock()
		if e.o.OnError != nil {
			e.o.OnError(e.name, err)
		}
		// Rate is bounded by the backoff; not per request.
		slog.Warn("audit sink delivery failed", "sink", e.name, "events", len(batch), "retryable", Retryable(err), "err", err)
		if !Retryable(err) {
			return false, true
		}
		if final {
			return false, false
		}
		wait := backoff
		var he *HTTPError
		if errors.As(err, &he) && he.RetryAfter > wait {
			wait = min(he.RetryAfter, e.o.MaxBackoff)
		}
		// Full jitter on the upper half avoids synchronized retries.
		wait = wait/2 + rand.N(wait/2+1)
		select {
		case <-e.stop:
			return false, false
		case <-time.After(wait):
		}
		backoff = min(backoff*2, e.o.MaxBackoff)
	}
}

// HTTPError is a non-2xx answer from a service.
type HTTPError struct {
	Status     int
	Body       string
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
}

// Retryable reports whether err is worth retrying: transport errors,
// timeouts, 408, 429 and 5xx.
func Retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusRequestTimeout || he.Status == http.StatusTooManyRequests || he.Status >= 500 || he.Status == http.StatusUnauthorized && he.Body == tokenExpired
	}
	var pe *PermanentError
	return !errors.As(err, &pe)
}

// tokenExpired marks a 401 after which a fresh token should be fetched.
const tokenExpired = "token rejected; refreshing"

// PermanentError marks an error that must not be retried.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Do sends req with client and maps the answer: 2xx nil, otherwise an
// *HTTPError with Retry-After parsed.
func Do(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	he := &HTTPError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil {
			he.RetryAfter = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			he.RetryAfter = time.Until(t)
		}
	}
	return he
}

// TokenExpired returns the retryable error a transport should return after
// a 401 once it has dropped its cached token.
func TokenExpired() error { return &HTTPError{Status: http.StatusUnauthorized, Body: tokenExpired} }
