// Package normalize owns the shared text normalisation used by every detector.
//
// Normalize computes, once per text, a View holding the original text, a
// folded form (NFKC, invisible/format characters removed, confusable
// skeleton, case-folded, whitespace collapsed, spaced-out letters re-joined,
// leetspeak mapped), a despaced form (folded with every separator removed),
// and a bounded set of recursive decodings (base64, base32, hex, URL, HTML
// entities, quoted-printable, rot13, reversed lines and Unicode tag smuggling;
// rot13 and reversed lines are recognised by common English words and, in
// the text as given, by a letter-trigram model of 16 Latin-script languages,
// letters.go). Inspect
// computes only the invisible-character count and the decodings, for texts
// already folded elsewhere.
//
// Speed: scratch memory is pooled, so a Normalize costs a few allocations
// (the view, one for the folded and despaced forms, accepted decodings);
// decodings are built in scratch and copied only when accepted. The views
// are pinned because the injection model is trained on them:
// testdata/corpus.golden holds a digest of every view, Inspect and Fold
// result and single-step decoding of real tool output and evasion-
// transformed dev attacks, generated from the pre-optimisation code
// (TestCorpusGolden), and testdata/views.golden.json the full views of the
// table cases (TestGolden). An intended change of the views is made with
// -update, reviewed as a diff, and calls for retraining. FuzzViewInvariants
// checks the invariants below, Inspect's and Fold's agreement with
// Normalize, and that pooled scratch never leaks between calls.
//
// Invariants:
//   - Normalize never panics, accepts invalid UTF-8 (invalid bytes are dropped from
//     the derived forms and reported as a signal; Original is untouched) and runs in time linear in the
//     input size: every pass is a single scan, decoding is depth ≤ MaxDepth,
//     at most MaxDecoded results and MaxDecodedBytes bytes in total
//     (TestLinearWork counts the steps deterministically).
//   - The View is immutable after Normalize returns and may be shared by
//     concurrent readers.
//   - Removal of invisible characters is itself reported (Invisible, Signals)
//     because hiding text is a signal independent of what is hidden.
package normalize
