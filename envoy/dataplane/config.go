package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"google.golang.org/grpc"
)

// HeaderSendMode is the ext_proc filter's header send mode (DEFAULT, SEND, SKIP).
// It is the go-control-plane enum, so values convert to and from the proto freely.
type HeaderSendMode = filterv3.ProcessingMode_HeaderSendMode

// BodySendMode is the ext_proc filter's body send mode (NONE, STREAMED,
// BUFFERED, BUFFERED_PARTIAL, FULL_DUPLEX_STREAMED, GRPC).
type BodySendMode = filterv3.ProcessingMode_BodySendMode

// Mode constants re-exported for convenience.
const (
	HeaderDefault = filterv3.ProcessingMode_DEFAULT
	HeaderSend    = filterv3.ProcessingMode_SEND
	HeaderSkip    = filterv3.ProcessingMode_SKIP

	BodyNone            = filterv3.ProcessingMode_NONE
	BodyStreamed        = filterv3.ProcessingMode_STREAMED
	BodyBuffered        = filterv3.ProcessingMode_BUFFERED
	BodyBufferedPartial = filterv3.ProcessingMode_BUFFERED_PARTIAL
	BodyFullDuplex      = filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
	BodyGRPC            = filterv3.ProcessingMode_GRPC
)

// ProcessingMode mirrors envoy.extensions.filters.http.ext_proc.v3.ProcessingMode
// as a plain comparable struct. The zero value is Envoy's default: request and
// response headers sent, trailers skipped, bodies NONE.
type ProcessingMode struct {
	RequestHeader, ResponseHeader   HeaderSendMode
	RequestTrailer, ResponseTrailer HeaderSendMode
	RequestBody, ResponseBody       BodySendMode
}

// ModeFromProto converts the proto message (nil → zero mode).
func ModeFromProto(m *filterv3.ProcessingMode) ProcessingMode {
	if m == nil {
		return ProcessingMode{}
	}
	return ProcessingMode{
		RequestHeader: m.GetRequestHeaderMode(), ResponseHeader: m.GetResponseHeaderMode(),
		RequestTrailer: m.GetRequestTrailerMode(), ResponseTrailer: m.GetResponseTrailerMode(),
		RequestBody: m.GetRequestBodyMode(), ResponseBody: m.GetResponseBodyMode(),
	}
}

// Proto converts the mode to the go-control-plane message.
func (m ProcessingMode) Proto() *filterv3.ProcessingMode {
	return &filterv3.ProcessingMode{
		RequestHeaderMode: m.RequestHeader, ResponseHeaderMode: m.ResponseHeader,
		RequestTrailerMode: m.RequestTrailer, ResponseTrailerMode: m.ResponseTrailer,
		RequestBodyMode: m.RequestBody, ResponseBodyMode: m.ResponseBody,
	}
}

// MutationRules mirrors envoy.config.common.mutation_rules.v3.HeaderMutationRules.
// The zero value is Envoy's default: x-envoy-*, host, :authority, :method and
// :scheme cannot be changed; disallowed mutations are silently ignored.
type MutationRules struct {
	AllowAllRouting    bool
	AllowEnvoy         bool
	DisallowSystem     bool
	DisallowAll        bool
	AllowExpression    string // RE2 over the header name; empty = unset
	DisallowExpression string // RE2 over the header name; empty = unset
	DisallowIsError    bool
}

// FilterConfig mirrors the subset of the ExternalProcessor filter config the
// data plane implements. Zero durations and status get Envoy's defaults
// (message_timeout 200ms, status_on_error 500; max_message_timeout 0 disables
// override_message_timeout).
type FilterConfig struct {
	ProcessingMode
	FailureModeAllow                        bool
	MessageTimeout, MaxMessageTimeout       time.Duration
	AllowModeOverride                       bool
	AllowedOverrideModes                    []ProcessingMode
	StatusOnError                           int
	MutationRules                           MutationRules
	AllowContentLengthHeader                bool
	SendBodyWithoutWaitingForHeaderResponse bool
}

// Route maps a path prefix to an upstream. PathPrefix "/mcp/files" matches
// "/mcp/files" and anything below "/mcp/files/", not "/mcp/filesystem".
type Route struct {
	Name       string
	PathPrefix string
	Upstream   *url.URL
	// Sandbox, if set, is used instead of Upstream when the request carries
	// "x-portcullis-route: sandbox" after ext_proc header mutations with
	// clear_route_cache. The marker header is not forwarded.
	Sandbox *url.URL
	// Methods overrides the filter processing mode per HTTP method (like an
	// ExtProcPerRoute.overrides.processing_mode on a method-matched route).
	Methods map[string]*ProcessingMode
	// Disabled turns ext_proc off for the route (ExtProcPerRoute.disabled).
	Disabled bool
	// RemoveRequestHeaders are dropped from the upstream request (Envoy's
	// route request_headers_to_remove), e.g. accept-encoding so an upstream
	// never compresses a body past the processor.
	RemoveRequestHeaders []string
}

