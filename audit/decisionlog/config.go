package decisionlog

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Config is the `log` section of portcullis.yaml that this package owns.
type Config struct {
	// Decisions selects the decisions logged: "all", "refusals" (blocked,
	// held for approval, or would have been in enforce mode) or "off"
	// (default).
	Decisions string `yaml:"decisions"`
	// DecisionsFile is where the JSON lines go (appended, created 0600).
	// Empty: standard output.
	DecisionsFile string `yaml:"decisions_file"`
}

// Validate returns every problem, each prefixed with its field path under
// prefix (e.g. "log").
func (c Config) Validate(prefix string) error {
	var errs []error
	c.Check(prefix, func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	})
	return errors.Join(errs...)
}

// Check reports every problem to add with its field path under prefix, the
// shape config.Validate collects problems in.
func (c Config) Check(prefix string, add func(path, format string, args ...any)) {
	level, err := ParseLevel(c.Decisions)
	if err != nil {
		add(prefix+".decisions", "%v", err)
	} else if c.DecisionsFile != "" && level == LevelOff {
		add(prefix+".decisions_file", "set, but %s.decisions is off; set it to all or refusals", prefix)
	}
}

// Open builds the logger c describes; stdout is used when DecisionsFile is
// empty. The returned closer closes the file (a no-op for stdout).
func (c Config) Open(stdout io.Writer) (*DecisionLogger, io.Closer, error) {
	level, err := ParseLevel(c.Decisions)
	if err != nil {
		return nil, nil, fmt.Errorf("log.decisions: %w", err)
	}
	if level == LevelOff {
		return New(nil, LevelOff), io.NopCloser(nil), nil
	}
	if c.DecisionsFile == "" {
		return New(stdout, level), io.NopCloser(nil), nil
	}
	f, err := os.OpenFile(c.DecisionsFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log.decisions_file: %w", err)
	}
	return New(f, level), f, nil
}
