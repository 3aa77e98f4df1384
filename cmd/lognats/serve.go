package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/api"
	"github.com/lognats/lognats/internal/datadir"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/pipeline"
)

func (a *app) serveCmd() *cobra.Command {
	var httpAddr string
	var pf pipelineFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run everything: NATS (embedded, or --nats), every pipeline service and the HTTP API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runServices(cmd, "serve", serviceNames, httpAddr, &pf, nil)
		},
	}
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "HTTP listen address (API, health)")
	pf.bind(cmd)
	return cmd
}

func (a *app) runCmd() *cobra.Command {
	var httpAddr string
	var pf pipelineFlags
	cmd := &cobra.Command{
		Use:       "run SERVICE...",
		Short:     "Run some services only (drain-workload, drain-pretrained, inference, api); copies of inference share the work, copies of drain-workload stand by",
		Args:      cobra.MinimumNArgs(1),
		ValidArgs: serviceNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runServices(cmd, "run", args, httpAddr, &pf, nil)
		},
	}
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "HTTP listen address when running api")
	pf.bind(cmd)
	return cmd
}

// runServices connects, starts the services and the HTTP API (when "api"
// is among them) and blocks until interrupted. ready, if set, is called
// once everything listens.
func (a *app) runServices(cmd *cobra.Command, role string, names []string, httpAddr string, pf *pipelineFlags, ready func(*runningServices, string, *conn, *modelstore.Store)) error {
	ctx := cmd.Context()
	if pf.memoryLimitMB < 0 {
		return fmt.Errorf("invalid --memory-limit-mb %d", pf.memoryLimitMB)
	}
	if pf.cpuProfile != "" {
		f, err := os.Create(pf.cpuProfile)
		if err != nil {
			return fmt.Errorf("create --cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if pf.memoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(pf.memoryLimitMB) << 20)
	}
	for _, n := range names {
		known := false
		for _, s := range serviceNames {
			known = known || n == s
		}
		if !known {
			return fmt.Errorf("unknown service %q: want one of %v", n, serviceNames)
		}
	}
	connectRole := role
	if role != "serve" && role != "demo" {
		connectRole = "run"
	}
	c, err := a.connect(ctx, connectRole)
	if err != nil {
		return err
	}
	defer c.Close()
	store, err := a.openStoreOn(ctx, c)
	if err != nil {
		return err
	}
	svcCtx, stopSvcs := context.WithCancel(ctx)
	defer stopSvcs()
	rs, wait, err := a.startServices(svcCtx, c, store, pf, names)
	if err != nil {
		return err
	}
	var srv *http.Server
	httpURL := ""
	withAPI := false
	for _, n := range names {
		withAPI = withAPI || n == "api"
	}
	if withAPI {
		ln, err := net.Listen("tcp", httpAddr)
		if err != nil && role == "demo" {
			ln, err = net.Listen("tcp", "127.0.0.1:0") // the demo should run even when 8080 is taken
		}
		if err != nil {
			stopSvcs()
			_ = wait()
			return fmt.Errorf("listen on --http %s: %w", httpAddr, err)
		}
		js, _ := jetstream.New(c.nc)
		pub, err := pipeline.NewPublisher(c.nc)
		if err != nil {
			return err
		}
		srv = &http.Server{Handler: (&api.Server{JS: js, Publisher: pub, Stats: rs.stats, Logger: a.logger}).Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.logger.Error("http server", "err", err)
			}
		}()
		httpURL = "http://" + ln.Addr().String()
	}
	if c.lock != nil {
		_ = c.lock.Publish(datadir.ServeInfo{PID: os.Getpid(), Role: role, NATSURL: c.url, HTTP: httpURL, Started: time.Now().UTC()})
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "lognats %s: services %v, nats %s", role, names, c.url)
	if httpURL != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), ", http %s", httpURL)
	}
	fmt.Fprintln(cmd.ErrOrStderr())
	if ready != nil {
		go ready(rs, httpURL, c, store)
	}
	done := make(chan error, 1)
	go func() { done <- wait() }()
	var svcErr error
	select {
	case <-ctx.Done():
		stopSvcs()
		svcErr = <-done
	case svcErr = <-done:
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "lognats %s stopped\n", role)
	return svcErr
}
