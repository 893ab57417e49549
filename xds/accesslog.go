package xds

import (
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// refusalLogFields are the access log's JSON fields: what was refused and
// why, never a body or a header value a client chose beyond the two
// bounded ones (the request id and Mcp-Method, cut to 64 bytes).
var refusalLogFields = map[string]any{
	"time":       "%START_TIME%",
	"status":     "%RESPONSE_CODE%",
	"details":    "%RESPONSE_CODE_DETAILS%",
	"flags":      "%RESPONSE_FLAGS%",
	"method":     "%REQ(:METHOD)%",
	"route":      "%ROUTE_NAME%",
	"mcp_method": "%REQ(MCP-METHOD):64%",
	"request_id": "%REQ(X-REQUEST-ID):64%",
}

// refusalAccessLog is the listener's access log: every reply of 400 and
// above, one JSON line on stdout with its response code details. The
// replies Envoy makes itself (a path that escapes its route, a body past
// its buffer, a processor failure) never reach the processor, so the audit
// log cannot hold them (the embedded data plane audits its own); this log
// records each once. The processor's own refusals appear here too, with
// their portcullis_* details, besides their audit records.
func refusalAccessLog() *accesslogv3.AccessLog {
	format, err := structpb.NewStruct(refusalLogFields)
	if err != nil {
		panic("xds: access log format: " + err.Error()) // constant input
	}
	// Deterministic: the format is a map, and resources are compared (and
	// versioned) by their bytes.
	typed := &anypb.Any{}
	if err := anypb.MarshalFrom(typed, &streamv3.StdoutAccessLog{
		AccessLogFormat: &streamv3.StdoutAccessLog_LogFormat{LogFormat: &corev3.SubstitutionFormatString{
			Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: format},
		}},
	}, proto.MarshalOptions{Deterministic: true}); err != nil {
		panic("xds: access log: " + err.Error()) // constant input
	}
	return &accesslogv3.AccessLog{
		Name: "envoy.access_loggers.stdout",
		Filter: &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_StatusCodeFilter{
			StatusCodeFilter: &accesslogv3.StatusCodeFilter{Comparison: &accesslogv3.ComparisonFilter{
				Op:    accesslogv3.ComparisonFilter_GE,
				Value: &corev3.RuntimeUInt32{DefaultValue: 400, RuntimeKey: "portcullis.access_log.min_status"},
			}},
		}},
		ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: typed},
	}
}
