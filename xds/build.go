package xds

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/portcullis-mcp/portcullis/config"
)

// Resource names shared with envoy/envoy.yaml and the processor.
const (
	ListenerName     = "portcullis_ingress"
	RouteConfigName  = "portcullis_routes"
	ExtProcCluster   = "portcullis_extproc"
	AdminCluster     = "portcullis_admin"
	ExtProcFilter    = "envoy.filters.http.ext_proc"
	RouterFilter     = "envoy.filters.http.router"
	hcmFilter        = "envoy.filters.network.http_connection_manager"
	httpProtoOptions = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

	// RouteHeader is set by the processor (with clear_route_cache) to re-route
	// a call to the server's sandbox upstream; its only meaningful value is
	// RouteHeaderSandbox. Clients cannot set it (internal_only_headers).
	RouteHeader        = "x-portcullis-route"
	RouteHeaderSandbox = "sandbox"

	// WellKnownPrefix is the RFC 9728 metadata path, served without ext_proc.
	WellKnownPrefix = "/.well-known/oauth-protected-resource"

	// DefaultNodeID is the node id in envoy/bootstrap-xds.yaml.
	DefaultNodeID = "portcullis"
	// DefaultListenAddr is Envoy's MCP listener.
	DefaultListenAddr = "0.0.0.0:10000"
	// DefaultMaxMessageTimeout bounds approval holds (override_message_timeout).
	DefaultMaxMessageTimeout = 300 * time.Second
)

// unknownServerBody is the 404 fallback for /mcp/<unlisted>.
const unknownServerBody = `{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"unknown MCP server: no route for this path"}}`

// Options are the Envoy-side settings that portcullis.yaml does not carry.
// The zero value is usable: every field has a default. The yaml tags let
// config embed it as an `xds:` section (node_id, envoy_listen, extproc,
// admin, max_message_timeout).
type Options struct {
	// NodeID is the Envoy node.id the snapshot is stored under. Default "portcullis".
	NodeID string `yaml:"node_id"`
	// ListenAddr is Envoy's MCP listener, host:port. Default 0.0.0.0:10000.
	ListenAddr string `yaml:"envoy_listen"`
	// ExtProcAddr is where Envoy reaches the processor: host:port or
	// unix:///path. Default: config listen.extproc, with an unspecified host
	// (0.0.0.0, ::) replaced by 127.0.0.1.
	ExtProcAddr string `yaml:"extproc"`
	// AdminAddr is where Envoy reaches the gateway's HTTP endpoints for
	// RFC 9728 metadata. Default: config listen.admin (unspecified host →
	// 127.0.0.1); if both are empty that path gets a plain 404.
	AdminAddr string `yaml:"admin"`
	// MaxMessageTimeout is ext_proc's max_message_timeout. Default 300s.
	MaxMessageTimeout time.Duration `yaml:"max_message_timeout"`
}

func (o Options) withDefaults(cfg *config.Config) Options {
	o.NodeID = cmp.Or(o.NodeID, DefaultNodeID)
	o.ListenAddr = cmp.Or(o.ListenAddr, DefaultListenAddr)
	o.ExtProcAddr = cmp.Or(o.ExtProcAddr, reachable(cfg.Listen.ExtProc), reachable(config.DefaultExtProcAddr))
	o.AdminAddr = cmp.Or(o.AdminAddr, reachable(cfg.Listen.Admin))
	if o.MaxMessageTimeout == 0 {
		o.MaxMessageTimeout = DefaultMaxMessageTimeout
	}
	return o
}

