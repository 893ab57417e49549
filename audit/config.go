package audit

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config is the audit: section of portcullis.yaml.
type Config struct {
	// Dir is where segment files and checkpoints are written. Empty disables the log.
	Dir string `yaml:"dir"`
	// Content records argument and result content when true. Default false:
	// only metadata and digests reach storage.
	Content bool `yaml:"content"`
	// DigestKeyFile optionally holds a secret key; argument/result digests are
	// then HMAC-SHA256 under that key (not dictionary-reversible) instead of
	// plain SHA-256.
	DigestKeyFile string `yaml:"digest_key_file"`
	// SegmentBytes rotates to a new segment file once the current one reaches
	// this size. Default 64 MiB.
	SegmentBytes int64 `yaml:"segment_bytes"`
	// Commit is the group-commit policy (fsync every N records or T).
	Commit CommitConfig `yaml:"commit"`
	// Durable makes every Append wait until its record is on disk (fsync,
	// shared by concurrent callers), so a decision takes effect only once it
	// is recorded: when the disk fails, the call whose record could not be
	// written is refused, none slips through while queued. Default false
	// (group commit: records queued when the disk fails are lost).
	Durable bool `yaml:"durable"`
	// Checkpoint is the signed-checkpoint policy.
	Checkpoint CheckpointConfig `yaml:"checkpoint"`
	// Queue bounds the in-memory queue between Append and the writer.
	Queue QueueConfig `yaml:"queue"`
	// Sinks receive every committed record (and optionally checkpoints).
	Sinks []SinkConfig `yaml:"sinks"`
}

// CommitConfig: the writer fsyncs when Every records are unsynced or the
// oldest unsynced record is Interval old, whichever comes first.
type CommitConfig struct {
	Every    int           `yaml:"every"`
	Interval time.Duration `yaml:"interval"`
}

// CheckpointConfig: a signed checkpoint (size, head hash) is written every
// Every records or Interval, whichever comes first, and on Close.
type CheckpointConfig struct {
	// KeyFile is an Ed25519 private key (PEM PKCS#8, as written by
	// `portcullis audit keygen`). Empty: an ephemeral key is generated at
	// start and its public key written into Dir (weaker: verify then trusts
	// the directory; pass --pubkey for independent verification).
	KeyFile  string        `yaml:"key_file"`
	Every    int           `yaml:"every"`
	Interval time.Duration `yaml:"interval"`
	// Idle is how often a checkpoint is written while no records arrive
	// (default 5m), so that a verifier can tell a quiet log from one whose
	// newest checkpoints and records were removed.
	Idle time.Duration `yaml:"idle"`
}

// QueueConfig bounds the Append queue.
type QueueConfig struct {
	Size int `yaml:"size"`
	// OnFull is "block" (default, fail closed: Append returns ErrQueueFull and
	// the caller refuses the request) or "drop" (the record is dropped, counted,
	// and a gap record with the count is written once space returns).
	OnFull string `yaml:"on_full"`
}

// SinkConfig configures one export sink. Secrets are read from files or
// environment variables, never inlined in the YAML.
type SinkConfig struct {
	// Name identifies the sink in metrics and its spool directory.
	Name string `yaml:"name"`
	// Type is webhook, splunk, sentinel or otlp.
	Type string `yaml:"type"`
	// URL: webhook target; Splunk HEC base URL; Sentinel DCR ingestion
	// endpoint base; OTLP/HTTP logs endpoint (e.g. http://collector:4318/v1/logs).
	URL string `yaml:"url"`
	// SecretFile: webhook whsec_ secret, Splunk HEC token or Sentinel client secret.
	SecretFile string `yaml:"secret_file"`
	// Index, Source, SourceType: Splunk HEC envelope fields.
	Index      string `yaml:"index"`
	Source     string `yaml:"source"`
	SourceType string `yaml:"sourcetype"`
	// Sentinel (Logs Ingestion API): DCR immutable id, stream name
	// (Custom-<Table>_CL), and the client-credentials token endpoint.
	DCRID    string `yaml:"dcr_id"`
	Stream   string `yaml:"stream"`
	TokenURL string `yaml:"token_url"`
	ClientID string `yaml:"client_id"`
	Scope    string `yaml:"scope"`
	// Checkpoints also pushes signed checkpoints to this sink (default
	// true): a copy of the newest checkpoint held outside the audit
	// directory is what makes tail truncation detectable (verify
	// --checkpoints FILE). Set false for a sink that must only see records.
	Checkpoints *bool `yaml:"checkpoints"`
	// SpoolDir holds undelivered batches. Default <audit.dir>/spool/<name>.
	SpoolDir string `yaml:"spool_dir"`
	// FlushInterval bounds how long a partial batch waits. Default 1s.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Timeout per HTTP call. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxSpoolBytes bounds the undelivered events kept on disk while the
	// service is down or slow; past it new events are dropped for this sink
	// and counted (portcullis_sink_dropped_total). Default 256 MiB.
	MaxSpoolBytes int64 `yaml:"max_spool_bytes"`
}

