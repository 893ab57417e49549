package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// NewOTLPTracerProvider returns a tracer provider that batches spans to an
// OTLP/HTTP endpoint (e.g. http://127.0.0.1:4318/v1/traces), sampling
// sampleRatio of new traces and always following the caller's sampling
// decision when a traceparent arrives. Pass it to WithTracerProvider and
// call Shutdown on exit.
func NewOTLPTracerProvider(ctx context.Context, endpointURL string, sampleRatio float64) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpointURL))
	if err != nil {
		return nil, fmt.Errorf("telemetry: otlp traces: %w", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "portcullis"))
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(sampleRatio))),
	), nil
}
