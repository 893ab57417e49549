package mcp

import (
	"strconv"
	"strings"

	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
)

// Value is a read-only view of one value of a tokenized message (a node of
// its jsondoc.Doc). The zero Value is a missing value. Reading a Value never
// parses again: lookups walk the node list built by the one tokenizer pass.
type Value struct {
	doc *jsondoc.Doc
	i   int
}

// ValueOf returns the view of node i of d.
func ValueOf(d *jsondoc.Doc, i int) Value {
	if d == nil || i < 0 || i >= len(d.Nodes) {
		return Value{}
	}
	return Value{doc: d, i: i}
}

// Exists reports whether the value is present (null counts as present).
func (v Value) Exists() bool { return v.doc != nil }

// Doc and Node locate the value in its document (nil, -1 when missing).
func (v Value) Doc() *jsondoc.Doc { return v.doc }

// Node is the value's node index in Doc, or -1.
func (v Value) Node() int {
	if v.doc == nil {
		return -1
	}
	return v.i
}

// Kind is the JSON type (0 when missing).
func (v Value) Kind() jsondoc.Kind {
	if v.doc == nil {
		return 0
	}
	return v.doc.Nodes[v.i].Kind
}

// Raw is the value's JSON text, a sub-slice of the message (nil when
// missing). Callers must not modify it.
func (v Value) Raw() []byte {
	if v.doc == nil {
		return nil
	}
	return v.doc.Raw(v.i)
}

// IsObject reports a JSON object.
func (v Value) IsObject() bool { return v.Kind() == jsondoc.Object }

// IsArray reports a JSON array.
func (v Value) IsArray() bool { return v.Kind() == jsondoc.Array }

// IsString reports a JSON string.
func (v Value) IsString() bool { return v.Kind() == jsondoc.String }

// Str is the decoded value of a string, "" otherwise.
func (v Value) Str() string {
	if v.Kind() != jsondoc.String {
		return ""
	}
	return v.doc.StringValue(v.i)
}

// String is the decoded value of a string, the JSON text of any other
// value, "" for null or a missing value.
func (v Value) String() string {
	switch v.Kind() {
	case 0, jsondoc.Null:
		return ""
	case jsondoc.String:
		return v.doc.StringValue(v.i)
	}
	return string(v.Raw())
}

// Bool is true for true, a non-zero number or a string that
// strconv.ParseBool reads as true.
func (v Value) Bool() bool {
	switch v.Kind() {
	case jsondoc.True:
		return true
	case jsondoc.Number:
		f, _ := strconv.ParseFloat(string(v.Raw()), 64)
		return f != 0
	case jsondoc.String:
		b, _ := strconv.ParseBool(v.Str())
		return b
	}
	return false
}

// Int is the integer value of a number (truncated), of a string holding
// one, 1 for true; 0 otherwise.
func (v Value) Int() int64 {
	var s string
	switch v.Kind() {
	case jsondoc.True:
		return 1
	case jsondoc.Number:
		s = string(v.Raw())
	case jsondoc.String:
		s = v.Str()
	default:
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	f, _ := strconv.ParseFloat(s, 64)
	return int64(f)
}

// Len is the number of members of an object or elements of an array.
func (v Value) Len() int {
	if k := v.Kind(); k != jsondoc.Object && k != jsondoc.Array {
		return 0
	}
	return v.doc.Len(v.i)
}

// Get follows a dotted path of member names (a dot inside a name is
// written "\.") and array indices, and returns the value there or a
// missing Value.
func (v Value) Get(path string) Value {
	if v.doc == nil {
		return v
	}
	i := v.i
	for path != "" {
		var seg string
		seg, path = nextSegment(path)
		if i = v.doc.Child(i, seg); i < 0 {
			return Value{}
		}
	}
	return Value{doc: v.doc, i: i}
}

func nextSegment(path string) (seg, rest string) {
	j := strings.IndexByte(path, '.')
	if j < 0 {
		return path, ""
	}
	if j == 0 || path[j-1] != '\\' {
		return path[:j], path[j+1:]
	}
	// A name with escaped dots.
	var b strings.Builder
	for k := 0; k < len(path); k++ {
		switch c := path[k]; {
		case c == '\\' && k+1 < len(path) && path[k+1] == '.':
			b.WriteByte('.')
			k++
		case c == '.':
			return b.String(), path[k+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// ForEach calls fn for each member (key = decoded name) or element (key =
// "") in order until fn returns false.
func (v Value) ForEach(fn func(key string, v Value) bool) {
	if k := v.Kind(); k != jsondoc.Object && k != jsondoc.Array {
		return
	}
	for j := v.doc.FirstChild(v.i); j >= 0; j = v.doc.Next(j) {
		if !fn(v.doc.Nodes[j].Key, Value{doc: v.doc, i: j}) {
			return
		}
	}
}

// Decode turns the value into Go values from the nodes already parsed:
// objects become map[string]any, arrays []any, strings string, true and
// false bool, null nil, and numbers whatever number returns for their
// literal (its error stops the walk). Nothing is parsed again.
func (v Value) Decode(number func(lit []byte) (any, error)) (any, error) {
	if v.doc == nil {
		return nil, nil
	}
	return decodeNode(v.doc, v.i, number)
}

func decodeNode(d *jsondoc.Doc, i int, number func([]byte) (any, error)) (any, error) {
	switch d.Nodes[i].Kind {
	case jsondoc.Object:
		m := make(map[string]any, d.Len(i))
		for j := d.FirstChild(i); j >= 0; j = d.Next(j) {
			c, err := decodeNode(d, j, number)
			if err != nil {
				return nil, err
			}
			m[d.Nodes[j].Key] = c
		}
		return m, nil
	case jsondoc.Array:
		a := make([]any, 0, d.Len(i))
		for j := d.FirstChild(i); j >= 0; j = d.Next(j) {
			c, err := decodeNode(d, j, number)
			if err != nil {
				return nil, err
			}
			a = append(a, c)
		}
		return a, nil
	case jsondoc.String:
		return d.StringValue(i), nil
	case jsondoc.Number:
		return number(d.Raw(i))
	case jsondoc.True:
		return true, nil
	case jsondoc.False:
		return false, nil
	}
	return nil, nil
}