// On-full policies.
const (
	OnFullBlock = "block"
	OnFullDrop  = "drop"
)

// Defaults, applied by ApplyDefaults.
const (
	DefaultSegmentBytes       = 64 << 20
	DefaultCommitEvery        = 256
	DefaultCommitInterval     = 5 * time.Millisecond
	DefaultCheckpointEvery    = 10000
	DefaultCheckpointInterval = 10 * time.Second
	DefaultCheckpointIdle     = 5 * time.Minute
	DefaultQueueSize          = 65536
	DefaultSinkFlushInterval  = time.Second
	DefaultSinkTimeout        = 10 * time.Second
	DefaultSinkMaxSpoolBytes  = 256 << 20
)

// SinkTypes lists the supported sink types.
var SinkTypes = []string{"webhook", "splunk", "sentinel", "otlp"}

// Enabled reports whether the log is configured.
func (c *Config) Enabled() bool { return c != nil && c.Dir != "" }

// ApplyDefaults fills unset fields.
func (c *Config) ApplyDefaults() {
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.Commit.Every == 0 {
		c.Commit.Every = DefaultCommitEvery
	}
	if c.Commit.Interval == 0 {
		c.Commit.Interval = DefaultCommitInterval
	}
	if c.Checkpoint.Every == 0 {
		c.Checkpoint.Every = DefaultCheckpointEvery
	}
	if c.Checkpoint.Interval == 0 {
		c.Checkpoint.Interval = DefaultCheckpointInterval
	}
	if c.Checkpoint.Idle == 0 {
		c.Checkpoint.Idle = DefaultCheckpointIdle
	}
	if c.Queue.Size == 0 {
		c.Queue.Size = DefaultQueueSize
	}
	if c.Queue.OnFull == "" {
		c.Queue.OnFull = OnFullBlock
	}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		if s.FlushInterval == 0 {
			s.FlushInterval = DefaultSinkFlushInterval
		}
		if s.MaxSpoolBytes == 0 {
			s.MaxSpoolBytes = DefaultSinkMaxSpoolBytes
		}
		if s.Timeout == 0 {
			s.Timeout = DefaultSinkTimeout
		}
		if s.Checkpoints == nil {
			t := true
			s.Checkpoints = &t
		}
		if s.Type == "splunk" && s.SourceType == "" {
			s.SourceType = "_json"
		}
	}
}

// Validate reports every problem, each with its field path relative to audit.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.SegmentBytes < 4096 {
		add("segment_bytes", "must be >= 4096")
	}
	if c.Commit.Every <= 0 {
		add("commit.every", "must be > 0")
	}
	if c.Commit.Interval <= 0 {
		add("commit.interval", "must be > 0")
	}
	if c.Checkpoint.Every <= 0 {
		add("checkpoint.every", "must be > 0")
	}
	if c.Checkpoint.Interval <= 0 {
		add("checkpoint.interval", "must be > 0")
	}
	if c.Checkpoint.Idle < c.Checkpoint.Interval {
		add("checkpoint.idle", "must be >= checkpoint.interval (%s), got %s", c.Checkpoint.Interval, c.Checkpoint.Idle)
	}
	if c.Queue.Size <= 0 {
		add("queue.size", "must be > 0")
	}
	if c.Queue.OnFull != OnFullBlock && c.Queue.OnFull != OnFullDrop {
		add("queue.on_full", "must be %q or %q, got %q", OnFullBlock, OnFullDrop, c.Queue.OnFull)
	}
	if len(c.Sinks) > 0 && c.Dir == "" {
		add("sinks", "need audit.dir (sinks export committed records)")
	}
	names := map[string]bool{}
	for i, s := range c.Sinks {
		p := fmt.Sprintf("sinks[%d]", i)
		if s.Name == "" {
			add(p+".name", "is required")
		} else if names[s.Name] {
			add(p+".name", "duplicate sink name %q", s.Name)
		}
		names[s.Name] = true
		known := false
		for _, t := range SinkTypes {
			known = known || s.Type == t
		}
		if !known {
			add(p+".type", "must be one of %v, got %q", SinkTypes, s.Type)
		}
		if s.URL == "" {
			add(p+".url", "is required")
		} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(p+".url", "must be an http(s) URL, got %q", s.URL)
		}
		switch s.Type {
		case "webhook", "splunk":
			if s.SecretFile == "" {
				add(p+".secret_file", "is required for %s", s.Type)
			}
		case "sentinel":
			for _, f := range []struct{ name, v string }{{"dcr_id", s.DCRID}, {"stream", s.Stream}, {"token_url", s.TokenURL}, {"client_id", s.ClientID}, {"secret_file", s.SecretFile}} {
				if f.v == "" {
					add(p+"."+f.name, "is required for sentinel")
				}
			}
		}
		if s.FlushInterval < 0 {
			add(p+".flush_interval", "must be >= 0")
		}
		if s.Timeout < 0 {
			add(p+".timeout", "must be >= 0")
		}
		if s.MaxSpoolBytes < 0 {
			add(p+".max_spool_bytes", "must be >= 0")
		}
	}
	return errors.Join(errs...)
}
