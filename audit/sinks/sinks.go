// Package sinks builds the export sinks listed in audit.Config.Sinks (it
// imports every sink type so the audit package itself stays free of HTTP
// clients). Pass the result to audit.Open with audit.WithSinks.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/sink"
	"github.com/portcullis-mcp/portcullis/audit/sink/otlp"
	"github.com/portcullis-mcp/portcullis/audit/sink/sentinel"
	"github.com/portcullis-mcp/portcullis/audit/sink/splunk"
	"github.com/portcullis-mcp/portcullis/audit/sink/webhook"
)

// Observer is told how delivery goes (telemetry.Telemetry implements it):
// every failed attempt, every delivered batch's size, and every event a
// sink gave up on (spool full or dead-lettered).
type Observer interface {
	SinkError(sink string)
	SinkDelivered(sink string, n int)
	SinkDropped(sink string, n int)
}

// Open builds one sink.Exporter per configured sink. cfg must be defaulted
// and validated. obs may be nil.
func Open(ctx context.Context, cfg audit.Config, obs Observer) ([]audit.Sink, error) {
	var out []audit.Sink
	var errs []error
	for i, sc := range cfg.Sinks {
		s, err := open(ctx, cfg, sc, obs)
		if err != nil {
			errs = append(errs, fmt.Errorf("audit.sinks[%d] (%s): %w", i, sc.Name, err))
			continue
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		for _, s := range out {
			s.Close()
		}
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func open(ctx context.Context, cfg audit.Config, sc audit.SinkConfig, obs Observer) (audit.Sink, error) {
	secret := ""
	if sc.SecretFile != "" {
		b, err := os.ReadFile(sc.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("secret_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	client := &http.Client{Timeout: sc.Timeout}
	var t sink.Transport
	switch sc.Type {
	case "webhook":
		w, err := webhook.New(sc.URL, secret, client)
		if err != nil {
			return nil, err
		}
		t = w
	case "splunk":
		t = splunk.New(sc.URL, secret, sc.Index, sc.Source, sc.SourceType, client)
	case "sentinel":
		t = sentinel.New(sc.URL, sc.DCRID, sc.Stream, sc.TokenURL, sc.ClientID, secret, sc.Scope, client)
	case "otlp":
		o, err := otlp.New(ctx, sc.URL, nil, sc.Timeout)
		if err != nil {
			return nil, err
		}
		t = o
	default:
		return nil, fmt.Errorf("unknown sink type %q", sc.Type)
	}
	spool := sc.SpoolDir
	if spool == "" {
		spool = filepath.Join(cfg.Dir, "spool", sc.Name)
	}
	o := sink.Options{SpoolDir: spool, FlushInterval: sc.FlushInterval, Timeout: sc.Timeout, MaxSpoolBytes: sc.MaxSpoolBytes}
	if obs != nil {
		o.OnError = func(name string, _ error) { obs.SinkError(name) }
		o.OnDelivered, o.OnDropped = obs.SinkDelivered, obs.SinkDropped
	}
	return sink.New(sc.Name, t, o)
}
