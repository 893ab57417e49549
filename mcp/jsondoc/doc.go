// Package jsondoc is the gateway's single-pass JSON tokenizer: one pass
// validates a document (structure, UTF-8 including escaped surrogates,
// duplicate keys after unescaping, depth) and records every value with its
// byte range, parent and member name or index, so later stages read the
// envelope and the string leaves without parsing again. Splice applies any
// number of edits (redaction, restore, notices) in one pass, and
// AppendString is internal/jsonstr.Append, the one JSON string encoder.
//
// Invariants: Parse never returns a partial document; node ranges are
// byte offsets into Src; Splice never produces output from overlapping
// edits. It imports nothing from this module but internal/jsonstr.
package jsondoc
