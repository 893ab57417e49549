package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
)

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nope"}},
		{"missing root", []string{"-addr", "127.0.0.1:0", "-root", filepath.Join(t.TempDir(), "absent")}},
		{"bad addr", []string{"-addr", "nowhere", "-root", "sandbox"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := run(context.Background(), tc.args, io.Discard); err == nil {
				t.Fatalf("run(%q) succeeded", tc.args)
			}
		})
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"-addr", "127.0.0.1:0", "-root", "sandbox"}, io.Discard); err != nil {
		t.Fatalf("run with a cancelled context = %v, want nil", err)
	}
}
