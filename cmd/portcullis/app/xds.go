package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/xds"
)

func init() {
	register(command{name: "xds", summary: "serve the policy's MCP routes to Envoy over ADS (or --print them)", run: runXDS})
}

func runXDS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("xds")
	cfgPath := fs.String("config", "", "path to portcullis.yaml (required)")
	listen := fs.String("listen", "", "ADS listen address (default: listen.xds from the config, else 127.0.0.1:18000)")
	var opts xds.Options
	fs.StringVar(&opts.NodeID, "node-id", xds.DefaultNodeID, "Envoy node.id to serve")
	fs.StringVar(&opts.ListenAddr, "envoy-listen", xds.DefaultListenAddr, "Envoy's MCP listener address")
	fs.StringVar(&opts.ExtProcAddr, "extproc", "", "where Envoy reaches the processor, host:port or unix:///path (default: listen.extproc)")
	fs.StringVar(&opts.AdminAddr, "admin", "", "where Envoy reaches the gateway's admin endpoints (default: listen.admin)")
	printOnly := fs.Bool("print", false, "print the rendered resources as JSON and exit")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageError(errors.New("--config is required"))
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Errorf("unexpected arguments: %v", fs.Args()))
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *printOnly {
		res, err := xds.BuildResources(cfg, opts)
		if err != nil {
			return err
		}
		if err := res.Validate(); err != nil {
			return err
		}
		return printResources(stdout, res)
	}

	addr := *listen
	if addr == "" {
		addr = cfg.Listen.XDS
	}
	if addr == "" {
		addr = "127.0.0.1:18000"
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	srv := xds.New(opts, logger)
	if err := srv.Update(cfg); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("xds: %w", err)
	}
	fmt.Fprintf(stdout, "portcullis: xDS (ADS) for node %q listening on %s, version %s\n", opts.NodeID, lis.Addr(), srv.Version())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				next, err := config.Load(*cfgPath)
				if err == nil {
					err = srv.Update(next)
				}
				if err != nil {
					logger.Error("config reload failed; Envoy keeps the previous snapshot", "error", err)
					continue
				}
				logger.Info("configuration reloaded", "path", *cfgPath, "version", srv.Version())
			}
		}
	}()
	return srv.Serve(ctx, lis)
}

// printResources writes the resources as one indented JSON document.
func printResources(w io.Writer, res *xds.Resources) error {
	enc := func(m proto.Message) (json.RawMessage, error) {
		b, err := protojson.Marshal(m)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	var doc struct {
		Clusters []json.RawMessage `json:"clusters"`
		Listener json.RawMessage   `json:"listener"`
		Routes   json.RawMessage   `json:"routes"`
	}
	var err error
	for _, c := range res.Clusters {
		b, e := enc(c)
		err = errors.Join(err, e)
		doc.Clusters = append(doc.Clusters, b)
	}
	var e1, e2 error
	doc.Listener, e1 = enc(res.Listener)
	doc.Routes, e2 = enc(res.Routes)
	if err = errors.Join(err, e1, e2); err != nil {
		return fmt.Errorf("xds: render: %w", err)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("xds: render: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}
