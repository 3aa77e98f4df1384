package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/mask"
	"github.com/lognats/lognats/internal/modelstore"
)

// WorkloadModel is where the workload DRAIN keeps its snapshots.
var WorkloadModel = modelstore.Model{Kind: "drain", Scope: "workload"}

// Snapshot metadata keys.
const (
	MetaLogsSeq   = "logs_seq"
	MetaLines     = "lines"
	MetaTemplates = "templates"
)

// WorkloadDrain mines templates from every workload's lines. It is a
// singleton: its model is the state, snapshotted into the model store with
// the LOGS sequence it covers. After a crash it loads the snapshot and
// replays from the next sequence; the replayed PARSED batches carry the same
// message ids as before and JetStream drops them, so no line counts twice.
type WorkloadDrain struct {
	NC            *nats.Conn
	Store         *modelstore.Store
	Masker        *mask.Masker
	Config        drain.Config
	SnapshotLines int64         // default 1,000,000
	SnapshotEvery time.Duration // default 2m (with 5 kept versions, 10 minutes of history)
	Logger        *slog.Logger

	lines     atomic.Int64
	templates atomic.Int64
}

// Lines and Templates report progress.
func (w *WorkloadDrain) Lines() int64     { return w.lines.Load() }
func (w *WorkloadDrain) Templates() int64 { return w.templates.Load() }

// ConsumerWorkload is the durable consumer name of the workload DRAIN.
const ConsumerWorkload = "drain-workload"

func (w *WorkloadDrain) load(ctx context.Context) (*drain.Drain, uint64, error) {
	hist, err := w.Store.History(ctx, WorkloadModel)
	if err != nil {
		return nil, 0, err
	}
	// The current snapshot first, then older ones newest first: a damaged
	// snapshot costs a longer replay, never the model.
	order := make([]modelstore.Version, 0, len(hist))
	for _, v := range hist {
		if v.Current {
			order = append(order, v)
		}
	}
	for _, v := range hist {
		if !v.Current {
			order = append(order, v)
		}
	}
	for _, v := range order {
		var buf bytes.Buffer
		if _, err := w.Store.Get(ctx, v.Ref, &buf); err != nil {
			w.Logger.Error("workload DRAIN snapshot unreadable, trying an older one", "ref", v.Ref.String(), "err", err)
			continue
		}
		d, err := drain.Load(&buf)
		if err != nil {
			w.Logger.Error("workload DRAIN snapshot invalid, trying an older one", "ref", v.Ref.String(), "err", err)
			continue
		}
		seq, _ := strconv.ParseUint(v.Meta[MetaLogsSeq], 10, 64)
		lines, _ := strconv.ParseInt(v.Meta[MetaLines], 10, 64)
		w.lines.Store(lines)
		w.Logger.Info("workload DRAIN loaded", "ref", v.Ref.String(), "templates", d.Len(), "logs_seq", seq)
		return d, seq, nil
	}
	d, err := drain.New(w.Config)
	return d, 0, err
}

