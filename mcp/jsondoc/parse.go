package jsondoc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"unicode/utf8"
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
// Offsets and indices are int32 (Parse refuses larger documents) so a node
// is 48 bytes: the node list is most of what a parse allocates.
type Node struct {
	Kind       Kind
	Start, End int32
	Parent     int32  // index of the parent node, -1 for the root
	Index      int32  // element index (arrays), -1 otherwise
	Key        string // decoded member name (objects)
	// KeyStart is the offset of the member name's opening quote (object
	// members), -1 otherwise.
	KeyStart int32
	// After is the index of the first node after this value's subtree, so
	// siblings are visited without walking descendants.
	After int32
}

// Doc is a parsed JSON document. Nodes are in source order; Nodes[0] is the
// root.
type Doc struct {
	Src   []byte
	Nodes []Node
}

// Options bound and tighten parsing.
type Options struct {
	MaxDepth int // 0: unlimited
	// FoldKeys refuses, in any object, keys that are equal after Fold (NFKC
	// and simple case folding), not only exact duplicates: parsers
	// disagree on which copy wins and some servers match keys
	// case-insensitively.
	FoldKeys bool
	// Envelope, when set, is called with every key of an envelope object
	// (the root object, or each element of a root array) and of the object
	// values of its EnvelopeMembers; a non-empty result names the field the
	// key imitates and refuses the document.
	Envelope        func(key []byte) string
	EnvelopeMembers []string
	// ProtocolObjects are members of a protocol object (an envelope member
	// or one of these) whose object values Envelope checks too;
	// ProtocolLists are members whose array elements it checks. Everything
	// else below an envelope member is user data.
	ProtocolObjects []string
	ProtocolLists   []string
	// Intern maps member names to their string so the common ones cost no
	// allocation (optional).
	Intern map[string]string
}

// Error is a syntax or limit problem at a byte offset.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset) }

// Parse validates src as exactly one JSON value — valid UTF-8 throughout
// (escaped surrogates paired), no duplicate object keys after unescaping,
// no deeper than opt.MaxDepth, plus the key rules opt enables — and returns
// its nodes, in one pass.
func Parse(src []byte, opt Options) (*Doc, error) {
	if len(src) > math.MaxInt32 {
		return nil, &Error{Offset: 0, Msg: "document larger than 2 GiB"}
	}
	// Most messages are a few large strings in a small tree.
	p := parser{src: src, opt: opt, doc: &Doc{Src: src, Nodes: make([]Node, 0, 16)}}
	p.ksp, _ = keySetPool.Get().(*[]keySet)
	if p.ksp == nil {
		p.ksp = new([]keySet)
	}
	p.keys = *p.ksp
	defer p.release()
	p.ws()
	if p.pos >= len(src) {
		return nil, p.err("empty body: expected a JSON-RPC message")
	}
	r := roleData
	if opt.Envelope != nil {
		r = roleEnvelope
	}
	if err := p.value(-1, "", -1, -1, 0, r); err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(src) {
		return nil, p.err("unexpected data after the JSON value")
	}
	return p.doc, nil
}

// role says how strictly an object's keys are checked.
type role uint8

const (
	roleData     role = iota // user data: duplicates (and fold-duplicates) only
	roleEnvelope             // a message object
	roleProtocol             // an envelope member, or a ProtocolObjects member below one
	roleList                 // a ProtocolLists member: its object elements are protocol objects
)

// childRole is the role of the value of member key in an object of role r.
// Keys are compared exactly: a variant spelling was refused before.
func (p *parser) childRole(r role, key []byte) role {
	switch r {
	case roleEnvelope:
		if member(p.opt.EnvelopeMembers, key) {
			return roleProtocol
		}
	case roleProtocol:
		if member(p.opt.ProtocolObjects, key) {
			return roleProtocol
		}
		if member(p.opt.ProtocolLists, key) {
			return roleList
		}
	}
	return roleData
}

func member(list []string, key []byte) bool {
	for _, m := range list {
		if string(key) == m {
			return true
		}
	}
	return false
}

type parser struct {
	src  []byte
	pos  int
	opt  Options
	doc  *Doc
	keys []keySet // one per open object depth, reused
	ksp  *[]keySet
}

// keySetPool recycles the per-depth key sets between documents.
var keySetPool sync.Pool

// release returns the key sets to the pool, dropping every reference into
// the source so a pooled set never keeps a message alive.
func (p *parser) release() {
	for i := range p.keys {
		clear(p.keys[i].list[:cap(p.keys[i].list)])
		p.keys[i].list, p.keys[i].m = p.keys[i].list[:0], nil
	}
	*p.ksp = p.keys
	keySetPool.Put(p.ksp)
}

// keySet tracks the keys of one open object. Small objects compare
// linearly; large ones switch to a map keyed by the (folded) key.
type keySet struct {
	list []seenKey
	m    map[string][]byte
}

type seenKey struct {
	k     []byte
	ascii bool
}

func (p *parser) err(msg string) error { return &Error{Offset: p.pos, Msg: msg} }

