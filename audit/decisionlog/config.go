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
	level, err := ParseLevel(c.Decisions)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.decisions: %w", prefix, err))
	} else if c.DecisionsFile != "" && level == LevelOff {
		errs = append(errs, fmt.Errorf("%s.decisions_file: set, but %s.decisions is off; set it to all or refusals", prefix, prefix))
	}
	return errors.Join(errs...)
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
