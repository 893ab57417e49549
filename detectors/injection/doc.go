// Package injection scores text for prompt injection and jailbreak content.
//
// A Detector combines four layers over a normalize.View:
//   - patterns: an Aho-Corasick keyword prefilter over the folded, despaced
//     and decoded views; RE2-class regular expressions (stdlib regexp, linear
//     time) run only on short candidate windows after a keyword hit;
//   - model: logistic regression over hashed character 3–5-grams and word
//     1–2-grams, scored on overlapping windows (max), trained in-repo by
//     Train from the dev data plus generated benign tool output; the weights
//     are committed (model.bin) and embedded, never downloaded;
//   - semantic: cosine similarity of word n-gram vectors to generic attack
//     exemplars (phrasings written for this package, not copied dev texts);
//   - markup: HTML comments, hidden elements and markdown image/link URLs that
//     carry query data.
//
// The layer outputs are combined by a small logistic calibration (also fitted
// by Train) into one Score in 0..1, with the reasons that contributed.
//
// Invariants: Score and ScoreView are safe for concurrent use, never panic,
// accept invalid UTF-8, and run in time linear in the input (windows are a
// fixed size; decoded and hidden content is bounded by normalize limits and
// maxHidden).
package injection
