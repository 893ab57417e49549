package detectors

import "github.com/portcullis-mcp/portcullis/detectors/normalize"

// defaultInjection returns the built-in prompt-injection scorer.
func defaultInjection() InjectionScorer { return noInjection{} }

// noInjection is used until the injection package is wired in.
type noInjection struct{}

func (noInjection) ScoreView(*normalize.View) InjectionSummary { return InjectionSummary{} }
