package xds

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

type allValidator interface{ ValidateAll() error }

// validateDeep runs ValidateAll on m and on every message packed in an Any
// below it (PGV checks only an Any's type URL, not its payload).
func validateDeep(m proto.Message, what string) error {
	if m == nil {
		return fmt.Errorf("%s: missing", what)
	}
	var errs []error
	validateTree(m.ProtoReflect(), what, &errs)
	return errors.Join(errs...)
}

func validateTree(m protoreflect.Message, path string, errs *[]error) {
	if v, ok := m.Interface().(allValidator); ok {
		if err := v.ValidateAll(); err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	findAnys(m, path, errs)
}

func findAnys(m protoreflect.Message, path string, errs *[]error) {
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
				findAnys(l.Get(i).Message(), fmt.Sprintf("%s[%d]", p, i), errs)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			val.Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
				findAnys(v.Message(), p+"["+k.String()+"]", errs)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			findAnys(val.Message(), p, errs)
		}
		return true
	})
}
