package jsondoc

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/portcullis-mcp/portcullis/internal/jsonstr"
)

// Kind is the type of a JSON value.
type Kind uint8

// Kinds.
const (
	Object Kind = iota + 1
	Array
	String
	Number
	True
	False
	Null
)

// Node is one value of the document: its byte range in the source (for
// strings including the quotes), its parent and how the parent names it.
type Node struct {
	Kind       Kind
	Start, End int
	Parent     int    // index of the parent node, -1 for the root
	Key        string // decoded member name (objects)
	Index      int    // element index (arrays), -1 otherwise
	// KeyStart is the offset of the member name's opening quote (object
	// members), -1 otherwise.
	KeyStart int
}

// Doc is a parsed JSON document. Nodes are in source order; Nodes[0] is the
// root.
type Doc struct {
	Src   []byte
	Nodes []Node
}

// Options bound parsing.
type Options struct {
	MaxDepth int // 0: unlimited
}

// Error is a syntax or limit problem at a byte offset.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset) }

// Parse validates src as exactly one JSON value — valid UTF-8 throughout
// (escaped surrogates paired), no duplicate object keys after unescaping,
// no deeper than opt.MaxDepth — and returns its nodes, in one pass.
func Parse(src []byte, opt Options) (*Doc, error) {
	p := parser{src: src, maxDepth: opt.MaxDepth, doc: &Doc{Src: src, Nodes: make([]Node, 0, 16)}}
	p.ws()
	if p.pos >= len(src) {
		return nil, p.err("empty document")
	}
	if err := p.value(-1, "", -1, -1, 0); err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(src) {
		return nil, p.err("unexpected data after the JSON value")
	}
	return p.doc, nil
}

type parser struct {
	src      []byte
	pos      int
	maxDepth int
	doc      *Doc
}

func (p *parser) err(msg string) error { return &Error{Offset: p.pos, Msg: msg} }

func (p *parser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) add(n Node) int {
	p.doc.Nodes = append(p.doc.Nodes, n)
	return len(p.doc.Nodes) - 1
}

func (p *parser) value(parent int, key string, index, keyStart int, depth int) error {
	if p.pos >= len(p.src) {
		return p.err("unexpected end of JSON")
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{' || c == '[':
		if p.maxDepth > 0 && depth+1 > p.maxDepth {
			return p.err("nesting deeper than " + strconv.Itoa(p.maxDepth))
		}
		kind := Object
		if c == '[' {
			kind = Array
		}
		i := p.add(Node{Kind: kind, Start: start, Parent: parent, Key: key, Index: index, KeyStart: keyStart})
		var err error
		if kind == Object {
			err = p.object(i, depth+1)
		} else {
			err = p.array(i, depth+1)
		}
		if err != nil {
			return err
		}
		p.doc.Nodes[i].End = p.pos
		return nil
	case c == '"':
		if _, err := p.str(nil); err != nil {
			return err
		}
		p.add(Node{Kind: String, Start: start, End: p.pos, Parent: parent, Key: key, Index: index, KeyStart: keyStart})
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		if err := p.number(); err != nil {
			return err
		}
		p.add(Node{Kind: Number, Start: start, End: p.pos, Parent: parent, Key: key, Index: index, KeyStart: keyStart})
		return nil
	}
	for _, lit := range [...]struct {
		s string
		k Kind
	}{{"true", True}, {"false", False}, {"null", Null}} {
		if len(p.src)-p.pos >= len(lit.s) && string(p.src[p.pos:p.pos+len(lit.s)]) == lit.s {
			p.pos += len(lit.s)
			p.add(Node{Kind: lit.k, Start: start, End: p.pos, Parent: parent, Key: key, Index: index, KeyStart: keyStart})
			return nil
		}
	}
	return p.err("invalid character " + strconv.QuoteRune(rune(p.src[p.pos])))
}

func (p *parser) object(self, depth int) error {
	p.pos++ // {
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return nil
	}
	var keys []string
	var set map[string]struct{}
	scratch := make([]byte, 0, 32)
	for {
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return p.err("expected a string key")
		}
		kpos := p.pos
		var err error
		if scratch, err = p.str(scratch[:0]); err != nil {
			return err
		}
		key := string(scratch)
		// Small objects compare linearly; large ones switch to a map.
		if set != nil {
			if _, dup := set[key]; dup {
				return &Error{Offset: kpos, Msg: "duplicate object key " + strconv.Quote(key)}
			}
			set[key] = struct{}{}
		} else {
			if slices.Contains(keys, key) {
				return &Error{Offset: kpos, Msg: "duplicate object key " + strconv.Quote(key)}
			}
			keys = append(keys, key)
			if len(keys) > 16 {
				set = make(map[string]struct{}, 32)
				for _, k := range keys {
					set[k] = struct{}{}
				}
			}
		}
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return p.err("expected ':' after an object key")
		}
		p.pos++
		p.ws()
		if err := p.value(self, key, -1, kpos, depth); err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.src) {
			return p.err("unexpected end of JSON in an object")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.err("expected ',' or '}' in an object")
		}
	}
}

