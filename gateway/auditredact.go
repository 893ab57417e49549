package gateway

import (
	"encoding/json"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/extproc"
)

// auditVault is the redaction vault key for audit content. It contains a NUL
// byte, which no HTTP header (and so no client-chosen Mcp-Session-Id) can
// carry, so surrogates made for the audit log can never be restored into a
// client's arguments.
const auditVault = "\x00portcullis-audit"

// auditRedactor redacts audit content for redact decisions with the
// gateway's detectors (audit.content: true must store the redacted form).
// JSON content is redacted leaf by leaf; plain text (error messages) as one
// JSON string.
func auditRedactor(det extproc.Detector) audit.ContentRedactor {
	return func(content []byte) ([]byte, error) {
		if json.Valid(content) {
			return det.Redact(content, auditVault, nil, "mask")
		}
		quoted, err := json.Marshal(string(content))
		if err != nil {
			return nil, err
		}
		out, err := det.Redact(quoted, auditVault, nil, "mask")
		if err != nil {
			return nil, err
		}
		var s string
		if err := json.Unmarshal(out, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	}
}