// reachable turns a listen address into one a local Envoy can dial.
func reachable(addr string) string {
	if addr == "" || strings.HasPrefix(addr, "unix://") {
		return addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Resources are the Envoy resources for one config, in push order.
type Resources struct {
	Clusters []*clusterv3.Cluster
	Listener *listenerv3.Listener
	Routes   *routev3.RouteConfiguration
}

// BuildResources renders cfg as Envoy resources. The listener's HCM fetches
// its routes over ADS (RDS name RouteConfigName).
func BuildResources(cfg *config.Config, opts Options) (*Resources, error) {
	if cfg == nil {
		return nil, errors.New("xds: nil config")
	}
	opts = opts.withDefaults(cfg)
	var errs []error
	res := &Resources{}

	ep, err := endpointCluster(ExtProcCluster, opts.ExtProcAddr, 1*time.Second)
	if err != nil {
		errs = append(errs, fmt.Errorf("ext_proc address: %w", err))
	} else {
		ep.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtoOptions: mustAny(http2Options())}
		res.Clusters = append(res.Clusters, ep)
	}
	if opts.AdminAddr != "" {
		ac, err := endpointCluster(AdminCluster, opts.AdminAddr, 1*time.Second)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin address: %w", err))
		} else {
			res.Clusters = append(res.Clusters, ac)
		}
	}

	var routes []*routev3.Route
	routes = append(routes, wellKnownRoutes(opts.AdminAddr != "")...)
	for i, s := range cfg.Servers {
		up, err := parseUpstream(s.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("servers[%d].url: %w", i, err))
			continue
		}
		main := ServerCluster(s.Name)
		res.Clusters = append(res.Clusters, upstreamCluster(main, up))
		prefix := "/mcp/" + s.Name
		if s.Sandbox != "" {
			sb, err := parseUpstream(s.Sandbox)
			if err != nil {
				errs = append(errs, fmt.Errorf("servers[%d].sandbox: %w", i, err))
				continue
			}
			name := SandboxCluster(s.Name)
			res.Clusters = append(res.Clusters, upstreamCluster(name, sb))
			routes = append(routes, &routev3.Route{
				Name: s.Name + "_sandbox",
				Match: &routev3.RouteMatch{
					PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: prefix},
					Headers:       []*routev3.HeaderMatcher{exactHeader(RouteHeader, RouteHeaderSandbox)},
				},
				Action: routeAction(name, sb, 300*time.Second),
			})
		}
		routes = append(routes,
			&routev3.Route{
				Name: s.Name + "_get",
				Match: &routev3.RouteMatch{
					PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: prefix},
					Headers:       []*routev3.HeaderMatcher{exactHeader(":method", "GET")},
				},
				Action:               routeAction(main, up, 0),
				TypedPerFilterConfig: map[string]*anypb.Any{ExtProcFilter: mustAny(streamGETOverride())},
			},
			&routev3.Route{
				Name:   s.Name,
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: prefix}},
				Action: routeAction(main, up, 300*time.Second),
			})
	}
	routes = append(routes, &routev3.Route{
		Name:  "unknown_server",
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/mcp/"}},
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: 404,
			Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: unknownServerBody}},
		}},
		ResponseHeadersToAdd: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "content-type", Value: "application/json"}}},
	})
	res.Routes = &routev3.RouteConfiguration{
		Name:                RouteConfigName,
		InternalOnlyHeaders: []string{RouteHeader},
		// No accept-encoding upstream: a compressed body would pass the
		// processor uninspected (issue 11 #1).
		VirtualHosts: []*routev3.VirtualHost{{Name: "mcp", Domains: []string{"*"}, Routes: routes, RequestHeadersToRemove: []string{"accept-encoding"}}},
	}

	lis, err := buildListener(cfg, opts)
	if err != nil {
		errs = append(errs, err)
	}
	res.Listener = lis
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("xds: build resources: %w", err)
	}
	return res, nil
}

// ServerCluster is the cluster name of an allow-listed server.
func ServerCluster(name string) string { return "mcp_" + name }

// SandboxCluster is the cluster name of a server's sandbox upstream.
func SandboxCluster(name string) string { return "sandbox_" + name }

// Validate runs every resource's PGV ValidateAll, including the messages
// packed in Any fields that PGV itself does not look into.
func (r *Resources) Validate() error {
	var errs []error
	for _, c := range r.Clusters {
		errs = append(errs, validateDeep(c, "cluster "+c.GetName()))
	}
	errs = append(errs, validateDeep(r.Listener, "listener"), validateDeep(r.Routes, "route configuration"))
	return errors.Join(errs...)
}

// ValidateDeep runs PGV ValidateAll on m and on every message packed in an
// Any below it, which PGV itself does not look into. An Any whose type is
// not linked into the binary is an error.
func ValidateDeep(m proto.Message) error {
	if m == nil {
		return errors.New("nil message")
	}
	return validateDeep(m, string(m.ProtoReflect().Descriptor().FullName()))
}

