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

// Cluster labels a pretrained DRAIN model carries.
const (
	LabelNormal  = "normal"
	LabelAnomaly = "anomaly"
)

// PretrainedModel is the model the pretrained DRAIN uses for a source.
func PretrainedModel(source string) modelstore.Model {
	return modelstore.Model{Kind: "drain", Scope: "pretrained-" + source}
}

// PretrainedSources are the sources with pretrained models.
var pretrainedSources = [...]string{logrec.SourceControlPlane, logrec.SourceRancher, logrec.SourceLonghorn}

// PretrainedSources returns the sources served by the pretrained DRAIN.
func PretrainedSources() []string { return append([]string(nil), pretrainedSources[:]...) }

// PretrainedDrain matches control-plane, Rancher and Longhorn lines against
// labelled templates. A labelled match decides the line; the rest go on to
// inference with the template id (0 when no template fits). It keeps no
// state of its own, so copies share its durable consumers.
type PretrainedDrain struct {
	NC      *nats.Conn
	Store   *modelstore.Store
	Masker  *mask.Masker
	Sources []string // default all three
	Logger  *slog.Logger

	lines atomic.Int64
}

// Lines reports progress.
func (p *PretrainedDrain) Lines() int64 { return p.lines.Load() }

// ConsumerPretrained is the durable consumer name for a source.
func ConsumerPretrained(source string) string { return "drain-pretrained-" + source }

// Run serves every source until ctx ends.
func (p *PretrainedDrain) Run(ctx context.Context) error {
	if p.Masker == nil {
		p.Masker = mask.Default()
	}
	if len(p.Sources) == 0 {
		p.Sources = PretrainedSources()
	}
	errc := make(chan error, len(p.Sources))
	for _, src := range p.Sources {
		go func() { errc <- p.runSource(ctx, src) }()
	}
	var errs []error
	for range p.Sources {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loadPretrained reads and parses a pretrained DRAIN model version.
func loadPretrained(ctx context.Context, store *modelstore.Store, ref modelstore.Ref) (*drain.Drain, error) {
	var buf bytes.Buffer
	if _, err := store.Get(ctx, ref, &buf); err != nil {
		return nil, err
	}
	d, err := drain.Load(&buf)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	return d, nil
}

func (p *PretrainedDrain) runSource(ctx context.Context, source string) error {
	var model atomic.Pointer[pretrained]
	m := PretrainedModel(source)
	events, err := p.Store.Watch(ctx, &m)
	if err != nil {
		return err
	}
	// Hot swap: a new current version replaces the model between batches;
	// a version that fails to load leaves the previous one serving.
	loaded := make(chan struct{}, 1)
	go func() {
		for ev := range events {
			d, err := loadPretrained(ctx, p.Store, modelstore.Ref{Model: ev.Model, Version: ev.Version})
			if err != nil {
				p.Logger.Error("pretrained DRAIN model not loaded; previous one keeps serving", "model", m.String(), "version", ev.Version, "err", err)
				continue
			}
			model.Store(newPretrained(d))
			if js, err := jetstream.New(p.NC); err == nil {
				publishTemplates(ctx, js, "pretrained-"+source, d.Len())
			}
			p.Logger.Info("pretrained DRAIN model loaded", "model", m.String(), "version", ev.Version, "templates", d.Len())
			select {
			case loaded <- struct{}{}:
			default:
			}
		}
	}()
	// Give an existing model a moment to load before the first batch.
	select {
	case <-loaded:
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}
	js, err := jetstream.New(p.NC)
	if err != nil {
		return err
	}
	cons, err := durable(ctx, js, LogsStream, ConsumerPretrained(source), LogsPrefix+"."+logrec.Token(source)+".>")
	if err != nil {
		return err
	}
	pub, err := newResultPublisher(p.NC)
	if err != nil {
		return err
	}
	lm := &logsMiner{masker: p.Masker}
	ack := newAcker(pub.js, 256)
	defer ack.close()
	return iterate(ctx, cons, p.Logger, func(msg jetstream.Msg) error {
		pm := model.Load()
		mseq := msgSeq(msg)
		s, n, out, err := lm.transcode(msg, func(masked []byte) verdict {
			var vd verdict
			if pm == nil {
				return vd
			}
			res, ok := pm.d.MatchBytes(masked, drain.SearchFallback)
			if !ok || !pm.specific[res.ClusterID] {
				// No template, or one that is mostly wildcards and fits
				// nearly any line of its length: no evidence for a verdict.
				return vd
			}
			vd.templateID, vd.score = uint64(res.ClusterID), float32(res.Size)
			switch pm.labels[res.ClusterID] {
			case LabelAnomaly:
				vd.level, vd.score, vd.decidedBy = logrec.Anomaly, 0, "drain-pretrained"
			case LabelNormal:
				vd.level, vd.score, vd.decidedBy = logrec.Normal, 1, "drain-pretrained"
			}
			return vd
		})
		if err != nil {
			p.Logger.Error("dropping undecodable LOGS batch", "seq", mseq, "err", err)
			ack.add(nil, msg)
			return nil
		}
		fut, err := pub.publishAsync(ParsedPrefix, "p-"+strconv.FormatUint(mseq, 10), mseq, s, n, out)
		if err != nil {
			return fmt.Errorf("pretrained DRAIN %s: %w", source, err)
		}
		// The input is acknowledged only once its output is stored.
		ack.add(fut, msg)
		p.lines.Add(int64(n))
		return nil
	}, nil)
}

// pretrained is a loaded model with its labels indexed, so matching a line
// costs no copy of the cluster.
type pretrained struct {
	d      *drain.Drain
	labels map[int64]string // only specific templates carry a label here
	// specific marks templates with at least half their tokens constant.
	specific map[int64]bool
}

func newPretrained(d *drain.Drain) *pretrained {
	p := &pretrained{d: d, labels: map[int64]string{}, specific: map[int64]bool{}}
	param := d.Config().ParamString
	for _, c := range d.Clusters() {
		constant := 0
		for _, t := range c.Tokens {
			if t != param {
				constant++
			}
		}
		if constant == 0 || 2*constant < len(c.Tokens) {
			continue
		}
		p.specific[c.ID] = true
		if c.Label != "" {
			p.labels[c.ID] = c.Label
		}
	}
	return p
}
