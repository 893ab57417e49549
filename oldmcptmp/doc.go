// Package mcp is Portcullis's model of the Model Context Protocol as it
// crosses an HTTP gateway: JSON-RPC 2.0 messages (requests, notifications,
// responses, errors and, where the revision allows, batches), the protocol
// revisions from 2025-03-26 to 2026-07-28 with their header rules, strict
// body validation (UTF-8, duplicate keys at any depth, keys that differ only
// by case or Unicode normalisation from a sibling or a protocol field,
// nesting depth) and an incremental Server-Sent Events parser (one leading
// UTF-8 BOM ignored, as the SSE spec says).
//
// Invariants: nothing here allocates per byte of input beyond the message
// itself; validation runs in one linear pass; every error carries a JSON-RPC
// code and a message a person can act on.
package oldmcptmp