// Snapshot wraps the resources in a go-control-plane snapshot.
func (r *Resources) Snapshot(version string) (*cache.Snapshot, error) {
	clusters := make([]types.Resource, len(r.Clusters))
	for i, c := range r.Clusters {
		clusters[i] = c
	}
	snap, err := cache.NewSnapshot(version, map[resource.Type][]types.Resource{
		resource.ClusterType:  clusters,
		resource.ListenerType: {r.Listener},
		resource.RouteType:    {r.Routes},
	})
	if err != nil {
		return nil, fmt.Errorf("xds: snapshot: %w", err)
	}
	return snap, nil
}

// Hash is a stable digest of the resources' content.
func (r *Resources) Hash() string {
	h := sha256.New()
	mo := proto.MarshalOptions{Deterministic: true}
	var msgs []proto.Message
	for _, c := range r.Clusters {
		msgs = append(msgs, c)
	}
	msgs = append(msgs, r.Listener, r.Routes)
	for _, m := range msgs {
		b, _ := mo.Marshal(m) // generated messages always marshal
		h.Write([]byte(strconv.Itoa(len(b))))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BuildSnapshot renders cfg, validates every resource and checks the
// snapshot's consistency. It does not call cfg.Validate.
func BuildSnapshot(cfg *config.Config, opts Options, version string) (*cache.Snapshot, error) {
	res, err := BuildResources(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := res.Validate(); err != nil {
		return nil, fmt.Errorf("xds: invalid resource: %w", err)
	}
	snap, err := res.Snapshot(version)
	if err != nil {
		return nil, err
	}
	if err := snap.Consistent(); err != nil {
		return nil, fmt.Errorf("xds: inconsistent snapshot: %w", err)
	}
	return snap, nil
}

func buildListener(cfg *config.Config, opts Options) (*listenerv3.Listener, error) {
	addr, err := socketAddress(opts.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("listener address: %w", err)
	}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix:        ListenerName,
		CodecType:         hcmv3.HttpConnectionManager_AUTO,
		UseRemoteAddress:  wrapperspb.Bool(true),
		StreamIdleTimeout: durationpb.New(time.Hour),
		// Path hygiene before routing and ext_proc (issue 11 #16): dot
		// segments resolved, slashes merged, escaped slashes refused.
		NormalizePath:                wrapperspb.Bool(true),
		MergeSlashes:                 true,
		PathWithEscapedSlashesAction: hcmv3.HttpConnectionManager_REJECT_REQUEST,
		AccessLog:                    []*accesslogv3.AccessLog{refusalAccessLog()}, // accesslog.go
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource: &corev3.ConfigSource{
				ResourceApiVersion:    corev3.ApiVersion_V3,
				ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
			},
			RouteConfigName: RouteConfigName,
		}},
		HttpFilters: []*hcmv3.HttpFilter{
			{Name: ExtProcFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(ExternalProcessor(cfg, opts))}},
			{Name: RouterFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})}},
		},
	}
	// The processor refuses JSON-RPC bodies above limits.max_body_bytes with
	// a JSON-RPC 413; Envoy's own buffer limit (a bare 413/500) sits at twice
	// that so the processor's clearer error is what clients normally see.
	limit := cfg.Limits.MaxBodyBytes
	if limit <= 0 {
		limit = config.DefaultMaxBodyBytes
	}
	limit *= 2
	if limit > 1<<32-1 {
		return nil, fmt.Errorf("limits.max_body_bytes %d does not fit Envoy's per_connection_buffer_limit_bytes", limit)
	}
	return &listenerv3.Listener{
		Name:                          ListenerName,
		Address:                       addr,
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(uint32(limit)),
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       hcmFilter,
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(hcm)},
		}}}},
	}, nil
}

func mode(reqBody, respBody extprocv3.ProcessingMode_BodySendMode) *extprocv3.ProcessingMode {
	return &extprocv3.ProcessingMode{
		RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
		ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
		RequestBodyMode:     reqBody,
		ResponseBodyMode:    respBody,
		RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
		ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
	}
}

