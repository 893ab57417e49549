package gateway

import (
	"context"
	"time"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
)

// traceConfig maps the telemetry section onto the span pipeline.
func traceConfig(c config.Telemetry) telemetry.TraceConfig {
	ratio := 1.0
	if c.SampleRatio != nil {
		ratio = *c.SampleRatio
	}
	return telemetry.TraceConfig{Exporter: c.TraceExporter(), OTLPURL: c.OTLPTracesURL, File: c.File, SampleRatio: ratio}
}

// reloadTelemetry applies a changed telemetry section, or logs precisely why
// it could not (the previous exporter keeps running). Called by Reload after
// every other part of the new configuration was applied, so a telemetry
// problem never leaves the rest half-reloaded.
func (g *Gateway) reloadTelemetry(prev, next *config.Config) {
	declareTools(g.tel, next)
	pc, nc := traceConfig(prev.Telemetry), traceConfig(next.Telemetry)
	if pc == nc {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.tel.ConfigureTracing(ctx, nc); err != nil {
		g.logger.Error("telemetry change not applied; spans still go to the previous exporter",
			"exporter", g.tel.TraceExporter(), "wanted", nc.Exporter, "error", err)
		return
	}
	g.logger.Info("telemetry reloaded", "exporter", nc.Exporter, "sample_ratio", nc.SampleRatio)
}

func (g *Gateway) shutdownTracing() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := g.tel.Shutdown(ctx); err != nil {
		g.logger.Warn("telemetry: flushing spans on shutdown failed", "error", err)
	}
}

// declareTools tells the metrics the tool names the configuration lists by
// name (globs declare nothing), so refusals of those tools are counted under
// their own name rather than "other".
func declareTools(tel *telemetry.Telemetry, cfg *config.Config) {
	for _, s := range cfg.Servers {
		tel.KnownTools(s.Name, s.Tools.Allow...)
		tel.KnownTools(s.Name, s.Tools.Deny...)
	}
}

// decisionObserver feeds every final outcome to the per-decision metrics and
// the decision log (log.decisions).
type decisionObserver struct {
	tel *telemetry.Telemetry
	log *decisionlog.DecisionLogger
}

func (o decisionObserver) Observe(out *extproc.Outcome) {
	o.tel.RecordDecision(out.DecisionRecord(), nil, o.log)
}