// Config configures a Proxy.
type Config struct {
	Routes []Route
	Filter FilterConfig
	// Processor is the gRPC connection to the ext_proc server.
	Processor grpc.ClientConnInterface
	// BufferLimit is the BUFFERED limit (per_connection_buffer_limit_bytes);
	// default 1 MiB. Over it: 413 on requests, 500 on responses.
	BufferLimit int64
	// Transport reaches upstreams; default a tuned *http.Transport without
	// transparent compression and without proxy-from-environment.
	Transport http.RoundTripper
	// CatchAllPrefix (e.g. "/mcp/"): requests under it without a route are
	// still processed by ext_proc (the processor answers unknown servers); if
	// the processor lets them continue the proxy answers 404 "no route".
	CatchAllPrefix string
	Logger         *slog.Logger
	// Clock drives message timeouts and trace timestamps; nil means the
	// wall clock.
	Clock Clock
	// LocalReply, if set, formats the body of replies the proxy generates
	// itself (404 no route, 400 bad path, 413, 500, 503, 504; not a
	// processor's ImmediateResponse), like Envoy's local_reply_config
	// body_format. details is the Envoy response code detail. A nil body
	// keeps the default text.
	LocalReply func(status int, details string) (contentType string, body []byte)
	// Recorder, if set, is told of every reply and reset the proxy makes
	// itself (not a processor's ImmediateResponse), once each.
	Recorder LocalReplyRecorder
}

// RouteHeader is the request header that selects Route.Sandbox after a
// clear_route_cache header mutation.
const RouteHeader = "x-portcullis-route"

const (
	defaultMessageTimeout = 200 * time.Millisecond
	defaultBufferLimit    = 1 << 20
)

func (c *Config) validate() error {
	var errs []error
	if c.Processor == nil {
		errs = append(errs, errors.New("processor: gRPC connection is required"))
	}
	seen := map[string]bool{}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if r.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", p))
		}
		if !strings.HasPrefix(r.PathPrefix, "/") {
			errs = append(errs, fmt.Errorf("%s.path_prefix: %q must start with /", p, r.PathPrefix))
		} else if len(r.PathPrefix) > 1 && strings.HasSuffix(r.PathPrefix, "/") {
			errs = append(errs, fmt.Errorf("%s.path_prefix: %q must not end with /", p, r.PathPrefix))
		}
		if seen[r.PathPrefix] {
			errs = append(errs, fmt.Errorf("%s.path_prefix: %q duplicated", p, r.PathPrefix))
		}
		seen[r.PathPrefix] = true
		for n, u := range map[string]*url.URL{"upstream": r.Upstream, "sandbox": r.Sandbox} {
			if u == nil {
				if n == "upstream" {
					errs = append(errs, fmt.Errorf("%s.%s: required", p, n))
				}
				continue
			}
			if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s.%s: %q must be an absolute http(s) URL", p, n, u.String()))
			}
		}
		for m, pm := range r.Methods {
			if pm != nil {
				if err := validateMode(*pm); err != nil {
					errs = append(errs, fmt.Errorf("%s.methods[%s]: %w", p, m, err))
				}
			}
		}
	}
	f := &c.Filter
	if err := validateMode(f.ProcessingMode); err != nil {
		errs = append(errs, fmt.Errorf("filter.processing_mode: %w", err))
	}
	if f.MessageTimeout < 0 || f.MaxMessageTimeout < 0 {
		errs = append(errs, errors.New("filter: timeouts must not be negative"))
	}
	if f.StatusOnError != 0 && (f.StatusOnError < 200 || f.StatusOnError > 599) {
		errs = append(errs, fmt.Errorf("filter.status_on_error: %d is not an HTTP status", f.StatusOnError))
	}
	for _, e := range []struct{ n, v string }{{"allow_expression", f.MutationRules.AllowExpression}, {"disallow_expression", f.MutationRules.DisallowExpression}} {
		if e.v != "" {
			if _, err := regexp.Compile(e.v); err != nil {
				errs = append(errs, fmt.Errorf("filter.mutation_rules.%s: %w", e.n, err))
			}
		}
	}
	if c.BufferLimit < 0 {
		errs = append(errs, errors.New("buffer_limit: must not be negative"))
	}
	if c.CatchAllPrefix != "" && !strings.HasPrefix(c.CatchAllPrefix, "/") {
		errs = append(errs, fmt.Errorf("catch_all_prefix: %q must start with /", c.CatchAllPrefix))
	}
	return errors.Join(errs...)
}

// validateMode applies Envoy's config.cc rules: FULL_DUPLEX_STREAMED needs
// that direction's trailer mode SEND; enum values must be known.
func validateMode(m ProcessingMode) error {
	var errs []error
	for _, h := range []HeaderSendMode{m.RequestHeader, m.ResponseHeader, m.RequestTrailer, m.ResponseTrailer} {
		if h < HeaderDefault || h > HeaderSkip {
			errs = append(errs, fmt.Errorf("unknown header send mode %d", h))
		}
	}
	for _, b := range []BodySendMode{m.RequestBody, m.ResponseBody} {
		if b < BodyNone || b > BodyGRPC {
			errs = append(errs, fmt.Errorf("unknown body send mode %d", b))
		}
	}
	if m.RequestBody == BodyFullDuplex && m.RequestTrailer != HeaderSend {
		errs = append(errs, errors.New("FULL_DUPLEX_STREAMED request body requires request_trailer_mode SEND"))
	}
	if m.ResponseBody == BodyFullDuplex && m.ResponseTrailer != HeaderSend {
		errs = append(errs, errors.New("FULL_DUPLEX_STREAMED response body requires response_trailer_mode SEND"))
	}
	return errors.Join(errs...)
}
