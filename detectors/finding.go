package detectors

import (
	"github.com/portcullis-mcp/portcullis/detectors/pii"
	"github.com/portcullis-mcp/portcullis/detectors/secrets"
)

// Detector names used in Finding.Detector.
const (
	DetInjection = "injection"
	DetPII       = "pii"
	DetSecret    = "secret"
	DetExfil     = "exfil"
	DetPoison    = "poison"
	DetInvisible = "invisible"
)

// Finding is one detection. Value holds the raw matched text for redaction
// and for the CLI; it is tagged json:"-" so it never reaches an audit record.
type Finding struct {
	Detector   string  `json:"detector"`
	Category   string  `json:"category"`
	EntityType string  `json:"entity_type,omitempty"`
	Confidence float64 `json:"confidence"`
	Path       string  `json:"path"`
	Start      int     `json:"start"`
	End        int     `json:"end"`
	Value      string  `json:"-"`
}

// InjectionSummary is the document-level prompt-injection verdict: the
// score of the document's flattened prose (ScanJSON) or of the text.
type InjectionSummary struct {
	Score   float64  `json:"score"`
	Flagged bool     `json:"flagged"`
	Reasons []string `json:"reasons,omitempty"`
}

// Report is the result of one scan.
type Report struct {
	Findings  []Finding        `json:"findings"`
	Injection InjectionSummary `json:"injection"`
	// Truncated is set when a size cap stopped part of the input from being scanned.
	Truncated bool `json:"truncated,omitempty"`

	// scan keeps what ScanJSON found per JSON token, so RedactReport can
	// redact the same document without detecting again.
	scan *scanRecord
}

// scanRecord is the part of a ScanJSON report that redaction reuses.
type scanRecord struct {
	by    *Engine
	raw   []byte
	items []scannedItem // tokens with PII or secret matches, in scan order
}

// scannedItem is one string leaf or object key and its raw matches (before
// any option filtering: the redacting engine applies its own).
type scannedItem struct {
	path, value      string
	rawStart, rawEnd int
	pii              []pii.Entity
	secrets          []secrets.Match
}

// Has reports whether any finding came from detector det.
func (r *Report) Has(det string) bool {
	for _, f := range r.Findings {
		if f.Detector == det {
			return true
		}
	}
	return false
}

// MaxConfidence returns the highest confidence among findings of detector
// det (any detector when det is ""), or 0.
func (r *Report) MaxConfidence(det string) float64 {
	m := 0.0
	for _, f := range r.Findings {
		if (det == "" || f.Detector == det) && f.Confidence > m {
			m = f.Confidence
		}
	}
	return m
}
