package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

func init() {
	register(command{name: "serve", summary: "run the ext_proc processor and (with listen.proxy) the embedded data plane", run: runServe})
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve")
	cfgPath := fs.String("config", "", "path to portcullis.yaml (required)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var errs []error
	if *cfgPath == "" {
		errs = append(errs, errors.New("--config is required"))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %v", fs.Args()))
	}
	if len(errs) > 0 {
		return usageError(errors.Join(errs...))
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	logConfig(logger, *cfgPath, cfg)
	g, err := gateway.Start(ctx, cfg, gateway.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer g.Close()
	logger.Debug("gateway started", "extproc", g.ExtProcAddr(), "proxy", g.ProxyAddr(), "admin", g.AdminAddr(),
		"trace_exporter", g.Telemetry().TraceExporter(), "policy_version", g.PolicyVersion())
	fmt.Fprintf(stdout, "portcullis: ext_proc listening on %s\n", g.ExtProcAddr())
	if a := g.ProxyAddr(); a != "" {
		fmt.Fprintf(stdout, "portcullis: data plane listening on http://%s (MCP servers at /mcp/<name>)\n", a)
	}
	if a := g.XDSAddr(); a != "" {
		fmt.Fprintf(stdout, "portcullis: xDS (ADS) listening on %s, snapshot %s\n", a, g.XDS().Version())
	}
	if a := g.AdminAddr(); a != "" {
		fmt.Fprintf(stdout, "portcullis: admin listening on http://%s\n", a)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "portcullis: shutting down")
			return nil
		case <-hup:
			next, err := config.Load(*cfgPath)
			if err != nil {
				logger.Error("config reload failed; keeping the running configuration", "error", err)
				continue
			}
			if err := g.Reload(next); err != nil {
				logger.Error("config reload failed; keeping the running configuration", "error", err)
				continue
			}
			if next.Policy.File != "" {
				if err := g.ReloadPolicy(); err != nil {
					logger.Error("policy reload failed; keeping the running policy", "error", err)
				}
			}
			logConfig(logger, *cfgPath, next)
			logger.Info("configuration reloaded", "path", *cfgPath, "policy_version", g.PolicyVersion(), "trace_exporter", g.Telemetry().TraceExporter())
		}
	}
}

// logConfig writes the effective configuration at debug level: what an
// operator needs to confirm which file, servers, policy and exporters are in
// force (no secrets: only names, addresses and modes).
func logConfig(logger *slog.Logger, path string, cfg *config.Config) {
	if !logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	servers := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		servers = append(servers, s.Name)
	}
	logger.Debug("configuration loaded", "path", path, "servers", servers, "policy_file", cfg.Policy.File,
		"audit_dir", cfg.Audit.Dir, "audit_content", cfg.Audit.Content, "trace_exporter", cfg.Telemetry.TraceExporter(),
		"decision_log", cfg.Log.Decisions, "max_body_bytes", cfg.Limits.MaxBodyBytes)
}
