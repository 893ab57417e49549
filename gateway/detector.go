package gateway

import (
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
)

// newDetector adapts the detection engine to the processor (nil when
// detection is disabled).
func newDetector(cfg *config.Config) (extproc.Detector, error) {
	return nil, nil
}
