package configtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// Compose is the subset of the Compose specification that docker-compose.yml
// uses. Decoding is strict: a key outside this subset is an error, so a typo
// (or a new key nobody checked) fails the test.
type Compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]ComposeService `yaml:"services"`
}

// ComposeService is one service of a Compose file.
type ComposeService struct {
	Image       string                      `yaml:"image"`
	Build       *ComposeBuild               `yaml:"build"`
	Command     []string                    `yaml:"command"`
	Entrypoint  []string                    `yaml:"entrypoint"`
	Volumes     []string                    `yaml:"volumes"`
	Ports       []string                    `yaml:"ports"`
	Environment map[string]string           `yaml:"environment"`
	DependsOn   map[string]ComposeDependsOn `yaml:"depends_on"`
}

// ComposeBuild is a service's build section.
type ComposeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// ComposeDependsOn is the long form of depends_on.
type ComposeDependsOn struct {
	Condition string `yaml:"condition"`
}

// LoadCompose strictly decodes a Compose file.
func LoadCompose(path string) (*Compose, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var c Compose
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if len(c.Services) == 0 {
		return nil, errors.New(path + ": no services")
	}
	return &c, nil
}
