package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/logrec"
)

// Scorer scores a mined line that no pretrained template decided. Higher
// scores are more normal; the line is an anomaly below the threshold.
type Scorer interface {
	Name() string
	Score(r *logrec.Result) float32
}

// ScorerSource gives the scorer currently serving a source (nil: none); the
// inference service asks per batch, so a hot-swapped model takes effect at
// the next batch.
type ScorerSource interface {
	Scorer(source string) Scorer
}

// RareTemplateRule is the DRAIN-based rule used until a deep-learning model
// serves a source: a line whose template is new (no template fits, or the
// template has been seen at most MaxCount times when the line was mined) is
// an anomaly. The score is (size-1)/(2*MaxCount), capped at 1, so sizes up
// to MaxCount score below RuleThreshold (0.5) and larger ones at or above.
type RareTemplateRule struct {
	MaxCount float32
}

// Name implements Scorer.
func (r RareTemplateRule) Name() string { return "rule:rare-template" }

// Score implements Scorer.
func (r RareTemplateRule) Score(res *logrec.Result) float32 {
	if res.TemplateID == 0 {
		return 0
	}
	maxc := r.MaxCount
	if maxc <= 0 {
		maxc = 1
	}
	return min(1, max(0, res.Score-1)/(2*maxc))
}

// Thresholds are per-source anomaly thresholds; a score below is an anomaly.
type Thresholds map[string]float32

// DefaultThresholds follow Opni's scale: 0.6 control plane, 0.6 Rancher,
// 0.8 Longhorn, 0.7 workloads. The rare-template rule's scores straddle
// 0.5, so the rule uses RuleThreshold instead.
func DefaultThresholds() Thresholds {
	return Thresholds{logrec.SourceControlPlane: 0.6, logrec.SourceRancher: 0.6, logrec.SourceLonghorn: 0.8, logrec.SourceWorkload: 0.7}
}

// RuleThreshold separates the rare-template rule's scores.
const RuleThreshold = 0.5

// ConsumerInference is the durable consumer all inference copies share.
const ConsumerInference = "inference"

// Inference labels every undecided line and publishes RESULTS. Copies of it
// bound to the same durable consumer split the work; results carry the id
// of the batch they came from, so a redelivered batch is not stored twice.
type Inference struct {
	NC         *nats.Conn
	Scorers    ScorerSource // nil: the rule for every source
	Rule       RareTemplateRule
	Thresholds Thresholds
	Logger     *slog.Logger

	lines atomic.Int64
	cache lineCache
}

// Lines reports progress.
func (in *Inference) Lines() int64 { return in.lines.Load() }

// Run consumes PARSED until ctx ends.
func (in *Inference) Run(ctx context.Context) error {
	if in.Thresholds == nil {
		in.Thresholds = DefaultThresholds()
	}
	js, err := jetstream.New(in.NC)
	if err != nil {
		return err
	}
	cons, err := durable(ctx, js, ParsedStream, ConsumerInference, ParsedPrefix+".>")
	if err != nil {
		return err
	}
	pub, err := newResultPublisher(in.NC)
	if err != nil {
		return err
	}
	var rs []logrec.Result
	for ctx.Err() == nil {
		msgs, err := fetch(ctx, cons, 8, 500*time.Millisecond)
		if err != nil && ctx.Err() == nil {
			in.Logger.Warn("inference fetch", "err", err)
			sleepCtx(ctx, 200*time.Millisecond)
		}
		if len(msgs) == 0 {
			continue
		}
		for _, msg := range msgs {
			s, out, err := logrec.DecodeResults(msg.Data(), rs[:0])
			rs = out
			if err != nil {
				in.Logger.Error("dropping undecodable PARSED batch", "seq", msgSeq(msg), "err", err)
				continue
			}
			in.label(s.Source, rs)
			id := msg.Headers().Get(jetstream.MsgIDHeader)
			if id == "" {
				id = fmt.Sprintf("parsed-%d", msgSeq(msg))
			}
			var logsSeq uint64
			fmt.Sscan(msg.Headers().Get(HeaderLogsSeq), &logsSeq)
			if err := pub.publish(ResultsPrefix, "r-"+id, logsSeq, s, rs); err != nil {
				return fmt.Errorf("inference: %w", err)
			}
			in.lines.Add(int64(len(rs)))
		}
		if err := pub.wait(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			in.Logger.Warn("inference publish", "err", err)
			continue
		}
		for _, msg := range msgs {
			_ = msg.Ack()
		}
	}
	return nil
}

func (in *Inference) label(source string, rs []logrec.Result) {
	var sc Scorer
	if in.Scorers != nil {
		sc = in.Scorers.Scorer(source)
	}
	th, ok := in.Thresholds[source]
	if !ok {
		th = in.Thresholds[logrec.SourceWorkload]
	}
	for i := range rs {
		r := &rs[i]
		if r.Level != logrec.Undecided {
			continue
		}
		if sc == nil {
			r.Score = in.Rule.Score(r)
			r.DecidedBy = in.Rule.Name()
			r.Level = logrec.Normal
			if r.Score < RuleThreshold {
				r.Level = logrec.Anomaly
			}
			continue
		}
		// A model's verdict depends only on the masked line, so repeated
		// lines are looked up, not scored again.
		score, hit := in.cache.get(sc, r.Masked)
		if !hit {
			score = sc.Score(r)
			in.cache.put(sc, r.Masked, score)
			r.DecidedBy = sc.Name()
		} else {
			r.DecidedBy = "cache"
		}
		r.Score = score
		r.Level = logrec.Normal
		if score < th {
			r.Level = logrec.Anomaly
		}
	}
}

// lineCache maps masked lines to scores for the scorer that produced them;
// it is dropped whole when the scorer changes (a new model version).
type lineCache struct {
	mu     sync.Mutex
	scorer Scorer
	m      map[string]float32
}

const lineCacheMax = 1 << 20

func (c *lineCache) get(sc Scorer, line string) (float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scorer != sc {
		return 0, false
	}
	v, ok := c.m[line]
	return v, ok
}

func (c *lineCache) put(sc Scorer, line string, v float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scorer != sc || c.m == nil || len(c.m) >= lineCacheMax {
		c.scorer, c.m = sc, make(map[string]float32)
	}
	c.m[line] = v
}
