// Package injection scores text for prompt injection and jailbreak content.
//
// The runtime API is Default, New, Detector.Score, Detector.ScoreView (which
// takes a normalize.View shared with the other detectors), ScoreViewPlane and
// Threshold (each Plane, request and result, has its own calibrated
// threshold and the request plane its own feature space), and Flatten /
// FlattenLeaves / PrepareText (what is scored for a JSON document: its
// prose leaves in order, one per line, JSON inside a string expanded).
// Train, LoadDev, LoadHarmless, SplitOfRow, SplitOfChunk, EvalSources,
// GenerateAttacks, Embed, GenerateBenign, GenerateTriggerBenign,
// GenerateSecurityWriting, GenerateUserPrompts, Transforms and ApplyToRow
// exist for `portcullis train injection`, the eval command
// (detectors/injection/eval: held-out data only) and devcheck (the
// training side of the split, for developing rules).
//
// Training data: the dev sources not in EvalSources, the training groups of
// the committed harmless tool-output corpus (corpus/harmless.jsonl.gz, built
// by scripts/build-harmless-corpus.py) and attacks from the training
// templates embedded in those chunks. EvalSources, the harmless evaluation
// groups, held-out attack templates and held-out trigger-word templates
// never enter training, calibration or threshold choice.
//
// A Detector combines four layers over a normalize.View:
//   - patterns: an Aho-Corasick keyword prefilter over the folded, despaced
//     and decoded views; RE2-class regular expressions (stdlib regexp, linear
//     time) run only on a short window after a keyword hit; the pattern
//     score is the largest sum of distinct rules within one 512-byte window;
//   - model: logistic regression over hashed character 3–5-grams and word
//     1–2-grams (a feature repeated within 32 bytes counts once, so runs
//     and periodic text cannot pile up weight; the repeat table is
//     direct-mapped, so a slot collision also counts, the same in training
//     and scoring), in three feature spaces
//     sharing one table (A: whole text, 512-byte windows, lines and
//     sentences as texts; B: each line, sentence and sentence pair of a
//     text as part of a document; C: the request plane), max over segments,
//     trained in-repo by Train from the dev data plus generated benign tool
//     output; the weights are committed (model.bin) and embedded, never
//     downloaded;
//   - semantic: cosine similarity of word n-gram vectors to generic attack
//     exemplars (phrasings written for this package, not copied dev texts);
//   - markup: HTML comments, hidden elements and markdown image/link URLs that
//     carry query data.
//
// The layer outputs are combined by a small logistic calibration (fitted by
// Train, with documented floors and caps) into one Score in 0..1, with the
// reasons that contributed.
//
// Invariants: a Detector is immutable; Score and ScoreView are safe for
// concurrent use, never panic, accept invalid UTF-8, and run in time linear
// in the input (segments are O(1) via prefix sums, texts over 64 KiB are
// scored in overlapping chunks, decoded and hidden content is bounded by the
// normalize limits and maxHidden).
package injection
