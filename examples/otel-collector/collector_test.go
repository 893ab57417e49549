// Package otelcollector holds example OpenTelemetry Collector configs; this
// test only checks that they are well-formed YAML with the pipelines wired
// to defined components (no Collector runs here).
package otelcollector

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestCollectorConfigsWellFormed(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 4)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			var c struct {
				Receivers  map[string]any `yaml:"receivers"`
				Processors map[string]any `yaml:"processors"`
				Exporters  map[string]any `yaml:"exporters"`
				Service    struct {
					Pipelines map[string]struct {
						Receivers  []string `yaml:"receivers"`
						Processors []string `yaml:"processors"`
						Exporters  []string `yaml:"exporters"`
					} `yaml:"pipelines"`
				} `yaml:"service"`
			}
			require.NoError(t, yaml.Unmarshal(b, &c))
			require.Contains(t, c.Service.Pipelines, "logs")
			for name, p := range c.Service.Pipelines {
				for _, r := range p.Receivers {
					require.Contains(t, c.Receivers, r, name)
				}
				for _, r := range p.Processors {
					require.Contains(t, c.Processors, r, name)
				}
				for _, r := range p.Exporters {
					require.Contains(t, c.Exporters, r, name)
				}
			}
		})
	}
}
