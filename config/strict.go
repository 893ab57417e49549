package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeStrict decodes YAML into out and rejects unknown keys, duplicate keys
// and multiple documents. Every unknown key is reported with its field path
// (for example "servers[1].tools.alow") and line, all problems joined.
func DecodeStrict(data []byte, out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty document")
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document; expected exactly one")
	}
	var errs []error
	walkStrict(&root, reflect.TypeOf(out), "", &errs)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := root.Decode(out); err != nil {
		return err
	}
	return nil
}

func walkStrict(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	if n == nil {
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			walkStrict(c, t, path, errs)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		walkStrict(n.Alias, t, path, errs)
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the type mismatch is reported by the decoder
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if seen[k.Value] {
				*errs = append(*errs, fmt.Errorf("%s: duplicate key (line %d)", p, k.Line))
				continue
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s: unknown field (line %d); known fields: %s", p, k.Line, knownList(fields)))
				continue
			}
			walkStrict(v, ft, p, errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			walkStrict(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if seen[k.Value] {
				*errs = append(*errs, fmt.Errorf("%s: duplicate key (line %d)", p, k.Line))
				continue
			}
			seen[k.Value] = true
			walkStrict(v, t.Elem(), p, errs)
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func knownList(m map[string]reflect.Type) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return strings.Join(keys, ", ")
}

func sortStrings(s []string) { slices.Sort(s) }

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}