func (p *parser) array(self, depth int) error {
	p.pos++ // [
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return nil
	}
	for i := 0; ; i++ {
		p.ws()
		if err := p.value(self, "", i, -1, depth); err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.src) {
			return p.err("unexpected end of JSON in an array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return p.err("expected ',' or ']' in an array")
		}
	}
}

// str scans a string literal at p.pos, appending its decoded value to dst
// when dst is non-nil.
func (p *parser) str(dst []byte) ([]byte, error) {
	p.pos++ // opening quote
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return dst, nil
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return nil, err
			}
			if dst != nil {
				dst = utf8.AppendRune(dst, r)
			}
		case c < 0x20:
			return nil, p.err("control character in a string")
		case c < utf8.RuneSelf:
			if dst != nil {
				dst = append(dst, c)
			}
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.err("invalid UTF-8")
			}
			if dst != nil {
				dst = append(dst, p.src[p.pos:p.pos+size]...)
			}
			p.pos += size
		}
	}
	return nil, p.err("unterminated string")
}

func (p *parser) escape() (rune, error) {
	if p.pos+1 >= len(p.src) {
		return 0, p.err("unterminated escape")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := p.hex4()
		if err != nil {
			return 0, err
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate must be followed by an escaped low one.
			if r >= 0xDC00 || p.pos+1 >= len(p.src) || p.src[p.pos] != '\\' || p.src[p.pos+1] != 'u' {
				return 0, p.err("unpaired surrogate escape")
			}
			p.pos += 2
			lo, err := p.hex4()
			if err != nil {
				return 0, err
			}
			if lo < 0xDC00 || lo > 0xDFFF {
				return 0, p.err("unpaired surrogate escape")
			}
			return utf16.DecodeRune(r, lo), nil
		}
		return r, nil
	}
	p.pos -= 2
	return 0, p.err("invalid escape")
}

func (p *parser) hex4() (rune, error) {
	if p.pos+4 > len(p.src) {
		return 0, p.err("short \\u escape")
	}
	var r rune
	for _, c := range p.src[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, p.err("invalid \\u escape")
		}
	}
	p.pos += 4
	return r, nil
}

func (p *parser) number() error {
	start := p.pos
	if p.src[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.src) && p.src[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return &Error{Offset: start, Msg: "invalid number"}
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return &Error{Offset: start, Msg: "invalid number"}
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return &Error{Offset: start, Msg: "invalid number"}
		}
	}
	return nil
}

// Raw returns the source bytes of node i.
func (d *Doc) Raw(i int) []byte { n := &d.Nodes[i]; return d.Src[n.Start:n.End] }

// StringValue decodes string node i.
func (d *Doc) StringValue(i int) string {
	n := &d.Nodes[i]
	p := parser{src: d.Src, pos: n.Start}
	b, _ := p.str(make([]byte, 0, n.End-n.Start))
	return string(b)
}

// Child returns the index of the member key of object node i, or of element
// key (a decimal index) of array node i, or -1.
func (d *Doc) Child(i int, key string) int {
	if i < 0 || i >= len(d.Nodes) {
		return -1
	}
	kind := d.Nodes[i].Kind
	idx := -1
	if kind == Array {
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 {
			return -1
		}
		idx = n
	} else if kind != Object {
		return -1
	}
	end := d.Nodes[i].End
	for j := i + 1; j < len(d.Nodes) && d.Nodes[j].Start < end; j++ {
		if d.Nodes[j].Parent != i {
			continue
		}
		if (kind == Object && d.Nodes[j].Key == key) || (kind == Array && d.Nodes[j].Index == idx) {
			return j
		}
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
	return Edit{Start: d.Nodes[i].Start, End: d.Nodes[i].End, Repl: repl}
}

// Delete is the edit that removes object member i with one adjacent comma,
// leaving valid JSON. ok is false when i is not an object member.
func (d *Doc) Delete(i int) (e Edit, ok bool) {
	n := &d.Nodes[i]
	if n.KeyStart < 0 {
		return Edit{}, false
	}
	start, end := n.KeyStart, n.End
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
