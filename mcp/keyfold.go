package mcp

import "github.com/portcullis-mcp/portcullis/mcp/jsondoc"

// Servers built on Go's encoding/json (mcp-go, the official Go SDK) match
// object keys to struct fields case-insensitively, with Unicode simple case
// folding ("ſ" is "s", the Kelvin sign is "k"). A key that the gateway reads
// as unknown can therefore be the field the server acts on. The validator
// refuses such keys where they decide what a message means.

// protocolFields are the JSON-RPC and MCP field names of protocol objects
// (the envelope, params, result, error and the structures below them listed
// in protocolObjects and protocolLists). A key there that folds to one of
// these names but is not spelled exactly like it is refused.
var protocolFields = []string{
	"jsonrpc", "id", "method", "params", "result", "error",
	"code", "message", "data",
	"name", "arguments", "_meta", "uri", "cursor", "nextCursor",
	"content", "contents", "structuredContent", "isError",
	"tools", "resources", "resourceTemplates", "prompts", "messages",
	"text", "type", "mimeType", "blob", "description", "title",
	"inputSchema", "outputSchema", "annotations",
	"protocolVersion", "capabilities", "clientInfo", "serverInfo", "instructions",
	"argument", "ref", "value", "completion", "values",
	"role", "uriTemplate", "requestedSchema", "action", "progressToken",
	"task", "level", "logger", "reason", "requestId",
	"resource", "version", "size", "icons",
	"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint",
}

// foldedProtocol maps the folded form of every protocol field to its exact
// spelling.
var foldedProtocol = func() map[string]string {
	m := make(map[string]string, len(protocolFields))
	for _, f := range protocolFields {
		m[string(appendFold(nil, []byte(f)))] = f
	}
	return m
}()

// appendFold is the tokenizer's key fold (jsondoc.AppendFold).
func appendFold(dst, k []byte) []byte { return jsondoc.AppendFold(dst, k) }

// protocolNames interns the protocol field names: the tokenizer returns
// these member names without allocating.
var protocolNames = func() map[string]string {
	m := make(map[string]string, len(protocolFields))
	for _, f := range protocolFields {
		m[f] = f
	}
	return m
}()

// ProtocolFieldVariant reports the protocol field that key is a case or
// Unicode-normalisation variant of, or "" when key is either spelled exactly
// like a protocol field or unrelated to all of them. The tokenizer applies
// it to every protocol object (strictOptions in validate.go).
func ProtocolFieldVariant(key []byte) string {
	var buf [64]byte
	if len(key) < 2 || len(key) > 4*len("resourceTemplates") {
		return "" // each rune of a field is at most 4 bytes before NFKC
	}
	f, ok := foldedProtocol[string(appendFold(buf[:0], key))]
	if !ok || f == string(key) {
		return ""
	}
	return f
}
