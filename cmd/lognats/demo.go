package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/demo"
	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/ingest"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/pipeline"
)

func (a *app) demoCmd() *cobra.Command {
	var httpAddr, logsDir string
	var generate bool
	var pf pipelineFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start everything on an embedded server, pretrain, feed logs, print a report, keep serving",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("data") {
				dir, err := os.MkdirTemp("", "lognats-demo-")
				if err != nil {
					return err
				}
				a.dataDir = dir
				// A temporary folder goes with the demo; use --data to keep it.
				defer os.RemoveAll(dir)
			}
			corpus := ""
			if !generate {
				corpus, _ = demo.FindCorpus(logsDir)
			}
			tmp, err := os.MkdirTemp("", "lognats-demo-logs-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			plan, err := demo.Prepare(corpus, tmp, 42)
			if err != nil {
				return err
			}
			if generate {
				plan.Why = "--generated"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "lognats demo: data folder %s\n", a.dataDir)
			ready := func(rs *runningServices, httpURL string, c *conn, store *modelstore.Store) {
				if err := a.demoFeed(cmd.Context(), cmd, plan, rs, httpURL, c, store); err != nil && cmd.Context().Err() == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Error: demo: %v\n", err)
				}
			}
			return a.runServices(cmd, "demo", serviceNames, httpAddr, &pf, ready)
		},
	}
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "HTTP listen address (a free port is used if taken)")
	cmd.Flags().StringVar(&logsDir, "logs", "", "folder of real logs in the k8s-logs layout (SOURCE.log, SOURCE-failures.log, line-labels.tsv)")
	cmd.Flags().BoolVar(&generate, "generated", false, "use generated logs even when the real corpus is present")
	pf.bind(cmd)
	return cmd
}

func (a *app) demoFeed(ctx context.Context, cmd *cobra.Command, plan demo.Plan, rs *runningServices, httpURL string, c *conn, store *modelstore.Store) error {
	start := time.Now()
	out := cmd.OutOrStdout()
	js, err := jetstream.New(c.nc)
	if err != nil {
		return err
	}
	// 1. Pretrained DRAIN models from the normal files.
	for src, files := range plan.Pretrain {
		p, err := pipeline.NewPretrainer(drain.DefaultConfig(), nil)
		if err != nil {
			return err
		}
		for _, path := range files {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			err = p.Add(f, pipeline.LabelNormal)
			f.Close()
			if err != nil {
				return err
			}
		}
		d, st, err := p.Finish()
		if err != nil {
			return err
		}
		v, err := pipeline.StorePretrained(ctx, store, src, d, st)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "pretrained %s from %d normal lines of %s: %d templates\n", v.Ref, st.NormalLines, filepath.Base(files[0]), st.Templates)
	}
	// 2. Wait until the pretrained service has loaded them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		tm, _ := pipeline.Templates(ctx, js)
		loaded := 0
		for src := range plan.Pretrain {
			if tm["pretrained-"+src] > 0 {
				loaded++
			}
		}
		if loaded == len(plan.Pretrain) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pretrained models not loaded after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// 3. Feed the logs.
	pub, err := pipeline.NewPublisher(c.nc)
	if err != nil {
		return err
	}
	var ingested int64
	for _, in := range plan.Ingest {
		f, err := os.Open(in.Path)
		if err != nil {
			return err
		}
		st, err := ingest.ReadPlain(ctx, f, ingest.Defaults{Source: in.Source, Cluster: "demo", Namespace: in.Namespace, Workload: in.Workload}, pub, ingest.Options{})
		f.Close()
		if err != nil {
			return err
		}
		ingested += st.Accepted
		fmt.Fprintf(out, "ingested %d %s lines from %s\n", st.Accepted, in.Source, filepath.Base(in.Path))
	}
	batches := map[logrec.Stream][]logrec.Record{}
	for _, l := range plan.Workload {
		s := logrec.Stream{Source: logrec.SourceWorkload, Cluster: "demo", Namespace: l.Namespace, Workload: l.Workload}
		batches[s] = append(batches[s], logrec.Record{Time: l.Time, Pod: l.Pod, Container: l.Container, Message: l.Message})
	}
	for s, recs := range batches {
		for i := 0; i < len(recs); i += 500 {
			if err := pub.Publish(ctx, s, recs[i:min(i+500, len(recs))]); err != nil {
				return err
			}
		}
		ingested += int64(len(recs))
	}
	fmt.Fprintf(out, "ingested %d generated workload lines\n", len(plan.Workload))
	if err := pub.Flush(ctx); err != nil {
		return err
	}
	// 4. Wait for every line to be labelled.
	deadline = time.Now().Add(5 * time.Minute)
	for rs.stats.Status().Processed < ingested {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d lines processed after 5 minutes", rs.stats.Status().Processed, ingested)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	// 5. Report, scoring against the labels when there are some.
	var score *demo.EpisodeScore
	if plan.Labels != "" {
		labels, err := demo.ReadLabels(plan.Labels)
		if err == nil {
			results, err := readResults(ctx, js)
			if err != nil {
				return err
			}
			sc := demo.Score(labels, results)
			score = &sc
		}
	}
	templates, _ := pipeline.Templates(ctx, js)
	demo.Report(out, plan, rs.stats.Status(), templates, rs.stats.Breakdown(), rs.stats.TopTemplates(10), score, time.Since(start), httpURL)
	return nil
}

// readResults reads the whole RESULTS stream (the demo's is small).
func readResults(ctx context.Context, js jetstream.JetStream) ([]logrec.Result, error) {
	st, err := js.Stream(ctx, pipeline.ResultsStream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	c, err := js.OrderedConsumer(ctx, pipeline.ResultsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []logrec.Result
	for i := uint64(0); i < info.State.Msgs; i++ {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return out, fmt.Errorf("read RESULTS: %w", err)
		}
		body, err := pipeline.Payload(m.Headers(), m.Data(), nil)
		if err != nil {
			continue
		}
		_, rs, err := logrec.DecodeResults(body, nil)
		if err != nil {
			continue
		}
		out = append(out, rs...)
	}
	return out, nil
}
