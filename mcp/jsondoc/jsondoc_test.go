package jsondoc

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var cases = []struct {
	name string
	in   string
	ok   bool
}{
	{"object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":[1,2,{"b":"c"}]}}}`, true},
	{"scalars", `[true,false,null,-0.5e+3,0,"\u00e9\ud83d\ude00\/"]`, true},
	{"whitespace", " \n{ \"a\" : 1 }\t", true},
	{"duplicate key", `{"a":1,"a":2}`, false},
	{"duplicate after unescape", `{"a":1,"\u0061":2}`, false},
	{"duplicate nested", `{"p":{"x":1,"y":{"k":1,"k":2}}}`, false},
	{"many keys then duplicate", `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":0,"k11":0,"k12":0,"k13":0,"k14":0,"k15":0,"k16":0,"k17":0,"k3":1}`, false},
	{"invalid utf8", "{\"a\":\"\xff\"}", false},
	{"lone high surrogate", `"\ud800"`, false},
	{"lone low surrogate", `"\udc00x"`, false},
	{"control char", "\"a\x01\"", false},
	{"bad escape", `"\x"`, false},
	{"trailing data", `{} {}`, false},
	{"trailing comma", `[1,]`, false},
	{"leading zero", `01`, false},
	{"bare minus", `-`, false},
	{"empty", ``, false},
	{"unterminated", `{"a":"b`, false},
	{"too deep", strings.Repeat("[", 11) + strings.Repeat("]", 11), false},
	{"deep enough", strings.Repeat("[", 10) + strings.Repeat("]", 10), true},
}

func TestParseAcceptsWhatJSONAccepts(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), Options{MaxDepth: 10})
			if (err == nil) != tc.ok {
				t.Fatalf("Parse(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestLeavesAndLookup(t *testing.T) {
	src := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"path":"a\"b","list":["p","q"]}}}`
	d, err := Parse([]byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		raw  string
	}{
		{[]string{"id"}, "7"},
		{[]string{"method"}, `"tools/call"`},
		{[]string{"params", "arguments", "path"}, `"a\"b"`},
		{[]string{"params", "arguments", "list", "1"}, `"q"`},
		{[]string{"params", "arguments"}, gjson.Get(src, "params.arguments").Raw},
	} {
		i := d.Lookup(tc.path...)
		if i < 0 || string(d.Raw(i)) != tc.raw {
			t.Errorf("Lookup(%v) = %d %q, want %q", tc.path, i, rawOr(d, i), tc.raw)
		}
	}
	if d.Lookup("params", "nope") != -1 || d.Lookup("id", "x") != -1 || d.Lookup("params", "arguments", "list", "9") != -1 {
		t.Error("missing paths found")
	}
	if v := d.StringValue(d.Lookup("params", "arguments", "path")); v != `a"b` {
		t.Errorf("decoded %q", v)
	}
}

func rawOr(d *Doc, i int) string {
	if i < 0 {
		return ""
	}
	return string(d.Raw(i))
}

func TestSplice(t *testing.T) {
	src := []byte(`{"a":"x","b":["y","z"]}`)
	d, _ := Parse(src, Options{})
	y, x := d.Lookup("b", "0"), d.Lookup("a")
	out, err := Splice(src, []Edit{
		d.Replace(y, AppendString(nil, "Y")),
		d.Replace(x, AppendString(nil, "<x>")),
	})
	if err != nil || string(out) != `{"a":"\u003cx\u003e","b":["Y","z"]}` {
		t.Fatalf("%s %v", out, err)
	}
	if _, err := Splice(src, []Edit{{Start: 1, End: 5}, {Start: 3, End: 6}}); err == nil {
		t.Fatal("overlap accepted")
	}
}

// FuzzParse: Parse agrees with encoding/json on validity (when the input
// has no duplicate keys) and every string node decodes as encoding/json
// decodes it.
func FuzzParse(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := Parse([]byte(in), Options{})
		std := json.Valid([]byte(in))
		if err == nil && !std {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		if err != nil {
			return
		}
		for i, n := range d.Nodes {
			if n.Kind != String {
				continue
			}
			var want string
			if json.Unmarshal(d.Raw(i), &want) != nil {
				t.Fatalf("node %d %q not a JSON string", i, d.Raw(i))
			}
			if got := d.StringValue(i); got != want {
				t.Fatalf("decoded %q, encoding/json %q", got, want)
			}
		}
		if out, err := Splice(d.Src, nil); err != nil || string(out) != in {
			t.Fatal("empty splice changed the document")
		}
	})
}

func TestDeleteMember(t *testing.T) {
	for _, tc := range []struct{ in, key, want string }{
		{`{"a":1,"b":2,"c":3}`, "b", `{"a":1,"c":3}`},
		{`{"a":1,"b":2}`, "a", `{"b":2}`},
		{`{"a":1, "b" : {"x":[1]} }`, "b", `{"a":1 }`},
		{`{"b":2}`, "b", `{}`},
	} {
		d, err := Parse([]byte(tc.in), Options{})
		if err != nil {
			t.Fatal(err)
		}
		e, ok := d.Delete(d.LookupPath(tc.key))
		out, err := Splice(d.Src, []Edit{e})
		if !ok || err != nil || string(out) != tc.want || !json.Valid(out) {
			t.Errorf("delete %s from %s = %s, want %s", tc.key, tc.in, out, tc.want)
		}
	}
}

func TestEnvelopeRules(t *testing.T) {
	env := func(k []byte) string {
		if string(k) != "method" && string(AppendFold(nil, k)) == "METHOD" {
			return "method"
		}
		return ""
	}
	opt := Options{MaxDepth: 10, FoldKeys: true, Envelope: env, EnvelopeMembers: []string{"params"}}
	for _, tc := range []struct {
		in   string
		want string // error substring, "" = ok
	}{
		{`{"method":"x"}`, ""},
		{`{"Method":"x"}`, `protocol field "method"`},
		{`[{"a":1},{"METHOD":1}]`, `protocol field "method"`},
		{`{"params":{"mEthod":1}}`, `protocol field "method"`},
		{`{"params":{"a":{"Method":1}}}`, ""},
		{`{"data":{"Method":1}}`, ""},
		{`{"a":{"k":1,"K":2}}`, `object keys "k" and "K" differ only by case`},
		{`{"a":1,"\u0061":2}`, `duplicate object key "a"`},
	} {
		_, err := Parse([]byte(tc.in), opt)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Parse(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if _, err := Parse([]byte(`{"a":{"k":1,"K":2}}`), Options{}); err != nil {
		t.Errorf("case-only keys refused without FoldKeys: %v", err)
	}
}

func TestNavigation(t *testing.T) {
	d, err := Parse([]byte(`{"a":[1,{"x":[2,3]},"s"],"b":{"c":true},"e":[]}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := d.Lookup("a")
	if d.Len(a) != 3 || d.Len(d.Lookup("e")) != 0 || d.Len(0) != 3 {
		t.Fatalf("Len: %d %d %d", d.Len(a), d.Len(d.Lookup("e")), d.Len(0))
	}
	if string(d.Raw(d.Elem(a, 2))) != `"s"` || d.Elem(a, 3) != -1 {
		t.Fatal("Elem")
	}
	var keys []string
	for j := d.FirstChild(0); j >= 0; j = d.Next(j) {
		keys = append(keys, d.Nodes[j].Key)
	}
	if strings.Join(keys, ",") != "a,b,e" {
		t.Fatalf("children %v", keys)
	}
	if d.FirstChild(d.Lookup("e")) != -1 || d.Lookup("b", "c") < 0 {
		t.Fatal("FirstChild/Lookup")
	}
}
