package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/ingest"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natstest"
	"github.com/lognats/lognats/internal/pipeline"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sharedData finds ../shared/data from the repository root.
func sharedData(t *testing.T) string {
	if d := os.Getenv("LOGNATS_SHARED_DATA"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

type input struct {
	path   string
	source string
	wl     string
}

// inputs are the k8s corpus files, or the hand-made sample when it is absent.
func inputs(t *testing.T) []input {
	k8s := filepath.Join(sharedData(t), "k8s-logs")
	if _, err := os.Stat(filepath.Join(k8s, "control-plane.log")); err == nil {
		return []input{
			{filepath.Join(k8s, "control-plane.log"), logrec.SourceControlPlane, ""},
			{filepath.Join(k8s, "control-plane-failures.log"), logrec.SourceControlPlane, ""},
			{filepath.Join(k8s, "rancher.log"), logrec.SourceRancher, ""},
			{filepath.Join(k8s, "rancher-failures.log"), logrec.SourceRancher, ""},
			{filepath.Join(k8s, "longhorn.log"), logrec.SourceLonghorn, ""},
			{filepath.Join(k8s, "longhorn-failures.log"), logrec.SourceLonghorn, ""},
			{filepath.Join(k8s, "rancher.log"), logrec.SourceWorkload, "shop/api"},
		}
	}
	t.Log("k8s-logs corpus absent: using testdata/sample.log")
	return []input{
		{"testdata/sample.log", logrec.SourceControlPlane, ""},
		{"testdata/sample.log", logrec.SourceWorkload, "shop/api"},
	}
}

func ingestAll(t *testing.T, nc *nats.Conn, ins []input) int64 {
	t.Helper()
	pub, err := pipeline.NewPublisher(nc)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, in := range ins {
		f, err := os.Open(in.path)
		if err != nil {
			t.Fatal(err)
		}
		d := ingest.Defaults{Source: in.source, Cluster: "test"}
		if in.wl != "" {
			d.Namespace, d.Workload = in.wl[:4], in.wl[5:]
		}
		st, err := ingest.ReadPlain(context.Background(), f, d, pub, ingest.Options{BatchLines: 500})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		total += st.Accepted
	}
	if err := pub.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pub.Acked() != total {
		t.Fatalf("acked %d lines, accepted %d", pub.Acked(), total)
	}
	return total
}

type runner interface{ Run(context.Context) error }

func start(t *testing.T, ctx context.Context, rs ...runner) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("%T: %v", r, err)
			}
		}()
	}
	return &wg
}