// ExternalProcessor is the ext_proc filter config of the processor contract:
// BUFFERED both ways, SSE responses may be switched to STREAMED by
// mode_override, fail closed.
func ExternalProcessor(cfg *config.Config, opts Options) *extprocv3.ExternalProcessor {
	msgTimeout := cfg.Limits.MessageTimeout
	if msgTimeout <= 0 {
		msgTimeout = config.DefaultMessageTimeout
	}
	maxTimeout := cmp.Or(opts.MaxMessageTimeout, DefaultMaxMessageTimeout)
	gs := &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
		EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: ExtProcCluster},
	}}
	// A token-protected ext_proc listener (listen.extproc_auth) is called
	// with the bearer token in the gRPC metadata. Validation already read
	// the token, so an error here cannot happen for a loaded config.
	if tok, err := cfg.Listen.ExtProcAuth.Token(); err == nil && tok != "" {
		gs.InitialMetadata = []*corev3.HeaderValue{{Key: "authorization", Value: "Bearer " + tok}}
	}
	return &extprocv3.ExternalProcessor{
		GrpcService:          gs,
		FailureModeAllow:     false,
		ProcessingMode:       mode(extprocv3.ProcessingMode_BUFFERED, extprocv3.ProcessingMode_BUFFERED),
		AllowModeOverride:    true,
		AllowedOverrideModes: []*extprocv3.ProcessingMode{mode(extprocv3.ProcessingMode_BUFFERED, extprocv3.ProcessingMode_STREAMED)},
		MessageTimeout:       durationpb.New(msgTimeout),
		MaxMessageTimeout:    durationpb.New(maxTimeout),
		MutationRules: &mutationrulesv3.HeaderMutationRules{
			AllowAllRouting: wrapperspb.Bool(false),
			DisallowIsError: wrapperspb.Bool(true),
		},
		RequestAttributes: []string{
			"source.address",
			"connection.uri_san_peer_certificate",
			"connection.subject_peer_certificate",
			"request.id",
		},
	}
}

// streamGETOverride pins standalone SSE GET streams to STREAMED. The request
// body stays BUFFERED: a GET has none, and one that carries a body is sent
// to the processor, which refuses it (issue 11 #17), instead of streaming
// upstream uninspected.
func streamGETOverride() *extprocv3.ExtProcPerRoute {
	return &extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{
		ProcessingMode: mode(extprocv3.ProcessingMode_BUFFERED, extprocv3.ProcessingMode_STREAMED),
	}}}
}

// WellKnownPrefixes are the OAuth paths the admin listener answers
// (gateway/authz.go): protected-resource metadata, the authorization-server
// and OpenID discovery paths (a JSON 404 naming the real authorization
// servers) and the consent pages of user-delegated upstream OAuth
// (/oauth/upstream/). All are public: the gateway authenticates them
// itself, so ext_proc is off on these routes.
var WellKnownPrefixes = []string{WellKnownPrefix, "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/oauth/upstream/"}

// wellKnownRoutes sends OAuth discovery to the admin listener without
// ext_proc (the documents are public), or answers 404 without one.
func wellKnownRoutes(toAdmin bool) []*routev3.Route {
	var out []*routev3.Route
	for _, p := range WellKnownPrefixes {
		r := &routev3.Route{
			Name:                 routeName(p),
			Match:                &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}},
			TypedPerFilterConfig: map[string]*anypb.Any{ExtProcFilter: mustAny(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Disabled{Disabled: true}})},
		}
		if toAdmin {
			r.Action = &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: AdminCluster},
				Timeout:          durationpb.New(5 * time.Second),
			}}
		} else {
			r.Action = &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 404}}
		}
		out = append(out, r)
	}
	return out
}

// routeName turns an OAuth path prefix into a route name:
// "/.well-known/oauth-protected-resource" → "oauth_protected_resource",
// "/oauth/upstream/" → "oauth_upstream".
func routeName(prefix string) string {
	p := strings.Trim(strings.TrimPrefix(prefix, "/.well-known/"), "/")
	return strings.NewReplacer("-", "_", "/", "_").Replace(p)
}

