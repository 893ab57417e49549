package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Append.
var (
	// ErrQueueFull: the queue is full and on_full is "block". The caller must
	// fail closed (refuse the request) because it cannot be audited.
	ErrQueueFull = errors.New("audit: queue full")
	// ErrClosed: Append after Close.
	ErrClosed = errors.New("audit: log closed")
)

// Sink receives committed (fsynced) records and checkpoints. Implementations
// must not block the writer: they buffer or spool and deliver in the
// background. The byte slices are only valid during the call.
type Sink interface {
	Name() string
	// WriteRecord receives one canonical record (OCSF-shaped JSON object).
	WriteRecord(rec []byte)
	// WriteCheckpoint receives one signed checkpoint (JSON object).
	WriteCheckpoint(cp []byte)
	// Close flushes what it can and releases resources.
	Close() error
}

// Observer receives the log's own telemetry (telemetry.Telemetry implements it).
type Observer interface {
	AuditQueueDepth(n int)
	AuditFsync(d time.Duration, records int)
	AuditDropped(n int)
}

// Option configures Open.
type Option func(*options)

type options struct {
	sinks    []Sink
	cpSinks  map[string]bool
	observer Observer
	now      func() time.Time
}

// WithSinks adds export sinks. Records are handed to them after fsync.
// Checkpoints are pushed to every sink except those listed in cfg.Sinks
// with checkpoints: false.
func WithSinks(s ...Sink) Option { return func(o *options) { o.sinks = append(o.sinks, s...) } }

// WithObserver reports queue depth, fsync latency and drops.
func WithObserver(obs Observer) Option { return func(o *options) { o.observer = obs } }

// Stats are cumulative counters of a Log.
type Stats struct {
	Appended    uint64 // accepted by Append
	Written     uint64 // records written (including gap/recovery records)
	Dropped     uint64 // dropped because the queue was full (on_full: drop)
	Rejected    uint64 // refused with ErrQueueFull (on_full: block)
	Fsyncs      uint64
	Checkpoints uint64
	QueueDepth  int
}

// Log is the tamper-evident audit log: a single writer goroutine appends
// hash-chained records to segment files with group commit and signed
// checkpoints. A nil *Log is valid and discards everything (audit disabled).
type Log struct {
	cfg      Config
	opts     options
	q        chan *Record
	mu       sync.RWMutex // guards closed vs. sends on q
	closed   bool
	syncReq  chan chan error
	done     chan struct{}
	failed   atomic.Pointer[error]
	digest   []byte
	redactor atomic.Pointer[ContentRedactor]
	dropped  atomic.Uint64 // since the last gap record
	stats    struct{ appended, written, dropped, rejected, fsyncs, checkpoints atomic.Uint64 }
	closeErr error

	// writer goroutine state
	w           *writer
	key         signer
	commitTimer *time.Timer
	timerArmed  bool
}

