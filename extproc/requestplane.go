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
// harmless arguments that address a model (a system prompt in source code,
// an e-mail announcing "new instructions") score up to about 0.4. Measured on
// data that took no part in training (docs/inspection.md).
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
