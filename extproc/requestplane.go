package extproc

// RequestScanner is implemented by a Detector that judges client→server
// content (tool arguments, prompt arguments, replies to sampling) with the
// request-plane injection model and threshold rather than the result-plane
// ones. User-style text is scored on its own calibration: the result-plane
// model misses short direct instructions in arguments (a Chinese or Russian
// "ignore all previous instructions" scores below the old 0.95 floor) and
// over-scores some harmless requests.
type RequestScanner interface {
	// ScanRequest is Scan with the request-plane injection threshold: an
	// injection finding means the request plane flagged the value.
	ScanRequest(raw []byte) ([]Finding, error)
}

// RequestPlaneInjectionMinConfidence is the request-plane score the built-in
// request rule refuses at. Scores are calibrated probabilities: findings
// between the request-plane threshold (0.25 in the shipped model) and this
// value are audited and reach the policy (findings, risk) but refuse nothing
// by default, because a refused call cannot be delivered in part and
// harmless arguments that address a model score well above the threshold:
// a system prompt in source code 0.41, an e-mail announcing "updated
// onboarding instructions" 0.91 (refused: a gap marked in
// gateway/testdata/attacks/request_arguments.jsonl). With the shipped model,
// on data that took no part in training: none of 6,586 held-out harmless
// tool-output chunks as arguments reaches 0.25; 1 of 489 harmless prompts of
// the excluded public sets and 1 of 36 hand-written harmless arguments reach
// 0.5 (the request-plane table of make eval-injection; docs/inspection.md).
const RequestPlaneInjectionMinConfidence = 0.5

// scanRequest scans client→server content with the request plane when the
// detector has one. judged reports whether injection findings come from the
// request plane (see requestInjectionRefused).
func scanRequest(d Detector, raw []byte) (findings []Finding, judged bool, err error) {
	if rs, ok := d.(RequestScanner); ok {
		findings, err = rs.ScanRequest(raw)
		return findings, true, err
	}
	findings, err = d.Scan(raw)
	return findings, false, err
}

// requestInjectionRefused reports whether the built-in request floor
// refuses an injection finding: a request-plane one at
// RequestPlaneInjectionMinConfidence, a result-plane one at
// RequestInjectionMinConfidence.
func requestInjectionRefused(f Finding, judged bool) bool {
	if judged {
		return f.Confidence >= RequestPlaneInjectionMinConfidence
	}
	return f.Confidence >= RequestInjectionMinConfidence
}
