package config

// Span exporters (telemetry.exporter).
const (
	// ExporterOTLP sends spans to telemetry.otlp_traces_url.
	ExporterOTLP = "otlp"
	// ExporterStdout writes spans as JSON to standard output.
	ExporterStdout = "stdout"
	// ExporterFile appends spans as JSON lines to telemetry.file.
	ExporterFile = "file"
	// ExporterNone exports no spans (trace ids still reach the audit log).
	ExporterNone = "none"
)

// TraceExporter is the effective telemetry.exporter: the configured value,
// else otlp when otlp_traces_url is set, else none.
func (t Telemetry) TraceExporter() string {
	switch {
	case t.Exporter != "":
		return t.Exporter
	case t.OTLPTracesURL != "":
		return ExporterOTLP
	}
	return ExporterNone
}

// validateObserve checks the keys the observability code reads:
// telemetry.exporter / telemetry.file and the log section.
func (c *Config) validateObserve(add func(path, format string, args ...any)) {
	t := c.Telemetry
	switch t.Exporter {
	case "", ExporterNone, ExporterStdout:
	case ExporterOTLP:
		if t.OTLPTracesURL == "" {
			add("telemetry.otlp_traces_url", "is required when telemetry.exporter is otlp")
		}
	case ExporterFile:
		if t.File == "" {
			add("telemetry.file", "is required when telemetry.exporter is file")
		}
	default:
		add("telemetry.exporter", "unknown exporter %q (want otlp, stdout, file or none)", t.Exporter)
	}
	if t.File != "" && t.Exporter != ExporterFile {
		add("telemetry.file", "is set but telemetry.exporter is %q; set telemetry.exporter: file", t.TraceExporter())
	}
	c.Log.Check("log", add)
}
