package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natsx"
	"github.com/lognats/lognats/internal/pipeline"
)

// pipelineFlags are the stream and service settings serve and run share.
type pipelineFlags struct {
	streams       pipeline.StreamConfig
	snapshotLines int64
	snapshotEvery time.Duration
	thresholds    []string
	rareCount     float64
	memoryLimitMB int
	cpuProfile    string
}

func (p *pipelineFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&p.streams.LogsMaxAge, "logs-max-age", 24*time.Hour, "how long the LOGS stream keeps lines")
	f.Int64Var(&p.streams.LogsMaxBytes, "logs-max-bytes", -1, "size limit of the LOGS stream in bytes (-1: none)")
	f.DurationVar(&p.streams.ResultsMaxAge, "results-max-age", 24*time.Hour, "how long PARSED and RESULTS keep lines")
	f.Int64Var(&p.streams.ResultsMaxByte, "results-max-bytes", -1, "size limit of the RESULTS stream in bytes (-1: none)")
	f.Int64Var(&p.snapshotLines, "snapshot-lines", 1_000_000, "workload DRAIN: snapshot after this many lines")
	f.DurationVar(&p.snapshotEvery, "snapshot-every", 2*time.Minute, "workload DRAIN: snapshot at least this often while lines arrive")
	f.StringArrayVar(&p.thresholds, "threshold", nil, "anomaly threshold per source, SOURCE=VALUE (repeatable; defaults: control-plane=0.6 rancher=0.6 longhorn=0.8 workload=0.7)")
	f.Float64Var(&p.rareCount, "rare-count", 1, "DRAIN rule: a template seen at most this many times is an anomaly")
	f.StringVar(&p.cpuProfile, "cpuprofile", "", "write a CPU profile of this process to the file")
	_ = f.MarkHidden("cpuprofile")
	f.IntVar(&p.memoryLimitMB, "memory-limit-mb", 384, "soft memory limit in MiB for the Go runtime (GC works harder near it; 0: none)")
}

// minStreamBytes: a batch is up to about 512 KiB, so a smaller stream
// would discard lines as fast as they arrive.
const minStreamBytes = 1 << 20

func (p *pipelineFlags) thresholdMap() (pipeline.Thresholds, error) {
	switch {
	case p.rareCount < 1:
		return nil, fmt.Errorf("invalid --rare-count %v: want 1 or more", p.rareCount)
	case p.snapshotLines < 1:
		return nil, fmt.Errorf("invalid --snapshot-lines %d: want 1 or more", p.snapshotLines)
	case p.snapshotEvery < time.Second:
		return nil, fmt.Errorf("invalid --snapshot-every %s: want 1s or more", p.snapshotEvery)
	case p.streams.LogsMaxAge < 0 || p.streams.ResultsMaxAge < 0:
		return nil, fmt.Errorf("invalid --logs-max-age %s / --results-max-age %s: want a positive duration", p.streams.LogsMaxAge, p.streams.ResultsMaxAge)
	case p.streams.LogsMaxBytes != -1 && p.streams.LogsMaxBytes < minStreamBytes:
		return nil, fmt.Errorf("invalid --logs-max-bytes %d: want -1 (no limit) or at least %d (1 MiB); a smaller stream drops every batch", p.streams.LogsMaxBytes, minStreamBytes)
	case p.streams.ResultsMaxByte != -1 && p.streams.ResultsMaxByte < minStreamBytes:
		return nil, fmt.Errorf("invalid --results-max-bytes %d: want -1 (no limit) or at least %d (1 MiB)", p.streams.ResultsMaxByte, minStreamBytes)
	}
	th := pipeline.DefaultThresholds()
	for _, kv := range p.thresholds {
		k, v, ok := strings.Cut(kv, "=")
		var x float32
		if _, err := fmt.Sscan(v, &x); !ok || err != nil || x < 0 || x > 1 {
			return nil, fmt.Errorf("invalid --threshold %q: want SOURCE=VALUE with VALUE in 0..1", kv)
		}
		if _, known := th[k]; !known {
			return nil, fmt.Errorf("invalid --threshold %q: unknown source %q", kv, k)
		}
		th[k] = x
	}
	return th, nil
}

// serviceNames are the services `run` accepts; "api" includes stats.
var serviceNames = []string{"drain-workload", "drain-pretrained", "inference", "api"}

