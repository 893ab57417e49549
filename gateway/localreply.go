package gateway

import (
	"net/http"

	"github.com/portcullis-mcp/portcullis/mcp"
)

// upstreamHeadersToRemove are dropped from every upstream request, as the
// shipped Envoy configs do: an upstream asked for no encoding never
// compresses a body past the processor (issue 11 #1).
var upstreamHeadersToRemove = []string{"Accept-Encoding"}

// jsonRPCLocalReply formats the data plane's own refusals (bad path, no
// route, body too large, processor timeout or failure, upstream down) as
// JSON-RPC errors, so MCP clients show a reason instead of a text body.
func jsonRPCLocalReply(status int, details string) (string, []byte) {
	code := mcp.CodeInternalError
	if status < 500 {
		code = mcp.CodeInvalidRequest
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = "error"
	}
	return "application/json", mcp.ErrorResponse("", code, "gateway: "+msg+" ("+details+")", nil)
}
