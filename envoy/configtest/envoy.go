package configtest

import (
	"encoding/json"
	"fmt"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"gopkg.in/yaml.v3"

	"github.com/portcullis-mcp/portcullis/xds"

	// Extensions referenced by the shipped configs, so their Any payloads resolve.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// YAMLToJSON converts one YAML document to JSON. Mapping keys must be strings.
func YAMLToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("yaml to json: %w", err)
	}
	return out, nil
}

// DecodeBootstrap strictly decodes an Envoy bootstrap (YAML or JSON) and
// validates it, including every message packed in an Any.
func DecodeBootstrap(data []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var b bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(js, &b); err != nil {
		return nil, fmt.Errorf("decode bootstrap: %w", err)
	}
	if err := ValidateDeep(&b); err != nil {
		return nil, fmt.Errorf("validate bootstrap: %w", err)
	}
	return &b, nil
}

// LoadBootstrap reads and decodes an Envoy bootstrap file.
func LoadBootstrap(path string) (*bootstrapv3.Bootstrap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b, err := DecodeBootstrap(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// ValidateDeep runs ValidateAll on m and on every message packed in an Any
// anywhere below it (see xds.ValidateDeep). An Any whose type is not linked
// into the binary is an error: to us it would be an unknown extension,
// probably a typo.
func ValidateDeep(m proto.Message) error { return xds.ValidateDeep(m) }
