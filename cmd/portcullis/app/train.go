package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
)

func init() {
	register(command{name: "train injection", summary: "train the prompt-injection model (deterministic) and write its weights file", run: runTrainInjection})
}

// runTrainInjection: portcullis train injection [--data FILE] [--harmless FILE] [--out FILE].
func runTrainInjection(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train injection")
	data := fs.String("data", injection.DefaultDevPath, "dev data (JSON lines, optionally .gz: text, label, source, kind); rows of injection.EvalSources are never used")
	harmless := fs.String("harmless", injection.DefaultHarmlessPath, `harmless tool-output corpus (JSON lines, optionally .gz); "" = none`)
	attacks := fs.Int("attacks", 0, "generated attacks embedded in harmless training chunks (0 = default)")
	out := fs.String("out", "detectors/injection/model.bin", "weights file to write")
	epochs := fs.Int("epochs", 0, "training epochs (0 = default)")
	benign := fs.Int("benign", 0, "generated benign tool outputs (0 = default)")
	quiet := fs.Bool("q", false, "no progress output")
	l2 := fs.Float64("l2", 0, "L2 penalty (0 = default)")
	dnw := fs.Float64("direct-neg-weight", 0, "weight of benign direct prompts (0 = default)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError(fmt.Errorf("train injection: unexpected arguments %v", fs.Args()))
	}
	rows, err := injection.LoadDev(*data)
	if err != nil {
		return fmt.Errorf("train injection: %w", err)
	}
	var chunks []injection.Chunk
	if *harmless != "" {
		if chunks, err = injection.LoadHarmless(*harmless, 0); err != nil {
			return fmt.Errorf("train injection: %w", err)
		}
	}
	log := stdout
	if *quiet {
		log = io.Discard
	}
	start := time.Now()
	b, err := injection.Train(rows, injection.TrainOptions{Epochs: *epochs, BenignN: *benign, L2: *l2, DirectNegWeight: *dnw, Harmless: chunks, AttacksN: *attacks, Log: log})
	if err != nil {
		return fmt.Errorf("train injection: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("train injection: %w", err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("train injection: write weights: %w", err)
	}
	fmt.Fprintf(log, "wrote %s (%d bytes) in %s\n", *out, len(b), time.Since(start).Round(time.Millisecond))
	return nil
}
