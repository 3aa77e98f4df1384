package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/datadir"
)

func (a *app) serveCmd() *cobra.Command {
	var httpAddr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run lognats: the embedded NATS server (or --nats) and the HTTP API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.connect(ctx, "serve")
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := a.openStoreOn(ctx, c); err != nil {
				return err
			}
			ln, err := net.Listen("tcp", httpAddr)
			if err != nil {
				return fmt.Errorf("listen on --http %s: %w", httpAddr, err)
			}
			js, _ := jetstream.New(c.nc)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
				hctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				defer cancel()
				if _, err := js.AccountInfo(hctx); err != nil {
					http.Error(w, "jetstream unavailable: "+err.Error(), http.StatusServiceUnavailable)
					return
				}
				fmt.Fprintln(w, "ok")
			})
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			if c.lock != nil {
				if err := c.lock.Publish(datadir.ServeInfo{PID: os.Getpid(), Role: "serve", NATSURL: c.url, HTTP: ln.Addr().String(), Started: time.Now().UTC()}); err != nil {
					return err
				}
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			a.logger.Info("lognats serving", "nats", c.url, "http", ln.Addr().String())
			fmt.Fprintf(cmd.ErrOrStderr(), "lognats serving: nats %s, http http://%s\n", c.url, ln.Addr())
			select {
			case <-ctx.Done():
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					return fmt.Errorf("http server: %w", err)
				}
			}
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			fmt.Fprintln(cmd.ErrOrStderr(), "lognats stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "HTTP listen address (health, API)")
	return cmd
}