// Open starts a log in cfg.Dir (created if missing). cfg should have been
// defaulted and validated. An empty Dir returns a nil *Log, on which every
// method is a cheap no-op. An existing directory is resumed: the chain
// continues from the last complete record; a torn last write left by a
// crash is cut off and a recovery record says how many bytes were lost.
func Open(cfg Config, opts ...Option) (*Log, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("audit: invalid config: %w", err)
	}
	var o options
	o.now = time.Now
	for _, f := range opts {
		f(&o)
	}
	o.cpSinks = map[string]bool{}
	for _, s := range cfg.Sinks {
		o.cpSinks[s.Name] = s.Checkpoints == nil || *s.Checkpoints
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create dir: %w", err)
	}
	l := &Log{
		cfg:     cfg,
		opts:    o,
		q:       make(chan *Record, cfg.Queue.Size),
		syncReq: make(chan chan error),
		done:    make(chan struct{}),
	}
	if cfg.DigestKeyFile != "" {
		k, err := os.ReadFile(cfg.DigestKeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit: digest key: %w", err)
		}
		l.digest = bytes.TrimSpace(k)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	key, err := loadOrCreateSigner(cfg.Checkpoint.KeyFile, cfg.Dir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	l.key = key
	w, recovered, err := openWriter(cfg.Dir, cfg.SegmentBytes)
	if err != nil {
		lock.Close()
		return nil, err
	}
	w.lock = lock
	l.w = w
	l.commitTimer = time.NewTimer(time.Hour)
	l.commitTimer.Stop()
	if recovered != "" {
		if err := l.writeRecord(&Record{Time: o.now(), kind: "recovery", note: recovered}); err != nil {
			w.close()
			return nil, err
		}
	}
	go l.run()
	return l, nil
}

// Digest returns the configured digest of b (HMAC-SHA256 when
// digest_key_file is set, SHA-256 otherwise). Safe on a nil Log.
func (l *Log) Digest(b []byte) string {
	if l == nil {
		return Digest(nil, b)
	}
	return Digest(l.digest, b)
}

// Content reports whether content recording is on. Callers may skip building
// Record.Content when it is false.
func (l *Log) Content() bool { return l != nil && l.cfg.Content }

// ContentRedactor redacts one piece of recorded content (JSON text or a
// message) the way the gateway redacts what it forwards.
type ContentRedactor func(content []byte) ([]byte, error)

// SetContentRedactor installs the redactor used for redact decisions whose
// content the caller did not mark Redacted. Without one such content is
// withheld. Safe on a nil Log and concurrently with Append.
func (l *Log) SetContentRedactor(fn ContentRedactor) {
	if l == nil {
		return
	}
	if fn == nil {
		l.redactor.Store(nil)
		return
	}
	l.redactor.Store(&fn)
}

// protectContent makes sure a redact decision never stores raw content.
func (l *Log) protectContent(r *Record) {
	c := r.Content
	if c == nil || c.Redacted || (r.Decision != DecisionRedact && r.WouldBe != DecisionRedact) {
		return
	}
	fn := l.redactor.Load()
	if fn == nil {
		r.Content, r.withheld = nil, "redact decision: content was not redacted and no redactor is configured"
		return
	}
	for _, f := range []*string{&c.Arguments, &c.Result, &c.Error} {
		if *f == "" {
			continue
		}
		out, err := (*fn)([]byte(*f))
		if err != nil {
			r.Content, r.withheld = nil, "redact decision: redacting the content failed"
			return
		}
		*f = string(out)
	}
	c.Redacted = true
}

// Append queues r without waiting for disk and takes ownership of r. It
// returns ErrQueueFull when the queue is full and on_full is block (fail
// closed), nil when the record is dropped under on_full: drop (counted and
// recorded as a gap), and the writer's error once writing has failed.
func (l *Log) Append(r *Record) error {
	if l == nil {
		return nil
	}
	if !l.cfg.Content {
		r.Content = nil
	} else {
		l.protectContent(r)
	}
	r.sanitize(l.digest, l.cfg.Content)
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if p := l.failed.Load(); p != nil {
		return *p
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.q <- r:
		l.stats.appended.Add(1)
		if l.cfg.Durable {
			// Under the read lock: Close waits, so the writer is running.
			return l.sync()
		}
		return nil
	default:
	}
	if l.cfg.Queue.OnFull == OnFullDrop {
		l.dropped.Add(1)
		l.stats.dropped.Add(1)
		if l.opts.observer != nil {
			l.opts.observer.AuditDropped(1)
		}
		return nil
	}
	l.stats.rejected.Add(1)
	return ErrQueueFull
}

// Sync waits until every record appended before the call is durable.
func (l *Log) Sync() error {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	l.mu.RUnlock()
	return l.sync()
}

func (l *Log) sync() error {
	ch := make(chan error, 1)
	select {
	case l.syncReq <- ch:
		return <-ch
	case <-l.done:
		return ErrClosed
	}
}

// Err is the writer's failure, if writing has failed (Append then fails
// closed); nil while the log is healthy. Safe on a nil Log.
func (l *Log) Err() error {
	if l == nil {
		return nil
	}
	if p := l.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// Stats returns cumulative counters.
func (l *Log) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return Stats{
		Appended: l.stats.appended.Load(), Written: l.stats.written.Load(),
		Dropped: l.stats.dropped.Load(), Rejected: l.stats.rejected.Load(),
		Fsyncs: l.stats.fsyncs.Load(), Checkpoints: l.stats.checkpoints.Load(),
		QueueDepth: len(l.q),
	}
}

// Close drains the queue, commits, writes a final checkpoint and closes the
// files and sinks. It is idempotent.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return l.closeErr
	}
	l.closed = true
	close(l.q)
	l.mu.Unlock()
	<-l.done
	return l.closeErr
}

func (l *Log) run() {
	defer close(l.done)
	cpTicker := time.NewTicker(l.cfg.Checkpoint.Interval)
	defer cpTicker.Stop()
	var err error
	for err == nil {
		select {
		case r, ok := <-l.q:
			if !ok {
				l.closeErr = l.finish()
				return
			}
			err = l.handle(r)
			// Drain what is already queued before looking at timers.
			for n := 0; err == nil && n < 1024; n++ {
				select {
				case r, ok = <-l.q:
				default:
					ok, r = false, nil
				}
				if r == nil {
					break
				}
				err = l.handle(r)
				if !ok {
					break
				}
			}
			if l.opts.observer != nil {
				l.opts.observer.AuditQueueDepth(len(l.q))
			}
		case <-l.commitTimer.C:
			l.timerArmed = false
			err = l.commit()
		case <-cpTicker.C:
			err = l.gap() // drops with no traffic since still get their gap record
			if err == nil && (l.w.seq > l.w.cpSize || l.opts.now().Sub(l.w.cpTime) >= l.cfg.Checkpoint.Idle) {
				// New records, or an idle heartbeat: either way a verifier
				// learns the log was alive and this long at this time.
				err = l.checkpoint(false)
			}
		case ch := <-l.syncReq:
			// Everything appended before Sync was called is already in
			// the queue: drain it, then commit.
			err = l.drain()
			if err == nil {
				err = l.gap()
			}
			if err == nil {
				err = l.commit()
			}
			ch <- err
		}
	}
	// Writing failed: remember the error so Append fails closed, then keep
	// draining so senders never block, until Close.
	werr := fmt.Errorf("audit: writer failed: %w", err)
	l.failed.Store(&werr)
	slog.Error("audit log writer failed; Append now fails closed", "dir", l.cfg.Dir, "err", err)
	for {
		select {
		case _, ok := <-l.q:
			if !ok {
				l.w.close()
				l.closeSinks()
				l.closeErr = werr
				return
			}
		case ch := <-l.syncReq:
			ch <- werr
		}
	}
}