// Run consumes until ctx ends, then writes a last snapshot.
func (w *WorkloadDrain) Run(ctx context.Context) error {
	if w.SnapshotLines == 0 {
		w.SnapshotLines = 1_000_000
	}
	if w.SnapshotEvery == 0 {
		w.SnapshotEvery = 2 * time.Minute
	}
	if w.Masker == nil {
		w.Masker = mask.Default()
	}
	if w.Config.Depth == 0 {
		w.Config = drain.DefaultConfig()
	}
	d, seq, err := w.load(ctx)
	if err != nil {
		return fmt.Errorf("workload DRAIN: load model: %w", err)
	}
	w.templates.Store(int64(d.Len()))
	js, err := jetstream.New(w.NC)
	if err != nil {
		return err
	}
	// Recreate the durable at the snapshot's position: what the server
	// remembers past that point belongs to a model that was lost.
	_ = js.DeleteConsumer(ctx, LogsStream, ConsumerWorkload)
	cc := jetstream.ConsumerConfig{
		Durable:       ConsumerWorkload,
		FilterSubject: LogsPrefix + "." + logrec.SourceWorkload + ".>",
		AckPolicy:     jetstream.AckAllPolicy,
		MaxAckPending: -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if seq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, LogsStream, cc)
	if err != nil {
		return fmt.Errorf("workload DRAIN: create consumer: %w", err)
	}
	pub, err := newResultPublisher(w.NC)
	if err != nil {
		return err
	}
	ack := newAcker(pub.js, 256)
	defer ack.close()
	lm := &logsMiner{masker: w.Masker}
	var (
		sinceSnap int64
		lastSnap  = time.Now()
		dirty     bool
	)
	snapshot := func(sctx context.Context) error {
		if !dirty {
			return nil
		}
		if err := ack.flush(sctx); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := d.Save(&buf); err != nil {
			return fmt.Errorf("save workload DRAIN: %w", err)
		}
		v, err := w.Store.Put(sctx, WorkloadModel, &buf, modelstore.PutOptions{
			Format: drain.SnapshotFormat, FormatVersion: drain.SnapshotVersion,
			Meta: map[string]string{MetaLogsSeq: strconv.FormatUint(seq, 10), MetaLines: strconv.FormatInt(w.lines.Load(), 10), MetaTemplates: strconv.Itoa(d.Len())},
		})
		if err != nil {
			return fmt.Errorf("store workload DRAIN snapshot: %w", err)
		}
		publishTemplates(sctx, js, "workload", d.Len())
		w.Logger.Info("workload DRAIN snapshot", "ref", v.Ref.String(), "templates", d.Len(), "logs_seq", seq)
		sinceSnap, lastSnap, dirty = 0, time.Now(), false
		return nil
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := snapshot(sctx); err != nil {
			w.Logger.Error("final workload DRAIN snapshot failed; lines since the last one will be replayed", "err", err)
		}
	}()
	var reported int
	var reportedAt time.Time
	maybeSnapshot := func() {
		// `lognats status` reads the template count from the state bucket;
		// keep it fresh between snapshots, at most once a second.
		if n := d.Len(); n != reported && time.Since(reportedAt) >= time.Second {
			publishTemplates(ctx, js, "workload", n)
			reported, reportedAt = n, time.Now()
		}
		if dirty && (sinceSnap >= w.SnapshotLines || time.Since(lastSnap) >= w.SnapshotEvery) {
			if err := snapshot(ctx); err != nil && ctx.Err() == nil {
				w.Logger.Error("workload DRAIN snapshot failed", "err", err)
			}
		}
	}
	err = iterate(ctx, cons, w.Logger, func(m jetstream.Msg) error {
		mseq := msgSeq(m)
		s, n, out, err := lm.transcode(m, func(masked []byte) verdict {
			res := d.AddBytes(masked)
			return verdict{templateID: uint64(res.ClusterID), score: float32(res.Size)}
		})
		if err != nil {
			// Lines of a damaged batch read before the damage were mined;
			// none is passed on, since the batch is not whole.
			w.Logger.Error("dropping undecodable LOGS batch", "seq", mseq, "subject", m.Subject(), "err", err)
			ack.add(nil, m)
			seq, dirty = mseq, true
			return nil
		}
		fut, err := pub.publishAsync(ParsedPrefix, "w-"+strconv.FormatUint(mseq, 10), mseq, s, n, out)
		if err != nil {
			return fmt.Errorf("workload DRAIN: %w", err)
		}
		ack.add(fut, m)
		seq, dirty = mseq, true
		w.lines.Add(int64(n))
		w.templates.Store(int64(d.Len()))
		sinceSnap += int64(n)
		maybeSnapshot()
		return nil
	}, maybeSnapshot)
	if err != nil {
		return err
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}

// publishTemplates records a template count for `lognats status`.
func publishTemplates(ctx context.Context, js jetstream.JetStream, scope string, n int) {
	kv, err := js.KeyValue(ctx, StateBucket)
	if err != nil {
		return
	}
	_, _ = kv.Put(ctx, "templates."+scope, []byte(strconv.Itoa(n)))
}
