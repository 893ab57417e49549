package extproc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/policy"
)

var parsedArgsCases = []string{
	`{}`,
	`{"path":"/etc/shadow"}`,
	`{"path":"/tmp/x"}`,
	`{"a":1,"b":"x\u00e9\"\\\/\n","c":[1,2.5,{"d":null,"e":true}],"f":false,"g":-0,"h":1e-400}`,
	`{"s":"\ud83d\ude00 é日本"}`,
	`{"path":"/etc/shadow","x":1e400}`,
	`{"path":"/etc/shadow","o":{"a":[1,-1e999]}}`,
	`{"limit":1e400}`,
	`{"limit":5}`,
	`{"limit":5,"account":9007199254740993}`,
	`{"limit":5,"account":99999999999999999999}`,
	`{"limit":5,"account":9007199254740992}`,
	`{"limit":5,"account":-1152921504606846976}`,
	`{"limit":5.5,"ratio":0.1}`,
	`{"path":"/tmp/x","ref":"12345678901234567890","x":1e400}`,
	`{"path":"/tmp/x","xs":[[1,2],[3,1e999]]}`,
	`"/etc/shadow"`,
	`null`,
	`[1,2]`,
}

// argsValue parses a tools/call carrying args and returns its arguments'
// view, as the pipeline does.
func argsValue(t *testing.T, args string) mcp.Value {
	t.Helper()
	msgs, _, perr := mcp.ParseBody([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":`+args+`}}`), mcp.ParseOptions{MaxDepth: 64})
	if perr != nil {
		t.Fatalf("%s: %v", args, perr)
	}
	v := msgs[0].Params.Get("arguments")
	if !bytes.Equal(v.Raw(), []byte(args)) {
		t.Fatalf("arguments view %q, want %q", v.Raw(), args)
	}
	return v
}

// TestParsedArgsMatchDecoding: the arguments the policy reads from the
// parsed document are what decoding their bytes gives (encoding/json with
// policy.ArgNumber for every number), errors included.
func TestParsedArgsMatchDecoding(t *testing.T) {
	var conv func(v any) (any, error)
	conv = func(v any) (any, error) {
		switch x := v.(type) {
		case json.Number:
			return argNumber([]byte(x))
		case map[string]any:
			for k, c := range x {
				n, err := conv(c)
				if err != nil {
					return nil, err
				}
				x[k] = n
			}
		case []any:
			for i, c := range x {
				n, err := conv(c)
				if err != nil {
					return nil, err
				}
				x[i] = n
			}
		}
		return v, nil
	}
	for _, args := range parsedArgsCases {
		dec := json.NewDecoder(strings.NewReader(args))
		dec.UseNumber()
		var raw any
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		want, wantErr := conv(raw)
		got, err := argsValue(t, args).Decode(argNumber)
		if (err != nil) != (wantErr != nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%s: error %v, want %v", args, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %#v, want %#v", args, got, want)
		}
	}
}

// TestParsedArgsSameDecision: a policy decides the same whether it decodes
// the argument bytes itself or reads the pipeline's parsed view.
func TestParsedArgsSameDecision(t *testing.T) {
	p, err := policy.Parse([]byte(`apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: guard, version: v1}
spec:
  servers:
    - name: fs
      tools: [{name: read_file, risk: 10}, {name: list, risk: 10}]
  rules:
    - {name: no-etc, action: deny, to: {tools: [read_file]}, when: 'has(args.path) && args.path.startsWith("/etc")'}
    - {name: allow-small-list, action: allow, to: {tools: [list]}, when: '!has(args.limit) || args.limit < 100'}
  risk:
    thresholds:
      - {min: 0, max: 100, action: allow}
`))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, tool := range []string{"read_file", "list"} {
		for _, args := range parsedArgsCases {
			in := func() *policy.Input {
				return &policy.Input{Plane: policy.PlaneRequest, Method: "tools/call", Server: "fs", Tool: tool, Args: []byte(args),
					Agent: policy.Identity{ID: "alice", Trust: "high"}}
			}
			want := p.Evaluate(in())
			parsed := in()
			v := argsValue(t, args)
			parsed.ParsedArgs = func() (any, error) { calls++; return v.Decode(argNumber) }
			got := p.Evaluate(parsed)
			if got.Action != want.Action || got.Rule != want.Rule || !reflect.DeepEqual(got.Reasons, want.Reasons) {
				t.Errorf("%s %s: parsed view decides %s/%s %q, bytes %s/%s %q", tool, args, got.Action, got.Rule, got.Reasons, want.Action, want.Rule, want.Reasons)
			}
		}
	}
	if want := 2 * len(parsedArgsCases); calls != want {
		t.Errorf("the policy read the parsed view %d times, want %d (once per evaluation)", calls, want)
	}
}
