package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
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

// CalibratedScorer is a Scorer that decides by its own calibrated rule: it
// flags exactly the lines it scores below Threshold(). The inference service
// then labels by that threshold, not by Thresholds, and rescales the
// score piecewise-linearly so that the source's configured threshold
// separates the stored scores the same way (scores below the scorer's
// threshold map below the source's). So RESULTS keep one scale per source
// while the decision stays the one `lognats eval detect` measures.
type CalibratedScorer interface {
	Scorer
	Threshold() float32
}

// SelfCachingScorer is a Scorer that keeps its own per-masked-line cache
// because its verdict also reads the raw line (e.g. its declared
// severity); the inference service must not cache its scores by masked
// line.
type SelfCachingScorer interface {
	Scorer
	CachesLines()
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
	if res.TemplateID == 0 && res.Score == 0 {
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
	// unmatched counts masked lines no pretrained template fitted, per
	// source (only the Run goroutine uses it).
	unmatched map[string]map[string]seenLine
}

type seenLine struct {
	count float32
	last  int64 // log time of the last occurrence, unix seconds
}

// seenQuiet is how long a line must be absent to count as rare again: a
// failure that comes back after a quiet spell is news again.
const seenQuiet = 10 * 60

// unmatchedMax bounds the per-source counts; past it they start over.
const unmatchedMax = 200_000

func (in *Inference) seen(source string, masked []byte, t int64) float32 {
	if in.unmatched == nil {
		in.unmatched = map[string]map[string]seenLine{}
	}
	m := in.unmatched[source]
	if m == nil || len(m) >= unmatchedMax {
		m = map[string]seenLine{}
		in.unmatched[source] = m
	}
	sec := t / 1e9
	e := m[string(masked)]
	if t != 0 && e.last != 0 && sec-e.last > seenQuiet {
		e.count = 0
	}
	e.count++
	if t != 0 {
		e.last = sec
	}
	m[string(masked)] = e
	return e.count
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
	ack := newAcker(pub.js, 64)
	defer ack.close()
	var zbuf []byte
	return iterate(ctx, cons, in.Logger, func(msg jetstream.Msg) error {
		data, err := Payload(msg.Headers(), msg.Data(), zbuf)
		if msg.Headers().Get(HeaderEncoding) != "" {
			zbuf = data[:0] // reuse only our own decompression buffer
		}
		var s logrec.Stream
		var n int
		var rw logrec.ResultsWriter
		if err == nil {
			s, n, err = logrec.PeekResults(data)
		}
		if err == nil {
			l := in.labelerFor(s.Source)
			rw.Start(s, n, len(data)+n*4)
			// Lines pass through as bytes; only lines a model must read
			// become strings.
			err = logrec.WalkResults(data, func(_ *logrec.Stream, v *logrec.ResultView) {
				if v.Level != logrec.Undecided {
					rw.AddRaw(v.Time, v.Pod, v.Container, v.Message, v.TemplateID, v.Masked, v.Level, v.Score, v.DecidedBy)
					return
				}
				r := logrec.Result{TemplateID: v.TemplateID, Score: v.Score}
				if v.TemplateID == 0 && !l.needsText() {
					// No pretrained template fits: for the rule, the masked
					// line is its own template, rare until it repeats.
					r.Score = in.seen(s.Source, v.Masked, v.Time)
				}
				if l.needsText() {
					r.Record = logrec.Record{Pod: string(v.Pod), Container: string(v.Container), Message: string(v.Message)}
					if v.Time != 0 {
						r.Time = time.Unix(0, v.Time).UTC()
					}
					r.Masked = string(v.Masked)
				}
				l.decide(&r)
				rw.Add(v.Time, v.Pod, v.Container, v.Message, v.TemplateID, v.Masked, r.Level, r.Score, r.DecidedBy)
			})
		}
		if err != nil {
			in.Logger.Error("dropping undecodable PARSED batch", "seq", msgSeq(msg), "err", err)
			ack.add(nil, msg)
			return nil
		}
		id := msg.Headers().Get(jetstream.MsgIDHeader)
		if id == "" {
			id = fmt.Sprintf("parsed-%d", msgSeq(msg))
		}
		logsSeq, _ := strconv.ParseUint(msg.Headers().Get(HeaderLogsSeq), 10, 64)
		fut, err := pub.publishAsync(ResultsPrefix, "r-"+id, logsSeq, s, n, rw.Bytes())
		if err != nil {
			return fmt.Errorf("inference: %w", err)
		}
		ack.add(fut, msg)
		in.lines.Add(int64(n))
		return nil
	}, nil)
}

func (in *Inference) label(source string, rs []logrec.Result) {
	l := in.labelerFor(source)
	for i := range rs {
		if rs[i].Level == logrec.Undecided {
			l.decide(&rs[i])
		}
	}
}

// labeler decides lines of one source with the scorer serving it now.
type labeler struct {
	in         *Inference
	sc         Scorer
	th, own    float32
	selfCached bool
	calibrated bool
}

func (in *Inference) labelerFor(source string) labeler {
	l := labeler{in: in}
	if in.Scorers != nil {
		l.sc = in.Scorers.Scorer(source)
	}
	th, ok := in.Thresholds[source]
	if !ok {
		th = in.Thresholds[logrec.SourceWorkload]
	}
	l.th = th
	_, l.selfCached = l.sc.(SelfCachingScorer)
	if cs, ok := l.sc.(CalibratedScorer); ok {
		l.calibrated, l.own = true, cs.Threshold()
	}
	return l
}

// needsText says whether decide reads the line's text (a model does; the
// DRAIN rule needs only the template id and count).
func (l *labeler) needsText() bool { return l.sc != nil }

// decide labels one undecided line.
func (l *labeler) decide(r *logrec.Result) {
	in, sc := l.in, l.sc
	if sc == nil {
		r.Score = in.Rule.Score(r)
		r.DecidedBy = in.Rule.Name()
		r.Level = logrec.Normal
		if r.Score < RuleThreshold {
			r.Level = logrec.Anomaly
		}
		return
	}
	var score float32
	if l.selfCached {
		score = sc.Score(r)
		r.DecidedBy = sc.Name()
	} else {
		// A model's verdict depends only on the masked line, so
		// repeated lines are looked up, not scored again.
		var hit bool
		score, hit = in.cache.get(sc, r.Masked)
		if !hit {
			score = sc.Score(r)
			in.cache.put(sc, r.Masked, score)
			r.DecidedBy = sc.Name()
		} else {
			r.DecidedBy = "cache"
		}
	}
	r.Level = logrec.Normal
	if l.calibrated {
		if score < l.own {
			r.Level = logrec.Anomaly
		}
		r.Score = rescale(score, l.own, l.th)
		return
	}
	r.Score = score
	if score < l.th {
		r.Level = logrec.Anomaly
	}
}

// rescale maps a score s on a scale where own separates anomalies to the
// scale where th does, keeping 0, 1 and the order of scores.
func rescale(s, own, th float32) float32 {
	switch {
	case own <= 0 || own >= 1:
		return s
	case s < own:
		return s / own * th
	default:
		return th + (s-own)/(1-own)*(1-th)
	}
}

// lineCache maps masked lines to scores, one map per scorer, so the
// sources served by different scorers do not evict each other. A scorer is
// compared by identity (scorers are pointers or small comparable values),
// so a hot-swapped model starts a new map and the old one ages out. The
// total number of lines is bounded: when it is reached, the map of the
// scorer used least recently is dropped whole.
type lineCache struct {
	mu    sync.Mutex
	tick  uint64
	total int
	per   map[Scorer]*scorerLines
}

type scorerLines struct {
	used uint64
	m    map[string]float32
}

const lineCacheMax = 1 << 20

func (c *lineCache) get(sc Scorer, line string) (float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sl := c.per[sc]
	if sl == nil {
		return 0, false
	}
	c.tick++
	sl.used = c.tick
	v, ok := sl.m[line]
	return v, ok
}

func (c *lineCache) put(sc Scorer, line string, v float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.per == nil {
		c.per = make(map[Scorer]*scorerLines)
	}
	if c.total >= lineCacheMax {
		c.evictLocked()
	}
	sl := c.per[sc]
	if sl == nil {
		sl = &scorerLines{m: make(map[string]float32)}
		c.per[sc] = sl
	}
	c.tick++
	sl.used = c.tick
	if _, ok := sl.m[line]; !ok {
		c.total++
	}
	sl.m[line] = v
}

// evictLocked drops the least recently used scorer's map.
func (c *lineCache) evictLocked() {
	var oldest Scorer
	var sl *scorerLines
	for k, v := range c.per {
		if sl == nil || v.used < sl.used {
			oldest, sl = k, v
		}
	}
	if sl != nil {
		c.total -= len(sl.m)
		delete(c.per, oldest)
	}
}
