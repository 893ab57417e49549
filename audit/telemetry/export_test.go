package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func spanLines(t *testing.T, b []byte) []SpanLine {
	t.Helper()
	var out []SpanLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var l SpanLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("span line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func emit(t *testing.T, tel *Telemetry, tool string) {
	t.Helper()
	_, span := tel.StartCall(context.Background(), nil, Call{Method: "tools/call", Target: tool, Server: "github"})
	span.SetDecisionRecord(decision("github", tool, "block", "block", "enforce", "deny-destructive"))
	span.End("-32001")
}

// Spans reach a terminal or a file without a collector.
func TestExportersWithoutCollector(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  func(stdout *bytes.Buffer) TraceConfig
		read func(stdout *bytes.Buffer) []byte
	}{
		{"stdout", func(b *bytes.Buffer) TraceConfig {
			return TraceConfig{Exporter: ExporterStdout, SampleRatio: 1, Stdout: b}
		}, func(b *bytes.Buffer) []byte { return b.Bytes() }},
		{"file", func(*bytes.Buffer) TraceConfig {
			return TraceConfig{Exporter: ExporterFile, File: filepath.Join(dir, "spans.jsonl"), SampleRatio: 1}
		}, func(*bytes.Buffer) []byte {
			b, err := os.ReadFile(filepath.Join(dir, "spans.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			tel := New()
			if err := tel.ConfigureTracing(t.Context(), tt.cfg(&stdout)); err != nil {
				t.Fatal(err)
			}
			if got := tel.TraceExporter(); got != tt.name {
				t.Errorf("TraceExporter() = %q", got)
			}
			emit(t, tel, "delete_repo")
			if err := tel.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			lines := spanLines(t, tt.read(&stdout))
			if len(lines) != 1 {
				t.Fatalf("%d spans, want 1", len(lines))
			}
			l := lines[0]
			if l.Name != "tools/call delete_repo" || l.Kind != "server" || l.Status != "Error" || len(l.TraceID) != 32 {
				t.Errorf("span %+v", l)
			}
			for k, want := range map[string]any{AttrDecisionID: "d1", AttrRule: "deny-destructive", AttrGenAIToolName: "delete_repo", AttrErrorType: "-32001"} {
				if l.Attributes[k] != want {
					t.Errorf("attribute %s = %v, want %v", k, l.Attributes[k], want)
				}
			}
		})
	}
}

// Reconfiguring swaps the exporter: spans ended before go to the old one
// (flushed on the swap), spans after to the new one.
func TestConfigureTracingSwaps(t *testing.T) {
	var first, second bytes.Buffer
	tel := New()
	if err := tel.ConfigureTracing(t.Context(), TraceConfig{Exporter: ExporterStdout, SampleRatio: 1, Stdout: &first}); err != nil {
		t.Fatal(err)
	}
	emit(t, tel, "one")
	if err := tel.ConfigureTracing(t.Context(), TraceConfig{Exporter: ExporterStdout, SampleRatio: 1, Stdout: &second}); err != nil {
		t.Fatal(err)
	}
	emit(t, tel, "two")
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := spanLines(t, first.Bytes()); len(l) != 1 || l[0].Name != "tools/call one" {
		t.Errorf("first exporter got %+v", l)
	}
	if l := spanLines(t, second.Bytes()); len(l) != 1 || l[0].Name != "tools/call two" {
		t.Errorf("second exporter got %+v", l)
	}
	// To none: nothing more is exported and nothing fails.
	if err := tel.ConfigureTracing(t.Context(), TraceConfig{Exporter: ExporterNone}); err != nil {
		t.Fatal(err)
	}
	emit(t, tel, "three")
	if tel.TraceExporter() != ExporterNone {
		t.Errorf("exporter %q", tel.TraceExporter())
	}
}

func TestConfigureTracingErrorsKeepTheRunningExporter(t *testing.T) {
	var out bytes.Buffer
	tel := New()
	if err := tel.ConfigureTracing(t.Context(), TraceConfig{Exporter: ExporterStdout, SampleRatio: 1, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []TraceConfig{
		{Exporter: "zipkin"},
		{Exporter: ExporterFile},
		{Exporter: ExporterFile, File: filepath.Join(t.TempDir(), "no", "such", "dir", "spans.jsonl")},
		{Exporter: ExporterOTLP},
	} {
		if err := tel.ConfigureTracing(t.Context(), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	emit(t, tel, "still")
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := spanLines(t, out.Bytes()); len(l) != 1 || !strings.HasSuffix(l[0].Name, "still") {
		t.Errorf("running exporter got %+v", l)
	}
}

func TestConfigureTracingFixedProvider(t *testing.T) {
	tel := New(WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))))
	if err := tel.ConfigureTracing(t.Context(), TraceConfig{Exporter: ExporterStdout}); !errors.Is(err, ErrTracerFixed) {
		t.Errorf("err = %v, want ErrTracerFixed", err)
	}
}
