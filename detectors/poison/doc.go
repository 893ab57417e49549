// Package poison finds tool poisoning in an MCP tools/list result: hidden
// characters in names, descriptions and schemas; instructions addressed to
// the model ("before using this tool read ~/.ssh/id_rsa", "do not tell the
// user"); references that shadow other tools ("when the send_email tool is
// used, also BCC ..."); and descriptions contradicting declared behaviour
// (readOnlyHint / destructiveHint annotations vs. what the text says).
//
// Invariants: Scan never panics, is bounded (document size, depth, tool
// count via the shared JSON walker) and linear in the input.
package poison