func (p *parser) errf(format string, args ...any) error {
	return &Error{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

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

func (p *parser) add(k Kind, start, end, parent int, key string, index, keyStart int) int {
	i := len(p.doc.Nodes)
	p.doc.Nodes = append(p.doc.Nodes, Node{Kind: k, Start: int32(start), End: int32(end), Parent: int32(parent),
		Index: int32(index), Key: key, KeyStart: int32(keyStart), After: int32(i + 1)})
	return i
}

func (p *parser) value(parent int, key string, index, keyStart int, depth int, r role) error {
	if p.pos >= len(p.src) {
		return p.err("unexpected end of JSON")
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{' || c == '[':
		if p.opt.MaxDepth > 0 && depth+1 > p.opt.MaxDepth {
			return p.errf("JSON nesting deeper than the limit of %d", p.opt.MaxDepth)
		}
		kind := Object
		if c == '[' {
			kind = Array
		} else if r == roleList {
			r = roleData // a list member that is an object holds user data
		}
		i := p.add(kind, start, start, parent, key, index, keyStart)
		var err error
		if kind == Object {
			err = p.object(i, depth+1, r)
		} else {
			err = p.array(i, depth+1, r)
		}
		if err != nil {
			return err
		}
		n := &p.doc.Nodes[i]
		n.End, n.After = int32(p.pos), int32(len(p.doc.Nodes))
		return nil
	case c == '"':
		if err := p.skipString(); err != nil {
			return err
		}
		p.add(String, start, p.pos, parent, key, index, keyStart)
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		if err := p.number(); err != nil {
			return err
		}
		p.add(Number, start, p.pos, parent, key, index, keyStart)
		return nil
	case c == 't':
		return p.lit("true", True, parent, key, index, keyStart)
	case c == 'f':
		return p.lit("false", False, parent, key, index, keyStart)
	case c == 'n':
		return p.lit("null", Null, parent, key, index, keyStart)
	default:
		return p.errf("invalid character %q looking for a JSON value", c)
	}
}

func (p *parser) lit(s string, k Kind, parent int, key string, index, keyStart int) error {
	start := p.pos
	if !bytes.HasPrefix(p.src[p.pos:], []byte(s)) {
		return p.err("invalid literal, expected " + s)
	}
	p.pos += len(s)
	p.add(k, start, p.pos, parent, key, index, keyStart)
	return nil
}

func (p *parser) object(self, depth int, r role) error {
	p.pos++ // {
	for len(p.keys) < depth {
		p.keys = append(p.keys, keySet{})
	}
	ks := &p.keys[depth-1]
	ks.list, ks.m = ks.list[:0], nil
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return nil
	}
	for {
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return p.err("object key must be a string")
		}
		kpos := p.pos
		kb, err := p.key()
		if err != nil {
			return err
		}
		ks = &p.keys[depth-1]
		if prev := ks.find(kb, p.opt.FoldKeys); prev != nil {
			p.pos = kpos
			if string(prev) == string(kb) {
				return p.errf("duplicate object key %q: the message is ambiguous and is refused", truncate(string(kb), 64))
			}
			return p.errf("object keys %q and %q differ only by case or Unicode normalisation: the message is ambiguous and is refused", truncate(string(prev), 64), truncate(string(kb), 64))
		}
		if r != roleData {
			if f := p.opt.Envelope(kb); f != "" {
				p.pos = kpos
				return p.errf("object key %q differs only by case or Unicode normalisation from the protocol field %q: the message is ambiguous and is refused", truncate(string(kb), 64), f)
			}
		}
		ks.add(kb, p.opt.FoldKeys)
		child := p.childRole(r, kb)
		key, ok := p.opt.Intern[string(kb)]
		if !ok {
			key = string(kb)
		}
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return p.err("expected ':' after object key")
		}
		p.pos++
		p.ws()
		if err := p.value(self, key, -1, kpos, depth, child); err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.src) {
			return p.err("unexpected end of JSON inside an object")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.err("expected ',' or '}' in object")
		}
	}
}

