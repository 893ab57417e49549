package detectors

import (
	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

// defaultInjection returns the built-in prompt-injection scorer (the
// detectors/injection package with its embedded model).
func defaultInjection() InjectionScorer { return injectionAdapter{injection.Default()} }

// InjectionFrom adapts an injection.Detector (e.g. one built with custom
// weights via injection.New) to the InjectionScorer the engine uses.
func InjectionFrom(d *injection.Detector) InjectionScorer { return injectionAdapter{d} }

type injectionAdapter struct{ d *injection.Detector }

var _ InjectionScorer = injectionAdapter{}

func (a injectionAdapter) ScoreView(v *normalize.View) InjectionSummary {
	r := a.d.ScoreView(v)
	return InjectionSummary{Score: r.Score, Flagged: r.Flagged, Reasons: r.Reasons}
}

func (a injectionAdapter) ScoreViewPlane(v *normalize.View, p injection.Plane) InjectionSummary {
	r := a.d.ScoreViewPlane(v, p)
	return InjectionSummary{Score: r.Score, Flagged: r.Flagged, Reasons: r.Reasons}
}
