package jsondoc

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis-mcp/portcullis/internal/jsonstr"
)

// Raw returns the source bytes of node i.
func (d *Doc) Raw(i int) []byte { n := &d.Nodes[i]; return d.Src[n.Start:n.End] }

// StringValue decodes string node i.
func (d *Doc) StringValue(i int) string {
	n := &d.Nodes[i]
	raw := d.Src[n.Start+1 : n.End-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	return string(appendUnescaped(make([]byte, 0, len(raw)), raw))
}

// AppendStringValue appends the decoded value of string node i to dst.
func (d *Doc) AppendStringValue(dst []byte, i int) []byte {
	n := &d.Nodes[i]
	return appendUnescaped(dst, d.Src[n.Start+1:n.End-1])
}

// Child returns the index of the member key of object node i, or of element
// key (a decimal index) of array node i, or -1.
func (d *Doc) Child(i int, key string) int {
	if i < 0 || i >= len(d.Nodes) {
		return -1
	}
	switch d.Nodes[i].Kind {
	case Object:
		for j := i + 1; j < int(d.Nodes[i].After); j = int(d.Nodes[j].After) {
			if d.Nodes[j].Key == key {
				return j
			}
		}
	case Array:
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 {
			return -1
		}
		return d.Elem(i, n)
	}
	return -1
}

// Elem returns the index of element n of array node i, or -1.
func (d *Doc) Elem(i, n int) int {
	for j := i + 1; j < int(d.Nodes[i].After); j = int(d.Nodes[j].After) {
		if n == 0 {
			return j
		}
		n--
	}
	return -1
}

// Len returns the number of members or elements of node i (0 for scalars).
func (d *Doc) Len(i int) int {
	n := 0
	for j := i + 1; j < int(d.Nodes[i].After); j = int(d.Nodes[j].After) {
		n++
	}
	return n
}

// Next returns the sibling after child j of its parent, or -1: with
// FirstChild it walks a container's members without visiting descendants.
func (d *Doc) Next(j int) int {
	p := d.Nodes[j].Parent
	if p < 0 || d.Nodes[j].After >= d.Nodes[p].After {
		return -1
	}
	return int(d.Nodes[j].After)
}

// FirstChild returns the first member or element of node i, or -1.
func (d *Doc) FirstChild(i int) int {
	if i+1 < int(d.Nodes[i].After) {
		return i + 1
	}
	return -1
}

// Lookup follows path segments from the root and returns the node index, or
// -1.
func (d *Doc) Lookup(path ...string) int {
	i := 0
	for _, seg := range path {
		if i = d.Child(i, seg); i < 0 {
			return -1
		}
	}
	return i
}

// LookupPath is Lookup over a dotted path ("params.arguments",
// "content.0.text"); it cannot name keys that contain a dot.
func (d *Doc) LookupPath(path string) int {
	if path == "" {
		return 0
	}
	i := 0
	for path != "" {
		seg := path
		if j := strings.IndexByte(path, '.'); j >= 0 {
			seg, path = path[:j], path[j+1:]
		} else {
			path = ""
		}
		if i = d.Child(i, seg); i < 0 {
			return -1
		}
	}
	return i
}

// Replace is the edit that replaces node i by repl.
func (d *Doc) Replace(i int, repl []byte) Edit {
	return Edit{Start: int(d.Nodes[i].Start), End: int(d.Nodes[i].End), Repl: repl}
}

// Delete is the edit that removes object member i with one adjacent comma,
// leaving valid JSON. ok is false when i is not an object member.
func (d *Doc) Delete(i int) (e Edit, ok bool) {
	n := &d.Nodes[i]
	if n.KeyStart < 0 {
		return Edit{}, false
	}
	start, end := int(n.KeyStart), int(n.End)
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	// Prefer the comma before the member; else the one after it.
	j := start - 1
	for j >= 0 && isWS(d.Src[j]) {
		j--
	}
	if j >= 0 && d.Src[j] == ',' {
		return Edit{Start: j, End: end}, true
	}
	k := end
	for k < len(d.Src) && isWS(d.Src[k]) {
		k++
	}
	if k < len(d.Src) && d.Src[k] == ',' {
		return Edit{Start: start, End: k + 1}, true
	}
	return Edit{Start: start, End: end}, true
}

// Edit replaces src[Start:End] with Repl.
type Edit struct {
	Start, End int
	Repl       []byte
}

// ErrOverlap reports edits that overlap or fall outside the source.
var ErrOverlap = errors.New("jsondoc: overlapping or out-of-range edits")

// Splice applies every edit in one pass and returns the new document. Edits
// may come in any order but must not overlap.
func Splice(src []byte, edits []Edit) ([]byte, error) {
	if len(edits) == 0 {
		return src, nil
	}
	es := slices.Clone(edits)
	slices.SortFunc(es, func(a, b Edit) int { return a.Start - b.Start })
	size, last := len(src), 0
	for _, e := range es {
		if e.Start < last || e.End < e.Start || e.End > len(src) {
			return nil, ErrOverlap
		}
		size += len(e.Repl) - (e.End - e.Start)
		last = e.End
	}
	out := make([]byte, 0, size)
	last = 0
	for _, e := range es {
		out = append(out, src[last:e.Start]...)
		out = append(out, e.Repl...)
		last = e.End
	}
	return append(out, src[last:]...), nil
}

// AppendString appends s as a JSON string literal. It is jsonstr.Append,
// the gateway's one JSON string encoder (escapes exactly like
// encoding/json).
func AppendString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }
