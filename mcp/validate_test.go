package mcp

import (
	"encoding/json"
	"strings"
	"testing"
)

var validateCases = []struct {
	name    string
	in      string
	wantErr string // substring; "" = valid
}{
	{"object", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, ""},
	{"nested", `{"a":{"b":[1,2,{"c":null}]},"d":"x"}`, ""},
	{"unicode", `{"k":"h\u00e9llo \ud83d\ude00 é"}`, ""},
	{"numbers", `[0,-1,1.5,2e10,-3.2E-4]`, ""},
	{"empty", ``, "empty body"},
	{"whitespace only", "  \n", "empty body"},
	{"trailing garbage", `{"a":1} x`, "unexpected data"},
	{"truncated", `{"a":`, "unexpected end"},
	{"bad literal", `{"a":tru}`, "invalid literal"},
	{"leading zero ok", `{"a":0}`, ""},
	{"bad number", `{"a":-}`, "invalid number"},
	{"dup top", `{"a":1,"a":2}`, "duplicate object key \"a\""},
	{"dup nested", `{"x":{"params":{"name":"safe","name":"evil"}}}`, "duplicate object key \"name\""},
	{"dup via escape", `{"name":"a","\u006eame":"b"}`, "duplicate object key \"name\""},
	{"dup in array elem", `[{"a":1},{"b":1,"b":2}]`, "duplicate object key"},
	{"same key in siblings ok", `[{"a":1},{"a":2}]`, ""},
	{"same key parent child ok", `{"a":{"a":1}}`, ""},
	{"dup many keys", `{` + manyKeys(40) + `,"k7":0}`, "duplicate object key \"k7\""},
	{"invalid utf8", "{\"a\":\"\xff\"}", "invalid UTF-8"},
	{"lone surrogate", `{"a":"\ud800"}`, "unpaired UTF-16 surrogate"},
	{"lone low surrogate", `{"a":"\udc00"}`, "unpaired UTF-16 surrogate"},
	{"control char", "{\"a\":\"x\ty\"}", "control character"},
	{"bad escape", `{"a":"\x"}`, "invalid escape"},
	{"key not string", `{a:1}`, "object key must be a string"},
	{"too deep", strings.Repeat("[", 11) + strings.Repeat("]", 11), "nesting deeper than the limit of 10"},
	{"at depth limit", strings.Repeat("[", 10) + strings.Repeat("]", 10), ""},

	// Issue 11 #9: keys that differ only by case or Unicode normalisation.
	{"case dup envelope", `{"method":"ping","METHOD":"tools/call"}`, `object keys "method" and "METHOD" differ only by case`},
	{"case variant method alone", `{"jsonrpc":"2.0","id":1,"Method":"tools/call"}`, `"Method" differs only by case or Unicode normalisation from the protocol field "method"`},
	{"case dup params name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","Name":"delete_file"}}`, `object keys "name" and "Name"`},
	{"case variant arguments alone", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","Arguments":{"path":"/etc/passwd"}}}`, `protocol field "arguments"`},
	{"case variant params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","PARAMS":{}}`, `protocol field "params"`},
	{"case variant jsonrpc", `{"JSONRPC":"2.0","id":1,"method":"ping"}`, `protocol field "jsonrpc"`},
	{"case variant id", `{"jsonrpc":"2.0","Id":1,"method":"ping"}`, `protocol field "id"`},
	{"escaped case variant", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"N\u0061me":"x"}}`, `protocol field "name"`},
	{"long s folds to s", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","argument\u017f":{}}}`, `protocol field "arguments"`},
	{"kelvin sign folds to k", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"tas\u212a":{}}}`, `protocol field "task"`},
	{"fullwidth NFKC", `{"jsonrpc":"2.0","id":1,"ｍｅｔｈｏｄ":"tools/call"}`, `protocol field "method"`},
	{"ligature NFKC dup", `{"a":{"ﬁle":1,"file":2}}`, `differ only by case or Unicode normalisation`},
	{"case variant result field", `{"jsonrpc":"2.0","id":1,"result":{"Content":[{"type":"text","text":"x"}]}}`, `protocol field "content"`},
	{"case variant error field", `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"Message":"x"}}`, `protocol field "message"`},
	{"case variant in batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","iD":2,"method":"ping"}]`, `protocol field "id"`},
	{"case dup in arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/tmp/x","PATH":"/etc/shadow"}}}`, `object keys "path" and "PATH"`},
	{"case dup deep in data", `{"a":[{"b":{"x":1,"X":2}}]}`, `object keys "x" and "X"`},
	{"unicode case dup", `{"a":{"ñ":1,"Ñ":2}}`, `object keys "ñ" and "Ñ"`},
	{"case dup many keys", `{` + manyKeys(40) + `,"K7":0}`, `object keys "k7" and "K7"`},
	{"argument keys may use any case", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_user","arguments":{"Name":"Bob","ID":7,"Method":"x","Params":{"Type":1}}}}`, ""},
	{"meta and nested content any case", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"x"}],"structuredContent":{"Text":"y"}}}`, ""},
	// Below params, result and error: every structure read by field name.
	{"case variant in params._meta", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"ProgressToken":"p"}}}`, `protocol field "progressToken"`},
	{"case variant tool name in tools/list", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok","inputSchema":{}},{"Name":"delete_file","inputSchema":{}}]}}`, `protocol field "name"`},
	{"case variant in tool annotations", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"rm","annotations":{"DestructiveHint":false}}]}}`, `protocol field "destructiveHint"`},
	{"case variant in content block", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","Text":"x"}]}}`, `protocol field "text"`},
	{"case variant in embedded resource", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"resource","resource":{"URI":"file:///etc/passwd","text":"x"}}]}}`, `protocol field "uri"`},
	{"case variant in resources/read contents", `{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","TEXT":"x"}]}}`, `protocol field "text"`},
	{"case variant in completion ref", `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","Name":"p"},"argument":{"name":"a","value":"x"}}}`, `protocol field "name"`},
	{"case variant in completion argument", `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","VALUE":"x"}}}`, `protocol field "value"`},
	{"case variant in sampling message", `{"jsonrpc":"2.0","id":"s","method":"sampling/createMessage","params":{"messages":[{"ROLE":"user","content":{"type":"text","text":"x"}}],"maxTokens":1}}`, `protocol field "role"`},
	{"case variant in prompts/list", `{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"p","Description":"x"}]}}`, `protocol field "description"`},
	{"case variant in clientInfo", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","Version":"1"}}}`, `protocol field "version"`},
	{"unicode variant in _meta", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"progreſſToken":"p"}}}`, `protocol field "progressToken"`},
	{"user data below protocol objects any case", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"Content":[{"Name":"x","Type":"y"}],"_meta":{"Text":1}},"_meta":{"io.example/Name":"x"}}}`, ""},
	{"schemas and error data any case", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"t","inputSchema":{"type":"object","properties":{"Name":{"type":"string"},"URI":{}}}}]}}`, ""},
	{"error data any case", `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m","data":{"Message":"x","Content":1}}}`, ""},
	{"elicitation content is data", `{"jsonrpc":"2.0","id":"e","result":{"action":"accept","content":{"Name":"Bob","Text":"hi"}}}`, ""},
	{"sampling single content object is data", `{"jsonrpc":"2.0","id":"s","result":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"}}`, ""},
	{"case only across levels ok", `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":{"A":{"a":1}}}}`, ""},
	{"unrelated unicode keys ok", `{"clé":1,"cle":2,"名前":3}`, ""},
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + itoa(i) + `":1`)
	}
	return b.String()
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for i > 0 {
		s = string(rune('0'+i%10)) + s
		i /= 10
	}
	return s
}

