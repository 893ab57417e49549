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
	problems, err := DecodeStrictPartial(data, out)
	if err != nil {
		return err
	}
	return errors.Join(problems...)
}

// DecodeStrictPartial is DecodeStrict for callers that validate in the same
// pass: fatal is a document that could not be decoded at all (a YAML syntax
// error, no document, several documents); problems are unknown keys,
// duplicate keys and values of the wrong type, each with its path and line,
// while out still receives every field that did decode. A caller can then
// validate out and report problems and validation errors together, once.
func DecodeStrictPartial(data []byte, out any) (problems []error, fatal error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty document")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document; expected exactly one")
	}
	walkStrict(&root, reflect.TypeOf(out), "", &problems)
	if len(problems) > 0 {
		// Unknown and duplicate keys are already reported: decode the rest
		// without them so yaml.v3 does not stop at a duplicate.
		dropReported(&root, reflect.TypeOf(out))
	}
	if err := root.Decode(out); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return problems, err
		}
		for _, m := range te.Errors {
			problems = append(problems, errors.New(m))
		}
	}
	return problems, nil
}

// dropReported removes unknown and repeated keys from mappings decoded into
// structs and maps, mirroring walkStrict.
func dropReported(n *yaml.Node, t reflect.Type) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			dropReported(c, t)
		}
		return
	case yaml.AliasNode:
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		var fields map[string]reflect.Type
		if t.Kind() == reflect.Struct {
			fields = yamlFields(t)
		}
		seen := map[string]bool{}
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if seen[k.Value] {
				continue
			}
			seen[k.Value] = true
			ft := t
			if fields != nil {
				var ok bool
				if ft, ok = fields[k.Value]; !ok {
					continue
				}
			} else {
				ft = t.Elem()
			}
			dropReported(v, ft)
			kept = append(kept, k, v)
		}
		n.Content = kept
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for _, c := range n.Content {
			dropReported(c, t.Elem())
		}
	}
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
