// Package otlp delivers audit records as OpenTelemetry log records over
// OTLP/HTTP (protobuf) to any OpenTelemetry Collector, which fans out to
// Datadog, CloudWatch, Splunk and others (see examples/otel-collector). Each
// record becomes one log record: event name portcullis.audit.<kind>, body =
// the canonical OCSF JSON record as a string, timestamp = the record's time,
// and a few bounded attributes (MCP/GenAI names) for routing. Retries are
// done by sink.Exporter, not by the OTLP exporter.
package otlp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

// Limits: keep requests well under common Collector receiver limits
// (the OTLP/HTTP receiver has no default body cap; gateways often use 4 MiB).
const (
	MaxEvents = 512
	MaxBytes  = 4 << 20
)

// Transport exports batches with the otlploghttp exporter. Records are
// built through an SDK LoggerProvider (so limits and the resource apply) and
// captured by a processor, then exported synchronously per batch.
type Transport struct {
	exp      *otlploghttp.Exporter
	provider *sdklog.LoggerProvider
	logger   otellog.Logger
	mu       sync.Mutex
	capture  *capture
}

var _ sink.Transport = (*Transport)(nil)

// capture is an sdklog.Processor that keeps emitted records.
type capture struct{ recs []sdklog.Record }

func (c *capture) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.recs = append(c.recs, r.Clone())
	return nil
}
func (c *capture) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (c *capture) Shutdown(context.Context) error                         { return nil }
func (c *capture) ForceFlush(context.Context) error                       { return nil }

// New creates an OTLP/HTTP logs transport for endpointURL (for example
// http://collector:4318/v1/logs) with optional extra headers.
func New(ctx context.Context, endpointURL string, headers map[string]string, timeout time.Duration) (*Transport, error) {
	opts := []otlploghttp.Option{
		otlploghttp.WithEndpointURL(endpointURL),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}),
	}
	if len(headers) > 0 {
		opts = append(opts, otlploghttp.WithHeaders(headers))
	}
	if timeout > 0 {
		opts = append(opts, otlploghttp.WithTimeout(timeout))
	}
	exp, err := otlploghttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp: %w", err)
	}
	c := &capture{}
	res := resource.NewSchemaless(attribute.String("service.name", "portcullis"))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(c), sdklog.WithResource(res))
	return &Transport{exp: exp, provider: lp, logger: lp.Logger("github.com/portcullis-mcp/portcullis/audit"), capture: c}, nil
}

// Limits implements sink.Transport.
func (t *Transport) Limits() sink.Limits {
	return sink.Limits{MaxEvents: MaxEvents, MaxBytes: MaxBytes, PerEventOverhead: 256}
}

// emit turns one audit record or checkpoint into a log record.
func (t *Transport) emit(event []byte) {
	var r otellog.Record
	ctx := context.Background()
	kind := gjson.GetBytes(event, "kind").String()
	if gjson.GetBytes(event, "origin").Exists() {
		kind = "checkpoint"
		if ts, err := time.Parse(time.RFC3339Nano, gjson.GetBytes(event, "time").String()); err == nil {
			r.SetTimestamp(ts)
		}
	} else if ms := gjson.GetBytes(event, "time"); ms.Type == gjson.Number {
		r.SetTimestamp(time.UnixMilli(ms.Int()))
	}
	if kind == "" {
		kind = "decision"
	}
	r.SetEventName("portcullis.audit." + kind)
	r.SetObservedTimestamp(time.Now())
	sev, text := otellog.SeverityInfo, "INFO"
	if gjson.GetBytes(event, "action_id").Int() == 2 || kind == "gap" || kind == "recovery" {
		sev, text = otellog.SeverityWarn, "WARN"
	}
	r.SetSeverity(sev)
	r.SetSeverityText(text)
	r.SetBody(attribute.StringValue(string(event)))
	r.AddAttributes(attribute.String("portcullis.audit.kind", kind))
	add := func(key, path string) {
		if v := gjson.GetBytes(event, path); v.Exists() && v.String() != "" {
			r.AddAttributes(attribute.String(key, v.String()))
		}
	}
	add("mcp.method.name", "api.operation")
	add("gen_ai.tool.name", "resources.0.name")
	add("mcp.session.id", "actor.session.uid")
	add("portcullis.server", "api.service.name")
	add("portcullis.decision", "unmapped.portcullis.decision")
	add("ocsf.disposition", "disposition")
	if v := gjson.GetBytes(event, "seq"); v.Exists() {
		r.AddAttributes(attribute.Int64("portcullis.audit.seq", v.Int()))
	}
	if v := gjson.GetBytes(event, "class_uid"); v.Exists() {
		r.AddAttributes(attribute.Int64("ocsf.class_uid", v.Int()))
	}
	if tid, err := trace.TraceIDFromHex(gjson.GetBytes(event, "trace.uid").String()); err == nil {
		ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid}))
	}
	t.logger.Emit(ctx, r)
}

// Send implements sink.Transport.
func (t *Transport) Send(ctx context.Context, events [][]byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.capture.recs = t.capture.recs[:0]
	for _, ev := range events {
		t.emit(ev)
	}
	return t.exp.Export(ctx, t.capture.recs)
}

// Close shuts the exporter down.
func (t *Transport) Close(ctx context.Context) error {
	_ = t.provider.Shutdown(ctx)
	return t.exp.Shutdown(ctx)
}