func exactHeader(name, value string) *routev3.HeaderMatcher {
	return &routev3.HeaderMatcher{
		Name: name,
		HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Exact{Exact: value},
		}},
	}
}

// routeAction forwards to cluster with the upstream's path and Host. A zero
// timeout disables the route timeout (SSE GET streams).
func routeAction(cluster string, up upstream, timeout time.Duration) *routev3.Route_Route {
	return &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier:     &routev3.RouteAction_Cluster{Cluster: cluster},
		PrefixRewrite:        up.path,
		HostRewriteSpecifier: &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: up.hostHeader},
		Timeout:              durationpb.New(timeout),
		IdleTimeout:          durationpb.New(time.Hour),
	}}
}

// upstream is a parsed server URL.
type upstream struct {
	host       string // hostname or IP, no brackets
	port       uint32
	path       string // never empty
	hostHeader string // Host to send: the URL's host[:port]
	tls        bool
}

func parseUpstream(raw string) (upstream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return upstream{}, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	var up upstream
	switch u.Scheme {
	case "http":
		up.port = 80
	case "https":
		up.port, up.tls = 443, true
	default:
		return upstream{}, fmt.Errorf("invalid URL %q: scheme must be http or https", raw)
	}
	up.host = u.Hostname()
	if up.host == "" {
		return upstream{}, fmt.Errorf("invalid URL %q: missing host", raw)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return upstream{}, fmt.Errorf("invalid URL %q: bad port", raw)
		}
		up.port = uint32(n)
	}
	up.hostHeader = u.Host
	up.path = cmp.Or(u.EscapedPath(), "/")
	return up, nil
}

// upstreamCluster is an MCP server's cluster: STATIC for an IP, STRICT_DNS
// for a hostname, TLS with SNI, SAN check and the system CAs for https.
func upstreamCluster(name string, up upstream) *clusterv3.Cluster {
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(2 * time.Second),
		LoadAssignment:       loadAssignment(name, tcpAddress(up.host, up.port)),
	}
	ip := net.ParseIP(up.host)
	if ip == nil {
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
	}
	if up.tls {
		san := &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_DNS, Matcher: exactString(up.host)}
		if ip != nil {
			san.SanType = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
		}
		tctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				SystemRootCerts:           &tlsv3.CertificateValidationContext_SystemRootCerts{},
				MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san},
			}},
		}}
		if ip == nil {
			tctx.Sni = up.host // SNI carries host names only, never IP literals
		}
		c.TransportSocket = &corev3.TransportSocket{
			Name:       "envoy.transport_sockets.tls",
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(tctx)},
		}
	}
	return c
}

func exactString(s string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}
}

// endpointCluster is a cluster for one of the gateway's own endpoints,
// host:port or unix:///path.
func endpointCluster(name, addr string, connectTimeout time.Duration) (*clusterv3.Cluster, error) {
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(connectTimeout),
	}
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if path == "" {
			return nil, fmt.Errorf("%q: empty unix socket path", addr)
		}
		c.LoadAssignment = loadAssignment(name, &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: path}}})
		return c, nil
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 || host == "" {
		return nil, fmt.Errorf("%q: want host:port with a non-zero port", addr)
	}
	if net.ParseIP(host) == nil {
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
	}
	c.LoadAssignment = loadAssignment(name, tcpAddress(host, uint32(port)))
	return c, nil
}

func socketAddress(addr string) (*corev3.Address, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%q: bad port", addr)
	}
	return tcpAddress(cmp.Or(host, "0.0.0.0"), uint32(port)), nil
}

func tcpAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func loadAssignment(cluster string, addr *corev3.Address) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: cluster,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: addr}},
		}}}},
	}
}

func http2Options() *httpv3.HttpProtocolOptions {
	return &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{
		ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
				Http2ProtocolOptions: &corev3.Http2ProtocolOptions{
					ConnectionKeepalive: &corev3.KeepaliveSettings{
						Interval: durationpb.New(30 * time.Second),
						Timeout:  durationpb.New(5 * time.Second),
					},
				},
			},
		},
	}}
}

// mustAny packs a generated message; anypb.New fails only for nil.
func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(fmt.Sprintf("xds: pack %T: %v", m, err)) // programming error, never input-dependent
	}
	return a
}