// runningServices holds what a process runs, for the API and reports.
type runningServices struct {
	workload *pipeline.WorkloadDrain
	// workloadLease keeps the workload DRAIN on one process of a cluster.
	workloadLease *pipeline.Exclusive
	pretrained    *pipeline.PretrainedDrain
	inference     *pipeline.Inference
	stats         *pipeline.Stats
}

// startServices starts the named services; wait returns when all stopped.
func (a *app) startServices(ctx context.Context, c *conn, store *modelstore.Store, pf *pipelineFlags, names []string) (*runningServices, func() error, error) {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cfg := pf.streams
	cfg.Replicas = a.store.Replicas
	if err := pipeline.EnsureStreams(sctx, js, cfg); err != nil {
		return nil, nil, err
	}
	th, err := pf.thresholdMap()
	if err != nil {
		return nil, nil, err
	}
	// Each service gets its own connection: one service's burst of big
	// messages must not make the server cut off another's.
	var conns []*nats.Conn
	dial := func(name string) (*nats.Conn, error) {
		cc := a.client
		cc.URLs, cc.Name = c.url, "lognats-"+name
		if a.natsURL != "" {
			cc.URLs = a.natsURL
		}
		if c.emb != nil {
			cc.Extra = []nats.Option{c.emb.InProcess()} // no socket to our own server
		}
		nc, err := natsx.Connect(ctx, cc)
		if err == nil {
			conns = append(conns, nc)
		}
		return nc, err
	}
	closeConns := func() {
		for _, nc := range conns {
			_ = nc.Drain()
		}
	}
	rs := &runningServices{}
	type runner interface{ Run(context.Context) error }
	var run []struct {
		name string
		r    runner
	}
	for _, n := range names {
		var r runner
		nc, err := dial(n)
		if err != nil {
			closeConns()
			return nil, nil, err
		}
		switch n {
		case "drain-workload":
			rs.workload = &pipeline.WorkloadDrain{NC: nc, Store: store, SnapshotLines: pf.snapshotLines, SnapshotEvery: pf.snapshotEvery, Logger: a.logger.With("service", n)}
			kv, ttl, err := pipeline.EnsureLeaseBucket(sctx, js, a.store.Replicas, pipeline.DefaultLeaseTTL)
			if err != nil {
				closeConns()
				return nil, nil, err
			}
			rs.workloadLease = &pipeline.Exclusive{KV: kv, Name: n, Holder: pipeline.NewHolderID(), TTL: ttl, Logger: rs.workload.Logger}
			r = exclusiveRunner{rs.workloadLease, rs.workload}
		case "drain-pretrained":
			rs.pretrained = &pipeline.PretrainedDrain{NC: nc, Store: store, Logger: a.logger.With("service", n)}
			r = rs.pretrained
		case "inference":
			rs.inference = &pipeline.Inference{NC: nc, Rule: pipeline.RareTemplateRule{MaxCount: float32(pf.rareCount)}, Thresholds: th, Logger: a.logger.With("service", n)}
			rs.inference.Scorers = a.scorers(ctx, store, rs.inference.Logger)
			r = rs.inference
		case "api", "stats":
			rs.stats = &pipeline.Stats{NC: nc, Logger: a.logger.With("service", "stats")}
			r = rs.stats
		default:
			closeConns()
			return nil, nil, fmt.Errorf("unknown service %q: want one of %s", n, strings.Join(serviceNames, ", "))
		}
		run = append(run, struct {
			name string
			r    runner
		}{n, r})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(run))
	rctx, rcancel := context.WithCancel(ctx)
	for i, s := range run {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.r.Run(rctx); err != nil && rctx.Err() == nil {
				errs[i] = fmt.Errorf("service %s: %w", s.name, err)
				rcancel() // one failed service stops the process rather than leaving it half-working
			}
		}()
	}
	wait := func() error {
		wg.Wait()
		rcancel()
		closeConns()
		return errors.Join(errs...)
	}
	return rs, wait, nil
}

// exclusiveRunner runs a singleton service under its lease.
type exclusiveRunner struct {
	lease *pipeline.Exclusive
	svc   interface{ Run(context.Context) error }
}

func (e exclusiveRunner) Run(ctx context.Context) error { return e.lease.Run(ctx, e.svc.Run) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
