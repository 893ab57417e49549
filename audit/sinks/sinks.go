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

// Open builds one sink.Exporter per configured sink. cfg must be defaulted
// and validated. onError (may be nil) is called for every failed delivery
// attempt, e.g. telemetry.SinkError.
func Open(ctx context.Context, cfg audit.Config, onError func(sink string, err error)) ([]audit.Sink, error) {
	var out []audit.Sink
	var errs []error
	for i, sc := range cfg.Sinks {
		s, err := open(ctx, cfg, sc, onError)
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

func open(ctx context.Context, cfg audit.Config, sc audit.SinkConfig, onError func(string, error)) (audit.Sink, error) {
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
	return sink.New(sc.Name, t, sink.Options{SpoolDir: spool, FlushInterval: sc.FlushInterval, Timeout: sc.Timeout, OnError: onError})
}
