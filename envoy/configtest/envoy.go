package configtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"gopkg.in/yaml.v3"

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

type allValidator interface{ ValidateAll() error }

// ValidateDeep runs ValidateAll on m and on every message packed in an Any
// anywhere below it. An Any whose type is not linked into the binary is an
// error: it would be an unknown extension to us and probably a typo.
func ValidateDeep(m proto.Message) error {
	var errs []error
	validateTree(m.ProtoReflect(), string(m.ProtoReflect().Descriptor().FullName()), &errs)
	return errors.Join(errs...)
}

// validateTree validates m (PGV recurses into ordinary sub-messages itself)
// and then looks for Any fields below it, whose payloads PGV does not check.
func validateTree(m protoreflect.Message, path string, errs *[]error) {
	if v, ok := m.Interface().(allValidator); ok {
		if err := v.ValidateAll(); err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	walk(m, path, errs)
}

func walk(m protoreflect.Message, path string, errs *[]error) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: unpack %s: %w", path, a.GetTypeUrl(), err))
			return
		}
		validateTree(inner.ProtoReflect(), path+"("+string(inner.ProtoReflect().Descriptor().FullName())+")", errs)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		p := path + "." + string(fd.Name())
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), fmt.Sprintf("%s[%d]", p, i), errs)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			val.Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
				walk(v.Message(), fmt.Sprintf("%s[%s]", p, k.String()), errs)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			walk(val.Message(), p, errs)
		}
		return true
	})
}