// drain handles every record currently queued.
func (l *Log) drain() error {
	for {
		select {
		case r, ok := <-l.q:
			if !ok {
				return nil
			}
			if err := l.handle(r); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (l *Log) handle(r *Record) error {
	if err := l.gap(); err != nil {
		return err
	}
	err := l.writeRecord(r)
	r.release()
	if err != nil {
		return err
	}
	if l.w.unsynced >= l.cfg.Commit.Every {
		return l.commit()
	}
	if !l.timerArmed {
		l.commitTimer.Reset(l.cfg.Commit.Interval)
		l.timerArmed = true
	}
	return nil
}

// gap writes a gap record when records were dropped since the last one.
func (l *Log) gap() error {
	n := l.dropped.Swap(0)
	if n == 0 {
		return nil
	}
	return l.writeRecord(&Record{Time: l.opts.now(), kind: "gap", dropped: n})
}

func (l *Log) writeRecord(r *Record) error {
	canon, err := l.w.append(r, l.cfg.Content)
	if err != nil {
		return err
	}
	l.stats.written.Add(1)
	if len(l.opts.sinks) > 0 {
		l.w.pending = append(l.w.pending, slices.Clone(canon))
	}
	if l.w.seq-l.w.cpSize >= uint64(l.cfg.Checkpoint.Every) {
		return l.checkpoint(false)
	}
	return nil
}

func (l *Log) commit() error {
	if l.timerArmed {
		l.commitTimer.Stop()
		l.timerArmed = false
	}
	if l.w.unsynced == 0 {
		return nil
	}
	n := l.w.unsynced
	start := time.Now()
	if err := l.w.sync(); err != nil {
		return err
	}
	l.stats.fsyncs.Add(1)
	if l.opts.observer != nil {
		l.opts.observer.AuditFsync(time.Since(start), n)
	}
	for _, rec := range l.w.pending {
		for _, s := range l.opts.sinks {
			s.WriteRecord(rec)
		}
	}
	clear(l.w.pending)
	l.w.pending = l.w.pending[:0]
	return nil
}

// checkpoint commits and then appends a signed checkpoint covering every
// record written so far; final marks the one written by Close.
func (l *Log) checkpoint(final bool) error {
	if err := l.commit(); err != nil {
		return err
	}
	now := l.opts.now()
	cp := Checkpoint{
		Origin:     CheckpointOrigin,
		Size:       l.w.seq,
		Head:       hex.EncodeToString(l.w.head[:]),
		Segment:    segmentName(l.w.segIdx),
		Time:       now.UTC().Format(time.RFC3339Nano),
		Every:      uint64(l.cfg.Checkpoint.Every),
		IntervalMS: l.cfg.Checkpoint.Interval.Milliseconds(),
		IdleMS:     l.cfg.Checkpoint.Idle.Milliseconds(),
		Final:      final,
	}
	l.key.sign(&cp)
	line, err := cp.marshal()
	if err != nil {
		return err
	}
	if err := l.w.writeCheckpoint(line); err != nil {
		return err
	}
	l.w.cpSize, l.w.cpTime = l.w.seq, now
	l.stats.checkpoints.Add(1)
	for _, s := range l.opts.sinks {
		if push, configured := l.opts.cpSinks[s.Name()]; push || !configured {
			s.WriteCheckpoint(line[:len(line)-1])
		}
	}
	return nil
}

func (l *Log) finish() error {
	err := l.gap()
	if err == nil {
		// Always a closing checkpoint, even without new records: it tells
		// a verifier the log ended here on purpose.
		err = l.checkpoint(true)
	}
	if err == nil {
		err = l.commit()
	}
	if cerr := l.w.close(); err == nil {
		err = cerr
	}
	if serr := l.closeSinks(); err == nil {
		err = serr
	}
	return err
}

func (l *Log) closeSinks() error {
	var errs []error
	for _, s := range l.opts.sinks {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}
