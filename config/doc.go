// Package config owns portcullis.yaml: strict decoding (unknown and duplicate
// keys are errors with their field path), explicit defaults, and Validate,
// which joins every problem into one report. A *Config is treated as an
// immutable snapshot once Parse returns; reloads build a new one.
package config
