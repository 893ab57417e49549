package configtest_test

import (
	"bufio"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/envoy/configtest"
	"github.com/portcullis-mcp/portcullis/xds"
)

const repoRoot = "../.."

// mountSource returns the host file mounted at target in a service, "" if none.
func mountSource(t *testing.T, s configtest.ComposeService, target string) string {
	t.Helper()
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		require.GreaterOrEqual(t, len(parts), 2, "volume %q", v)
		if parts[1] == target {
			return filepath.Join(repoRoot, parts[0])
		}
	}
	return ""
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// dockerfile reads the shipped Dockerfile: the COPY sources from the build
// context and the packages built.
func dockerfile(t *testing.T, p string) (copies, builds []string) {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "COPY":
			args := fields[1:]
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				if strings.HasPrefix(args[0], "--from") {
					args = nil // copies from another stage, not the context
					break
				}
				args = args[1:]
			}
			if len(args) >= 2 {
				copies = append(copies, args[:len(args)-1]...)
			}
		case "RUN":
			for _, f := range fields {
				if strings.HasPrefix(f, "./") {
					builds = append(builds, f)
				}
			}
		}
	}
	require.NoError(t, sc.Err())
	return copies, builds
}

// TestDockerCompose decodes docker-compose.yml strictly, checks every file
// it references exists, and validates the Envoy and Portcullis configs it
// mounts, including that Envoy's routes are what xDS renders for that policy.
func TestDockerCompose(t *testing.T) {
	c, err := configtest.LoadCompose(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err)
	for _, name := range []string{"envoy", "portcullis", "files", "web"} {
		require.Contains(t, c.Services, name)
	}

	built := map[string]bool{} // binaries in the image built by the Dockerfile
	for name, s := range c.Services {
		t.Run(name, func(t *testing.T) {
			require.True(t, s.Image != "" || s.Build != nil, "no image and no build")
			if s.Build != nil {
				df := filepath.Join(repoRoot, s.Build.Context, cmpOr(s.Build.Dockerfile, "Dockerfile"))
				copies, builds := dockerfile(t, df)
				for _, src := range copies {
					_, err := os.Stat(filepath.Join(repoRoot, s.Build.Context, src))
					require.NoError(t, err, "Dockerfile COPY source")
				}
				require.NotEmpty(t, builds)
				for _, pkg := range builds {
					st, err := os.Stat(filepath.Join(repoRoot, s.Build.Context, pkg))
					require.NoError(t, err, "Dockerfile builds %s", pkg)
					require.True(t, st.IsDir())
					built["/usr/local/bin/"+path.Base(pkg)] = true
				}
			}
			for _, v := range s.Volumes {
				src := strings.Split(v, ":")[0]
				_, err := os.Stat(filepath.Join(repoRoot, src))
				require.NoError(t, err, "volume source %s", src)
			}
			for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
				require.Contains(t, c.Services, dep)
			}
			for _, p := range s.Ports {
				parts := strings.Split(p, ":")
				require.GreaterOrEqual(t, len(parts), 2, "port %q", p)
			}
		})
	}
	for _, name := range []string{"files", "web"} {
		ep := c.Services[name].Entrypoint
		require.NotEmpty(t, ep)
		require.True(t, built[ep[0]], "%s runs %s, which the Dockerfile does not build", name, ep[0])
	}

	// Envoy: the mounted config decodes and validates.
	envoy := c.Services["envoy"]
	require.Equal(t, "envoyproxy/envoy:v1.38-latest", envoy.Image)
	envoyCfg := mountSource(t, envoy, flagValue(envoy.Command, "-c"))
	require.NotEmpty(t, envoyCfg, "envoy -c file is not mounted")
	b, err := configtest.LoadBootstrap(envoyCfg)
	require.NoError(t, err)
	listenPort := b.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress().GetPortValue()
	require.True(t, slices.ContainsFunc(envoy.Ports, func(p string) bool {
		return strings.HasSuffix(p, ":"+strconv.FormatUint(uint64(listenPort), 10))
	}), "Envoy listener port %d is not published", listenPort)

	// Portcullis: the mounted policy loads, and Envoy's resources are the
	// xDS rendering of it with the processor reached by service name.
	pc := c.Services["portcullis"]
	policyPath := mountSource(t, pc, flagValue(pc.Command, "--config"))
	require.NotEmpty(t, policyPath, "portcullis --config file is not mounted")
	cfg, err := config.Load(policyPath)
	require.NoError(t, err)
	if cfg.Policy.File != "" {
		require.NotEmpty(t, mountSource(t, pc, cfg.Policy.File), "policy file %s is not mounted", cfg.Policy.File)
	}
	_, extPort, err := net.SplitHostPort(cfg.Listen.ExtProc)
	require.NoError(t, err)
	_, adminPort, err := net.SplitHostPort(cfg.Listen.Admin)
	require.NoError(t, err)
	requireStaticMatchesXDS(t, b, cfg, xds.Options{
		ExtProcAddr: net.JoinHostPort("portcullis", extPort),
		AdminAddr:   net.JoinHostPort("portcullis", adminPort),
	})
	// Every DNS cluster names a compose service.
	for _, cl := range b.GetStaticResources().GetClusters() {
		if cl.GetType() != clusterv3.Cluster_STRICT_DNS {
			continue
		}
		host := cl.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
		require.Contains(t, c.Services, host, "cluster %s", cl.GetName())
	}
}

func TestLoadComposeStrict(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yml")
	require.NoError(t, os.WriteFile(p, []byte("services:\n  a:\n    image: x\n    entrypont: [y]\n"), 0o600))
	_, err := configtest.LoadCompose(p)
	require.ErrorContains(t, err, "entrypont")
	require.NoError(t, os.WriteFile(p, []byte("name: x\n"), 0o600))
	_, err = configtest.LoadCompose(p)
	require.ErrorContains(t, err, "no services")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
