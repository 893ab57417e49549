package mcp

import (
	"strings"
	"testing"
)

func TestValueViews(t *testing.T) {
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"re\u0061d","arguments":{"a.b":1,"list":[1,2,3],"t":true,"n":null,"s":"true","f":2.9,"e":{}},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
	msgs, _, perr := ParseBody([]byte(body), ParseOptions{MaxDepth: 16})
	if perr != nil {
		t.Fatal(perr)
	}
	m := &msgs[0]
	if m.Name() != "read" || m.Method != "tools/call" || m.ID != "7" || string(m.Raw) != body {
		t.Fatalf("envelope: %q %q %q", m.Name(), m.Method, m.ID)
	}
	args := m.Params.Get("arguments")
	for _, tc := range []struct {
		path               string
		exists             bool
		str, raw           string
		boolean            bool
		integer            int64
		length             int
		isObj, isArr, isSt bool
	}{
		{path: `a\.b`, exists: true, str: "1", raw: "1", boolean: true, integer: 1},
		{path: "list", exists: true, str: "[1,2,3]", raw: "[1,2,3]", length: 3, isArr: true},
		{path: "list.2", exists: true, str: "3", raw: "3", boolean: true, integer: 3},
		{path: "list.3"},
		{path: "t", exists: true, str: "true", raw: "true", boolean: true, integer: 1},
		{path: "n", exists: true, raw: "null"},
		{path: "s", exists: true, str: "true", raw: `"true"`, boolean: true, isSt: true},
		{path: "f", exists: true, str: "2.9", raw: "2.9", boolean: true, integer: 2},
		{path: "e", exists: true, str: "{}", raw: "{}", isObj: true},
		{path: "missing"},
		{path: "list.x"},
		{path: "t.x"},
	} {
		v := args.Get(tc.path)
		if v.Exists() != tc.exists || v.String() != tc.str || string(v.Raw()) != tc.raw || v.Bool() != tc.boolean ||
			v.Int() != tc.integer || v.Len() != tc.length || v.IsObject() != tc.isObj || v.IsArray() != tc.isArr || v.IsString() != tc.isSt {
			t.Errorf("Get(%q) = exists %v str %q raw %q bool %v int %d len %d", tc.path, v.Exists(), v.String(), v.Raw(), v.Bool(), v.Int(), v.Len())
		}
	}
	if got := m.Params.Get(`_meta.io\.modelcontextprotocol/protocolVersion`).Str(); got != "2026-07-28" {
		t.Errorf("escaped-dot path: %q", got)
	}
	var keys []string
	args.ForEach(func(k string, _ Value) bool { keys = append(keys, k); return k != "n" })
	if strings.Join(keys, ",") != "a.b,list,t,n" {
		t.Errorf("ForEach keys %v", keys)
	}
	var missing Value
	if missing.Exists() || missing.Get("a").Exists() || missing.Len() != 0 || missing.Raw() != nil || missing.Node() != -1 {
		t.Error("zero Value is not missing")
	}
}

// TestParseBodyOneTokenizerPass: the messages of a batch share one
// document, and every view points into the body (nothing is copied).
func TestParseBodyOneTokenizerPass(t *testing.T) {
	body := []byte(`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"q":"v"}}}]`)
	msgs, batch, perr := ParseBody(body, ParseOptions{MaxDepth: 8, AllowBatch: true})
	if perr != nil || !batch || len(msgs) != 2 {
		t.Fatalf("%v %v %d", perr, batch, len(msgs))
	}
	if msgs[0].Doc != msgs[1].Doc {
		t.Error("batch messages parsed separately")
	}
	q := msgs[1].Params.Get("arguments.q").Raw()
	if &q[0] != &body[strings.Index(string(body), `"v"`)] {
		t.Error("view does not point into the body")
	}
}
