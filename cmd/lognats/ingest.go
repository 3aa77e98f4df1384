package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/ingest"
	"github.com/lognats/lognats/internal/pipeline"
)

func (a *app) ingestCmd() *cobra.Command {
	var d ingest.Defaults
	var ndjson bool
	cmd := &cobra.Command{
		Use:   "ingest FILE|-",
		Short: "Send log lines (plain text, or NDJSON records with --ndjson) to the LOGS stream",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			norm := ingest.Defaults.Normalize
			if !ndjson && !isNDJSONName(args[0]) {
				norm = ingest.Defaults.RequireWorkload // every plain line takes --workload
			}
			nd, err := norm(d)
			if err != nil {
				return fmt.Errorf("invalid flags: %w", err)
			}
			d = nd
			var r io.Reader = cmd.InOrStdin()
			var size int64 = -1
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("open log file: %w", err)
				}
				defer f.Close()
				if st, err := f.Stat(); err == nil {
					if st.IsDir() {
						return fmt.Errorf("log file %s is a directory", args[0])
					}
					size = st.Size()
				}
				r = f
				if isNDJSONName(args[0]) {
					ndjson = true
				}
			}
			ctx := cmd.Context()
			c, err := a.connect(ctx, "ingest")
			if err != nil {
				return err
			}
			defer c.Close()
			js, err := jetstreamFor(c)
			if err != nil {
				return err
			}
			// The first command on a new store may be an ingest: make the
			// streams, so the lines wait in LOGS for the services.
			if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamConfig{Replicas: a.store.Replicas}); err != nil {
				return err
			}
			pub, err := pipeline.NewPublisher(c.nc)
			if err != nil {
				return err
			}
			opt := ingest.Options{}
			if isTerminal(os.Stderr) && size > 1<<20 {
				bar := newBar(os.Stderr, size, "ingest")
				opt.Progress = func(n int64) { _ = bar.Set64(n) }
				defer bar.Finish()
			}
			start := time.Now()
			var st ingest.Stats
			if ndjson {
				st, err = ingest.ReadNDJSON(ctx, r, d, pub, opt)
			} else {
				st, err = ingest.ReadPlain(ctx, r, d, pub, opt)
			}
			// Even when interrupted, wait (briefly) for what was sent, so the
			// stored count below is true.
			// Not interrupted: allow lost acknowledgements to time out and
			// their batches to be sent again (a cluster electing a leader).
			wait := 3*pipeline.AckTimeout + 30*time.Second
			switch {
			case ctx.Err() != nil && !c.nc.IsConnected():
				wait = time.Second // interrupted while NATS is away: nothing more will be acknowledged
			case ctx.Err() != nil:
				wait = 15 * time.Second
			}
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
			if ferr := pub.Flush(fctx); err == nil {
				err = ferr
			}
			cancel()
			stored := pub.Acked()
			secs := time.Since(start).Seconds()
			if a.json {
				_ = writeJSON(cmd.OutOrStdout(), map[string]any{"stats": st, "stored": stored, "seconds": secs})
			} else {
				for _, e := range st.Errors {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", e)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "accepted=%d stored=%d skipped=%d truncated=%d replaced=%d rejected=%d seconds=%.2f lines/s=%.0f\n",
					st.Accepted, stored, st.Skipped, st.Truncated, st.Replaced, st.Rejected, secs, float64(stored)/max(secs, 1e-9))
			}
			if err != nil {
				return fmt.Errorf("ingest incomplete: %d of %d accepted lines were stored (lines are batched per workload, so do not resume by line number): %w", stored, st.Accepted, err)
			}
			if st.Accepted == 0 && st.Rejected > 0 {
				return &exitError{code: 1, err: fmt.Errorf("every line was rejected (%d)", st.Rejected)}
			}
			if stored != st.Accepted {
				return fmt.Errorf("only %d of %d accepted lines were stored", stored, st.Accepted)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&d.Source, "source", "", "source of the lines: control-plane, rancher, longhorn or workload (default workload)")
	f.StringVar(&d.Cluster, "cluster", "local", "cluster name")
	f.StringVar(&d.Workload, "workload", "", "workload as NAMESPACE/NAME (or NAME with --namespace)")
	f.StringVar(&d.Namespace, "namespace", "", "namespace")
	f.StringVar(&d.Pod, "pod", "", "pod name")
	f.StringVar(&d.Container, "container", "", "container name")
	f.BoolVar(&ndjson, "ndjson", false, "input is NDJSON records (default for .ndjson/.jsonl files)")
	return cmd
}

func isNDJSONName(name string) bool {
	return strings.HasSuffix(name, ".ndjson") || strings.HasSuffix(name, ".jsonl")
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print ingested, processed, templates, anomalies and per-service lag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.connect(ctx, "status")
			if err != nil {
				return err
			}
			defer c.Close()
			js, err := jetstreamFor(c)
			if err != nil {
				return err
			}
			rep, err := pipeline.Report(ctx, js)
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "ingested   %d\nprocessed  %d\ntemplates  %d\nanomalies  %d\n", rep.Ingested, rep.Processed, rep.Templates, rep.Anomalies)
			if rep.Updated.IsZero() {
				fmt.Fprintln(w, "note: the counts are kept by the stats service, which has not run on this store yet (it runs with `lognats serve` or `lognats run api`)")
			}
			for _, k := range sortedKeys(rep.TemplatesBy) {
				fmt.Fprintf(w, "  templates %-28s %d\n", k, rep.TemplatesBy[k])
			}
			fmt.Fprintln(w, "lag (messages pending / unacknowledged):")
			for _, l := range rep.Lag {
				state := ""
				if !l.Online {
					state = "  (not running)"
				}
				fmt.Fprintf(w, "  %-32s %d / %d%s\n", l.Service, l.Pending, l.Unacked, state)
			}
			fmt.Fprintf(w, "  %-32s %d / %d (LOGS / RESULTS batches not yet counted)\n", "stats", rep.StatsLagLogs, rep.StatsLagRes)
			for _, wmsg := range rep.Warnings {
				fmt.Fprintln(w, "warning:", wmsg)
			}
			for _, k := range sortedKeys(rep.Leases) {
				fmt.Fprintf(w, "lease %s held by %s\n", k, rep.Leases[k])
			}
			idle := rep.StatsLagLogs == 0 && rep.StatsLagRes == 0
			for _, l := range rep.Lag {
				idle = idle && l.Pending == 0 && l.Unacked == 0
			}
			if idle && len(rep.Lag) > 0 && rep.Processed < rep.Ingested {
				fmt.Fprintf(w, "warning: %d ingested lines were never processed and nothing is pending: the stream limits (--logs-max-age, --logs-max-bytes) dropped them\n", rep.Ingested-rep.Processed)
			}
			return nil
		},
	}
}
