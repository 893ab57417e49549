package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Span exporters (config key telemetry.exporter).
const (
	ExporterOTLP   = "otlp"
	ExporterStdout = "stdout"
	ExporterFile   = "file"
	ExporterNone   = "none"
)

// TraceConfig selects where spans go.
type TraceConfig struct {
	// Exporter is otlp, stdout, file or none ("" = none).
	Exporter string
	// OTLPURL is the OTLP/HTTP traces endpoint (exporter otlp).
	OTLPURL string
	// File receives JSON lines (exporter file), appended, created 0600.
	File string
	// SampleRatio of new traces to sample (0: only traces an incoming
	// traceparent marks as sampled); an incoming traceparent's decision is
	// always followed.
	SampleRatio float64
	// Stdout is where exporter stdout writes (default os.Stdout).
	Stdout io.Writer
}

// ErrTracerFixed is returned by ConfigureTracing when the tracer provider was
// fixed with WithTracerProvider (tests, embedding programs).
var ErrTracerFixed = errors.New("telemetry: the tracer provider is fixed by the embedding program (WithTracerProvider); telemetry.exporter is ignored")

// tracing is the current exporter pipeline, swapped whole on reconfigure.
type tracing struct {
	cfg      TraceConfig
	provider *sdktrace.TracerProvider // nil for exporter none
	tracer   trace.Tracer
}

// ConfigureTracing builds the span pipeline cfg describes and swaps it in;
// spans already started finish on the previous pipeline, which is then
// flushed and shut down. On error the running pipeline is kept.
func (t *Telemetry) ConfigureTracing(ctx context.Context, cfg TraceConfig) error {
	if t == nil {
		return nil
	}
	if t.fixedTracer {
		return ErrTracerFixed
	}
	next, err := newTracing(ctx, cfg)
	if err != nil {
		return err
	}
	prev := t.tracing.Swap(next)
	if prev != nil && prev.provider != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := prev.provider.Shutdown(sctx); err != nil {
			return fmt.Errorf("telemetry: shut down the previous %s exporter: %w", prev.cfg.Exporter, err)
		}
	}
	return nil
}

// TraceExporter names the running span exporter ("none" when spans are not
// exported, "fixed" when an embedding program supplied the provider).
func (t *Telemetry) TraceExporter() string {
	if t == nil {
		return ExporterNone
	}
	if t.fixedTracer {
		return "fixed"
	}
	if tr := t.tracing.Load(); tr != nil && tr.cfg.Exporter != "" {
		return tr.cfg.Exporter
	}
	return ExporterNone
}

// Shutdown flushes and stops the span exporter (not the metrics).
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	tr := t.tracing.Load()
	if tr == nil || tr.provider == nil {
		return nil
	}
	return tr.provider.Shutdown(ctx)
}

// ForceFlush exports the spans ended so far.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	tr := t.tracing.Load()
	if tr == nil || tr.provider == nil {
		return nil
	}
	return tr.provider.ForceFlush(ctx)
}

// exporting reports whether a configured span pipeline (an exporter) is
// running.
func (t *Telemetry) exporting() bool {
	tr := t.tracing.Load()
	return tr != nil && tr.tracer != nil
}

func (t *Telemetry) currentTracer() trace.Tracer {
	if tr := t.tracing.Load(); tr != nil && tr.tracer != nil {
		return tr.tracer
	}
	return t.tracer
}

func newTracing(ctx context.Context, cfg TraceConfig) (*tracing, error) {
	tr := &tracing{cfg: cfg}
	var exp sdktrace.SpanExporter
	switch cfg.Exporter {
	case "", ExporterNone:
		// No exporter: the default tracer (otel's global provider) keeps
		// continuing incoming trace contexts, as before.
		return tr, nil
	case ExporterOTLP:
		if cfg.OTLPURL == "" {
			return nil, errors.New("telemetry: exporter otlp needs telemetry.otlp_traces_url")
		}
		e, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.OTLPURL))
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp traces: %w", err)
		}
		exp = e
	case ExporterStdout:
		w := cfg.Stdout
		if w == nil {
			w = os.Stdout
		}
		exp = newJSONExporter(w, nil)
	case ExporterFile:
		if cfg.File == "" {
			return nil, errors.New("telemetry: exporter file needs telemetry.file")
		}
		f, err := os.OpenFile(cfg.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("telemetry.file: %w", err)
		}
		exp = newJSONExporter(f, f)
	default:
		return nil, fmt.Errorf("telemetry: unknown exporter %q (want otlp, stdout, file or none)", cfg.Exporter)
	}
	ratio := cfg.SampleRatio
	tr.provider = sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "portcullis"))),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	tr.tracer = tr.provider.Tracer(TracerName)
	return tr, nil
}

// jsonExporter writes one JSON object per span: the collector-free view of
// a trace. Attributes are the span's (content-free by construction).
type jsonExporter struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	enc    *json.Encoder
}

func newJSONExporter(w io.Writer, c io.Closer) *jsonExporter {
	return &jsonExporter{w: w, closer: c, enc: json.NewEncoder(w)}
}

// SpanLine is one exported span as the stdout and file exporters write it.
type SpanLine struct {
	Name         string         `json:"name"`
	TraceID      string         `json:"trace_id"`
	SpanID       string         `json:"span_id"`
	ParentSpanID string         `json:"parent_span_id,omitempty"`
	Kind         string         `json:"kind"`
	Start        time.Time      `json:"start"`
	End          time.Time      `json:"end"`
	DurationUS   int64          `json:"duration_us"`
	Status       string         `json:"status"`
	Attributes   map[string]any `json:"attributes"`
}

func (e *jsonExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		if err := ctx.Err(); err != nil {
			return err
		}
		line := SpanLine{Name: s.Name(), TraceID: s.SpanContext().TraceID().String(), SpanID: s.SpanContext().SpanID().String(),
			Kind: s.SpanKind().String(), Start: s.StartTime().UTC(), End: s.EndTime().UTC(),
			DurationUS: s.EndTime().Sub(s.StartTime()).Microseconds(), Status: s.Status().Code.String(),
			Attributes: make(map[string]any, len(s.Attributes()))}
		if p := s.Parent(); p.IsValid() {
			line.ParentSpanID = p.SpanID().String()
		}
		for _, kv := range s.Attributes() {
			line.Attributes[string(kv.Key)] = kv.Value.AsInterface()
		}
		if err := e.enc.Encode(line); err != nil {
			return fmt.Errorf("telemetry: span exporter: %w", err)
		}
	}
	return nil
}

func (e *jsonExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closer != nil {
		err := e.closer.Close()
		e.closer = nil
		return err
	}
	return nil
}
