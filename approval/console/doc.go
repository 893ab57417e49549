// Package console serves the approvals admin API and the operator console
// on the gateway's admin listener.
//
// Invariants:
//   - Every API call authenticates the approver (JWT bearer, or an explicitly
//     enabled insecure development mode that names itself on every page and
//     in every audit record); the static console page carries no data.
//   - State-changing calls are POSTs with a JSON body, a same-origin Origin
//     (when present) and, from browsers, a CSRF token bound to a SameSite
//     Strict cookie. No CORS headers are ever sent.
//   - Pages run no inline script and load nothing from elsewhere: assets are
//     embedded and the Content-Security-Policy allows only 'self'.
//   - Arguments are shown only in the redacted form the approval.Service
//     stored; raw arguments never reach this package.
package console