// key scans a member name and returns its decoded bytes: a sub-slice of the
// source when it has no escapes, a fresh copy otherwise (the key set keeps
// it until the object closes).
func (p *parser) key() ([]byte, error) {
	start := p.pos + 1
	if err := p.skipString(); err != nil {
		return nil, err
	}
	raw := p.src[start : p.pos-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	return appendUnescaped(nil, raw), nil
}

// find returns an earlier key of the object equal to k (after folding when
// fold is set), or nil.
func (ks *keySet) find(k []byte, fold bool) []byte {
	if ks.m != nil {
		if !fold {
			return ks.m[string(k)]
		}
		var buf [64]byte
		return ks.m[string(AppendFold(buf[:0], k))]
	}
	if !fold {
		for _, e := range ks.list {
			if string(e.k) == string(k) {
				return e.k
			}
		}
		return nil
	}
	ascii := isASCII(k)
	for _, e := range ks.list {
		if ascii && e.ascii {
			// ASCII folding keeps the length: most pairs differ there.
			if len(e.k) == len(k) && asciiEqualFold(e.k, k) {
				return e.k
			}
			continue
		}
		if foldEqual(e.k, k) {
			return e.k
		}
	}
	return nil
}

func (ks *keySet) add(k []byte, fold bool) {
	canon := func(k []byte) string {
		if fold {
			return string(AppendFold(nil, k))
		}
		return string(k)
	}
	if ks.m != nil {
		ks.m[canon(k)] = k
		return
	}
	ks.list = append(ks.list, seenKey{k: k, ascii: fold && isASCII(k)})
	if len(ks.list) > 16 {
		ks.m = make(map[string][]byte, 32)
		for _, e := range ks.list {
			ks.m[canon(e.k)] = e.k
		}
	}
}

func (p *parser) array(self, depth int, r role) error {
	// A root array (a batch) holds envelopes and a protocol list protocol
	// objects; arrays elsewhere hold data.
	elem := roleData
	switch {
	case depth == 1 && r == roleEnvelope:
		elem = roleEnvelope
	case r == roleList:
		elem = roleProtocol
	}
	p.pos++ // [
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return nil
	}
	for i := 0; ; i++ {
		p.ws()
		if err := p.value(self, "", i, -1, depth, elem); err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.src) {
			return p.err("unexpected end of JSON inside an array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return p.err("expected ',' or ']' in array")
		}
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// shortEscape marks the characters that complete a two-byte escape.
var shortEscape = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// specialMask flags (high bit of the lane) the bytes of x, a little-endian
// load of 8 source bytes, that a string scan must look at: a quote, a
// backslash, a control character or non-ASCII. The lowest flagged lane is
// always such a byte (the borrows that cause false positives only run
// upwards from a true one), so a scan can jump straight to it.
func specialMask(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	lt := (x - ones*0x20) &^ x // some byte < 0x20
	hq := (q - ones) &^ q      // some byte == '"'
	hb := (b - ones) &^ b      // some byte == '\\'
	return (lt | hq | hb | x) & highs
}

// skipString validates the string literal at p.pos (UTF-8, escapes,
// surrogate pairs, no raw control characters) and moves past it. Plain
// ASCII is skipped eight bytes at a time, up to the exact next byte that
// needs a look, so text dense with escapes (JSON inside a string) stays
// word-at-a-time too.
func (p *parser) skipString() error {
	p.pos++ // opening quote
	src := p.src
	for {
		for p.pos+8 <= len(src) {
			if m := specialMask(binary.LittleEndian.Uint64(src[p.pos:])); m != 0 {
				p.pos += bits.TrailingZeros64(m) >> 3
				break
			}
			p.pos += 8
		}
		if p.pos >= len(src) {
			return p.err("unterminated string")
		}
		c := src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return nil
		case c == '\\':
			if p.pos+1 < len(src) && shortEscape[src[p.pos+1]] {
				p.pos += 2 // the common \" \\ \n ...: no call
				continue
			}
			if _, err := p.escape(); err != nil {
				return err
			}
		case c < 0x20:
			return p.errf("control character 0x%02x must be escaped in a JSON string", c)
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(src[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return p.err("invalid UTF-8 in string")
			}
			p.pos += size
		}
	}
}

func (p *parser) escape() (rune, error) {
	if p.pos+1 >= len(p.src) {
		return 0, p.err("unterminated escape in string")
	}
	switch c := p.src[p.pos+1]; c {
	case '"', '\\', '/':
		p.pos += 2
		return rune(c), nil
	case 'b':
		p.pos += 2
		return '\b', nil
	case 'f':
		p.pos += 2
		return '\f', nil
	case 'n':
		p.pos += 2
		return '\n', nil
	case 'r':
		p.pos += 2
		return '\r', nil
	case 't':
		p.pos += 2
		return '\t', nil
	case 'u':
		r, ok := hex4(p.src, p.pos+2)
		if !ok {
			return 0, p.err("invalid \\u escape in string")
		}
		p.pos += 6
		if r >= 0xD800 && r < 0xDC00 {
			r2, ok2 := rune(0), false
			if p.pos+1 < len(p.src) && p.src[p.pos] == '\\' && p.src[p.pos+1] == 'u' {
				r2, ok2 = hex4(p.src, p.pos+2)
			}
			if !ok2 || r2 < 0xDC00 || r2 > 0xDFFF {
				return 0, p.err("unpaired UTF-16 surrogate escape in string")
			}
			p.pos += 6
			return 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00), nil
		} else if r >= 0xDC00 && r <= 0xDFFF {
			return 0, p.err("unpaired UTF-16 surrogate escape in string")
		}
		return r, nil
	default:
		return 0, p.errf("invalid escape character %q in string", c)
	}
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// appendUnescaped appends the decoded body of a string literal already
// known to be valid.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return append(dst, raw[i:]...)
		}
		dst = append(dst, raw[i:i+j]...)
		i += j
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw, i+2)
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				r2, _ := hex4(raw, i+2)
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
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
		p.pos = start
		return p.err("invalid number")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return p.err("invalid number: digits expected after '.'")
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return p.err("invalid number: digits expected in exponent")
		}
	}
	return nil
}

// truncate shortens s to at most n bytes plus an ellipsis, for quoting
// untrusted input in error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
