package mcp

import (
	"errors"
	"fmt"

	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
)

// ValidateJSON checks, with the gateway's one tokenizer (mcp/jsondoc), that b is exactly one well-formed JSON-RPC body: one
// JSON value, valid UTF-8 throughout (including escaped surrogates), no
// deeper than maxDepth, and free of ambiguous object keys:
//   - duplicate keys at any depth (after unescaping, so "a" and "\u0061"
//     collide);
//   - keys that differ only by case or Unicode normalisation (NFKC, simple
//     case folding) from another key of the same object, at any depth
//     ("path" beside "PATH" in arguments);
//   - in every protocol object, keys that differ only by case or
//     normalisation from a protocol field ("METHOD", "Name", "Arguments"),
//     even alone. Protocol objects are the envelope, its params, result and
//     error, and below them the structures the gateway or a server reads by
//     field name: _meta, completion ref and argument, client and server
//     info, capabilities, annotations, embedded resources and the elements
//     of content, contents, tools, resources, resourceTemplates, prompts and
//     messages lists. User data (arguments, structuredContent, schemas,
//     error.data, an elicitation's content) may use any spelling.
//
// Parsers disagree on which copy wins and Go servers match keys
// case-insensitively: a gateway that inspects one spelling while the server
// reads another is bypassed.
func ValidateJSON(b []byte, maxDepth int) error {
	_, err := parseStrict(b, maxDepth)
	return err
}

// strictOptions are the tokenizer rules every JSON-RPC body is held to.
func strictOptions(maxDepth int) jsondoc.Options {
	return jsondoc.Options{MaxDepth: maxDepth, FoldKeys: true, Envelope: ProtocolFieldVariant,
		EnvelopeMembers: envelopeMembers, ProtocolObjects: protocolObjects, ProtocolLists: protocolLists,
		Intern: protocolNames}
}

var (
	envelopeMembers = []string{"params", "result", "error"}
	// protocolObjects are members of a protocol object whose object values
	// are protocol objects too.
	protocolObjects = []string{"_meta", "ref", "argument", "completion", "annotations", "clientInfo", "serverInfo", "resource", "capabilities"}
	// protocolLists are members of a protocol object whose array elements
	// are protocol objects (as an object, e.g. an elicitation's content, the
	// value is user data).
	protocolLists = []string{"content", "contents", "tools", "resources", "resourceTemplates", "prompts", "messages"}
)

// parseStrict tokenizes b once under the strict rules.
func parseStrict(b []byte, maxDepth int) (*jsondoc.Doc, error) {
	d, err := jsondoc.Parse(b, strictOptions(maxDepth))
	if err != nil {
		var je *jsondoc.Error
		if errors.As(err, &je) {
			return nil, &SyntaxError{Offset: je.Offset, Msg: je.Msg}
		}
		return nil, err
	}
	return d, nil
}

// SyntaxError is a JSON problem at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset) }

// Truncate shortens s to at most n bytes plus an ellipsis, for quoting
// untrusted input in error messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
