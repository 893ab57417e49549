// Package jsonstr is the gateway's one JSON string encoder. Every component
// that writes JSON by hand (error replies and notices in mcp, message edits
// in mcp/jsondoc, the audit log, the decision log) appends strings with it,
// so the same string is escaped the same way everywhere.
//
// The output is what encoding/json's Marshal produces for a string: quotes,
// backslashes and control characters escaped (\b \f \n \r \t in short form),
// <, > and & escaped as \u003c \u003e \u0026 and U+2028/U+2029 as \u2028
// \u2029 (safe inside HTML and JavaScript), invalid UTF-8 replaced by
// \ufffd. TestMatchesMarshal and FuzzMatchesMarshal pin this.
//
// Invariants: no allocation beyond growing dst; runs of bytes that need no
// escaping are copied in one append. It imports nothing from this module.
package jsonstr