func TestValidateJSON(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateJSON([]byte(tc.in), 10)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
			}
		})
	}
}

// FuzzValidateJSON cross-checks against encoding/json: anything we accept must
// be valid JSON to the standard library too, and no object in it may hold two
// keys with the same case fold, nor a protocol-level key that folds to a
// protocol field without being spelled like it. The corpus of attacks found
// so far is kept in testdata/fuzz/FuzzValidateJSON.
func FuzzValidateJSON(f *testing.F) {
	for _, tc := range validateCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ValidateJSON(b, 64)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return // numbers out of float64 range are valid JSON
		}
		checkFolds(t, v, roleEnvelope, 0)
	})
}

// checkFolds is the property the validator promises, checked on the decoded
// value independently of the validator's own bookkeeping.
func checkFolds(t *testing.T, v any, r role, depth int) {
	switch x := v.(type) {
	case map[string]any:
		seen := map[string]string{}
		for k, c := range x {
			fk := string(appendFold(nil, []byte(k)))
			if prev, ok := seen[fk]; ok {
				t.Fatalf("accepted keys %q and %q with the same fold", prev, k)
			}
			seen[fk] = k
			if r != roleData {
				if f, ok := foldedProtocol[fk]; ok && f != k {
					t.Fatalf("accepted protocol-field variant %q of %q", k, f)
				}
			}
			child := childRole(r, []byte(k))
			if _, isObj := c.(map[string]any); isObj && child == roleList {
				child = roleData
			}
			checkFolds(t, c, child, depth+1)
		}
	case []any:
		elem := elemRole(r, depth+1)
		for _, c := range x {
			checkFolds(t, c, elem, depth+1)
		}
	}
}

func TestProtocolFieldVariant(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"method", ""}, {"Method", "method"}, {"METHOD", "method"}, {"nextcursor", "nextCursor"},
		{"nextCursor", ""}, {"_META", "_meta"}, {"ａｒｇｕｍｅｎｔｓ", "arguments"}, {"argumentſ", "arguments"},
		{"path", ""}, {"", ""}, {strings.Repeat("x", 200), ""},
	} {
		if got := ProtocolFieldVariant([]byte(tc.key)); got != tc.want {
			t.Errorf("ProtocolFieldVariant(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// role says how strictly an object's keys are checked (the property
// FuzzValidateJSON verifies, independent of the tokenizer's bookkeeping).
type role uint8

const (
	roleData     role = iota // user data: duplicates and fold-duplicates only
	roleEnvelope             // a JSON-RPC message object
	roleProtocol             // params, result or error of a message, or a protocol structure below them
	roleList                 // a protocol list: its object elements are protocol objects
)

// childRole is the role of the value of key inside an object of role r,
// written out here independently of the tokenizer.
func childRole(r role, key []byte) role {
	in := func(list []string) bool {
		for _, m := range list {
			if string(key) == m {
				return true
			}
		}
		return false
	}
	switch {
	case r == roleEnvelope && in(envelopeMembers):
		return roleProtocol
	case r == roleProtocol && in(protocolObjects):
		return roleProtocol
	case r == roleProtocol && in(protocolLists):
		return roleList
	}
	return roleData
}

// elemRole is the role of the elements of an array of role r at depth.
func elemRole(r role, depth int) role {
	switch {
	case depth == 1 && r == roleEnvelope:
		return roleEnvelope
	case r == roleList:
		return roleProtocol
	}
	return roleData
}