// resultsCount reads RESULTS and counts records per source LOGS sequence.
func resultsCount(t *testing.T, js jetstream.JetStream) (lines int64, perLogsSeq map[uint64]int) {
	t.Helper()
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, pipeline.ResultsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := js.Stream(ctx, pipeline.ResultsStream)
	info, _ := st.Info(ctx)
	perLogsSeq = map[uint64]int{}
	for i := uint64(0); i < info.State.Msgs; i++ {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		body, err := pipeline.Payload(m.Headers(), m.Data(), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, rs, err := logrec.DecodeResults(body, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Level == logrec.Undecided {
				t.Fatalf("undecided line in RESULTS: %+v", r)
			}
		}
		seq, _ := strconv.ParseUint(m.Headers().Get(pipeline.HeaderLogsSeq), 10, 64)
		perLogsSeq[seq]++
		lines += int64(len(rs))
	}
	return lines, perLogsSeq
}

func waitProcessed(t *testing.T, stats *pipeline.Stats, want int64) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := stats.Status()
		if st.Ingested == want && st.Processed == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want %d ingested and processed", st, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEndToEndExactlyOnce(t *testing.T) {
	srv := natstest.Embedded(t, "")
	nc := srv.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	js, _ := jetstream.New(nc)
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	store, err := modelstore.Open(ctx, nc, modelstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ins := inputs(t)
	// A pretrained model for the control plane from its normal file.
	p, _ := pipeline.NewPretrainer(drainConfig(), nil)
	f, _ := os.Open(ins[0].path)
	p.Add(f, pipeline.LabelNormal)
	f.Close()
	d, _, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.StorePretrained(ctx, store, logrec.SourceControlPlane, d, pipeline.PretrainStats{}); err != nil {
		t.Fatal(err)
	}
	stats := &pipeline.Stats{NC: nc, Logger: quiet, SnapshotEvery: 200 * time.Millisecond}
	wd := &pipeline.WorkloadDrain{NC: nc, Store: store, Logger: quiet, SnapshotLines: 2000}
	wg := start(t, ctx, wd, &pipeline.PretrainedDrain{NC: nc, Store: store, Logger: quiet}, &pipeline.Inference{NC: nc, Logger: quiet}, stats)
	total := ingestAll(t, nc, ins)
	waitProcessed(t, stats, total)

	lines, per := resultsCount(t, js)
	if lines != total {
		t.Fatalf("RESULTS holds %d lines, %d ingested", lines, total)
	}
	for seq, n := range per {
		if n != 1 {
			t.Fatalf("LOGS batch %d appears %d times in RESULTS", seq, n)
		}
	}
	var sum int64
	for _, p := range stats.Insights(pipeline.InsightFilter{}) {
		sum += p.Normal + p.Anomaly
	}
	if sum != total {
		t.Fatalf("insights add up to %d, ingested %d", sum, total)
	}
	// The pretrained model decided the control plane's known lines.
	cp := stats.Insights(pipeline.InsightFilter{Source: logrec.SourceControlPlane})
	var normal int64
	for _, p := range cp {
		normal += p.Normal
	}
	if normal == 0 {
		t.Fatal("no control-plane line labelled Normal by the pretrained model")
	}
	if len(stats.Recent(pipeline.InsightFilter{}, 10)) == 0 {
		t.Fatal("no anomalies recorded")
	}
	cancel()
	wg.Wait()
	// Stop and restart on the same store: counts resume, nothing doubles.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	stats2 := &pipeline.Stats{NC: nc, Logger: quiet, SnapshotEvery: 200 * time.Millisecond}
	wd2 := &pipeline.WorkloadDrain{NC: nc, Store: store, Logger: quiet}
	wg2 := start(t, ctx2, wd2, &pipeline.PretrainedDrain{NC: nc, Store: store, Logger: quiet}, &pipeline.Inference{NC: nc, Logger: quiet}, stats2)
	more := ingestAll(t, nc, ins[:1])
	waitProcessed(t, stats2, total+more)
	if wd2.Templates() < wd.Templates() {
		t.Fatalf("workload templates %d after restart, %d before", wd2.Templates(), wd.Templates())
	}
	cancel2()
	wg2.Wait()
}

func TestTwoInferenceCopiesShareWork(t *testing.T) {
	// Against the external nats-server binary (the oldest supported server).
	srv := natstest.External(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc := srv.Connect(t)
	js, _ := jetstream.New(nc)
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	store, err := modelstore.Open(ctx, nc, modelstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	stats := &pipeline.Stats{NC: srv.Connect(t), Logger: quiet, SnapshotEvery: 200 * time.Millisecond}
	inf1 := &pipeline.Inference{NC: srv.Connect(t), Logger: quiet}
	inf2 := &pipeline.Inference{NC: srv.Connect(t), Logger: quiet}
	wg := start(t, ctx, &pipeline.WorkloadDrain{NC: srv.Connect(t), Store: store, Logger: quiet},
		&pipeline.PretrainedDrain{NC: srv.Connect(t), Store: store, Logger: quiet}, inf1, inf2, stats)
	total := ingestAll(t, nc, inputs(t))
	waitProcessed(t, stats, total)
	if inf1.Lines() == 0 || inf2.Lines() == 0 || inf1.Lines()+inf2.Lines() != total {
		t.Fatalf("inference copies processed %d and %d lines, %d ingested", inf1.Lines(), inf2.Lines(), total)
	}
	lines, per := resultsCount(t, js)
	if lines != total || len(per) == 0 {
		t.Fatalf("RESULTS holds %d lines, %d ingested", lines, total)
	}
	for seq, n := range per {
		if n != 1 {
			t.Fatalf("LOGS batch %d appears %d times in RESULTS", seq, n)
		}
	}
	cancel()
	wg.Wait()
	t.Logf("%s: inference split %d / %d", srv.Version, inf1.Lines(), inf2.Lines())
}

func TestCorruptBatchIsSkippedNotFatal(t *testing.T) {
	srv := natstest.Embedded(t, "")
	nc := srv.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	js, _ := jetstream.New(nc)
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	store, _ := modelstore.Open(ctx, nc, modelstore.Config{Logger: quiet})
	stats := &pipeline.Stats{NC: nc, Logger: quiet, SnapshotEvery: 100 * time.Millisecond}
	wg := start(t, ctx, &pipeline.WorkloadDrain{NC: nc, Store: store, Logger: quiet}, &pipeline.Inference{NC: nc, Logger: quiet}, stats)
	// Garbage published straight onto a LOGS subject, then real lines.
	if _, err := js.Publish(ctx, "logs.workload.c.ns.wl", []byte("not a batch")); err != nil {
		t.Fatal(err)
	}
	pub, _ := pipeline.NewPublisher(nc)
	pub.Publish(ctx, logrec.Stream{Source: "workload", Cluster: "c", Namespace: "ns", Workload: "wl"}, []logrec.Record{{Message: "hello 1"}, {Message: "hello 2"}})
	pub.Flush(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for stats.Status().Processed != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v", stats.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
}
