package mcp

import "github.com/tidwall/gjson"

// UnsupportedVersionCode is the JSON-RPC code for a request whose revision
// the gateway does not know: 2026-07-28's UnsupportedProtocolVersion (-32022)
// when the body declares its revision the 2026-07-28 way (params._meta), the
// only era whose clients know that code; -32600 otherwise (earlier revisions
// name only the HTTP 400).
func UnsupportedVersionCode(body []byte) int {
	if !gjson.ValidBytes(body) {
		return CodeInvalidRequest
	}
	if gjson.GetBytes(body, "params."+metaProtocolVersionPath).Exists() {
		return CodeUnsupportedProtocolVersion
	}
	return CodeInvalidRequest
}
