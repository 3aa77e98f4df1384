package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lognats/lognats/internal/detecteval"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/nulog"
)

// NuLogKind is the model store kind of the deep-learning detectors and
// NuLogCacheKind that of their persisted score caches.
const (
	NuLogKind      = "nulog"
	NuLogCacheKind = "nulog-cache"
)

// nuLogScope is the model scope serving a source: the pretrained sources
// have their own model, every other line (watched workloads) uses
// nulog/workload.
func nuLogScope(source string) string {
	for _, s := range pretrainedSources {
		if s == source {
			return s
		}
	}
	return logrec.SourceWorkload
}

// NuLogModel is the model store name of the detector serving a source.
func NuLogModel(source string) modelstore.Model {
	return modelstore.Model{Kind: NuLogKind, Scope: nuLogScope(source)}
}

// NuLogCacheModel is where the score cache of a source's detector is kept.
func NuLogCacheModel(source string) modelstore.Model {
	return modelstore.Model{Kind: NuLogCacheKind, Scope: nuLogScope(source)}
}

// NuLogOptions tune NuLogScorers; zero values take the defaults.
type NuLogOptions struct {
	Logger *slog.Logger
	// SaveEvery is how often a score cache that grew is written to the
	// store (default one minute); it is also written when ctx ends.
	SaveEvery time.Duration
	// OnLoad, if set, is called after each attempt to load a version:
	// err is nil when the version now serves.
	OnLoad func(ref modelstore.Ref, err error)
}

// NuLogScorers is the ScorerSource of the deep-learning detectors: for
// each scope it follows the current version of nulog/<scope>, loads it
// and swaps it in between batches. A version that fails to load is
// refused with an error log naming it, and the previous one keeps serving.
type NuLogScorers struct {
	store *modelstore.Store
	opts  NuLogOptions
	slots map[string]*nulogSlot // by scope; fixed after construction
	done  chan struct{}
}

type nulogSlot struct {
	model modelstore.Model
	cur   atomic.Pointer[NuLogScorer]
}

// NewNuLogScorers starts following every scope's model until ctx ends.
func NewNuLogScorers(ctx context.Context, store *modelstore.Store, opts NuLogOptions) (*NuLogScorers, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SaveEvery <= 0 {
		opts.SaveEvery = time.Minute
	}
	n := &NuLogScorers{store: store, opts: opts, slots: map[string]*nulogSlot{}, done: make(chan struct{})}
	var wg sync.WaitGroup
	for _, scope := range append(PretrainedSources(), logrec.SourceWorkload) {
		sl := &nulogSlot{model: NuLogModel(scope)}
		n.slots[scope] = sl
		events, err := store.Watch(ctx, &sl.model)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", sl.model, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.follow(ctx, sl, events)
		}()
	}
	go func() {
		wg.Wait()
		close(n.done)
	}()
	return n, nil
}

// Done is closed when every watcher has stopped and the caches were saved
// a last time (after ctx ends).
func (n *NuLogScorers) Done() <-chan struct{} { return n.done }

// Scorer implements ScorerSource: the scorer of the version serving the
// source, the same value for as long as that version serves, or nil while
// no version has loaded.
func (n *NuLogScorers) Scorer(source string) Scorer {
	sl := n.slots[nuLogScope(source)]
	if sl == nil {
		return nil
	}
	if s := sl.cur.Load(); s != nil {
		return s
	}
	return nil
}

func (n *NuLogScorers) follow(ctx context.Context, sl *nulogSlot, events <-chan modelstore.Event) {
	log := n.opts.Logger
	tick := time.NewTicker(n.opts.SaveEvery)
	defer tick.Stop()
	defer func() {
		// The cache is kept with the model: write it once more on the way
		// out, on a context of its own since ctx has ended.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		n.saveCache(sctx, sl)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n.saveCache(ctx, sl)
		case ev, ok := <-events:
			if !ok {
				return
			}
			ref := modelstore.Ref{Model: ev.Model, Version: ev.Version}
			if cur := sl.cur.Load(); cur != nil && cur.ref == ref {
				continue
			}
			sc, err := n.load(ctx, ref)
			if n.opts.OnLoad != nil {
				n.opts.OnLoad(ref, err)
			}
			if err != nil {
				prev := "none (the DRAIN rule serves)"
				if cur := sl.cur.Load(); cur != nil {
					prev = cur.ref.String()
				}
				log.Error("deep-learning model refused; previous version keeps serving", "model", ref.String(), "serving", prev, "err", err)
				continue
			}
			sl.cur.Store(sc)
			log.Info("deep-learning model loaded", "model", ref.String(), "cached_lines", sc.det.Cache().Len(), "threshold", sc.det.Model().Threshold())
		}
	}
}

// load reads and checks a version and its persisted score cache.
func (n *NuLogScorers) load(ctx context.Context, ref modelstore.Ref) (*NuLogScorer, error) {
	var buf bytes.Buffer
	if _, err := n.store.Get(ctx, ref, &buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}
	det, err := detecteval.Load(&buf)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	sc := newNuLogScorer(ref, det)
	cm := modelstore.Model{Kind: NuLogCacheKind, Scope: ref.Scope}
	buf.Reset()
	cv, err := n.store.Get(ctx, modelstore.Ref{Model: cm}, &buf)
	switch {
	case errors.Is(err, modelstore.ErrNotFound):
	case err != nil:
		n.opts.Logger.Warn("score cache not read; starting empty", "model", cm.String(), "err", err)
	default:
		c, err := nulog.LoadCache(&buf, det.Model(), detecteval.DefaultCacheLines)
		if err != nil {
			// Usually a cache written for the previous weights.
			n.opts.Logger.Info("score cache not used", "cache", cv.Ref.String(), "model", ref.String(), "err", err)
			break
		}
		det.SetCache(c)
		sc.saved.Store(int64(c.Len()))
	}
	return sc, nil
}

// saveCache writes the serving scorer's score cache if it grew since the
// last save.
func (n *NuLogScorers) saveCache(ctx context.Context, sl *nulogSlot) {
	sc := sl.cur.Load()
	if sc == nil {
		return
	}
	c := sc.det.Cache()
	size := int64(c.Len())
	if size == sc.saved.Load() {
		return
	}
	var buf bytes.Buffer
	if err := c.Save(&buf, sc.det.Model()); err != nil {
		n.opts.Logger.Warn("score cache not saved", "model", sc.ref.String(), "err", err)
		return
	}
	cm := modelstore.Model{Kind: NuLogCacheKind, Scope: sc.ref.Scope}
	_, err := n.store.Put(ctx, cm, &buf, modelstore.PutOptions{
		Format: "lognats-nulog-cache", FormatVersion: 1,
		Meta: map[string]string{"model": sc.ref.String(), "lines": strconv.FormatInt(size, 10)},
	})
	if err != nil {
		n.opts.Logger.Warn("score cache not saved", "cache", cm.String(), "model", sc.ref.String(), "err", err)
		return
	}
	sc.saved.Store(size)
}

// NuLogScorer serves one loaded detector version. Its score is on a scale
// where CalibratedThreshold separates the lines the detector's rule flags:
// a flagged line scores NuLog value/2 (below 0.5), any other line
// 0.5 + value/2, so the decision is exactly detecteval's and the NuLog
// score still orders lines within each side.
type NuLogScorer struct {
	ref    modelstore.Ref
	name   string
	det    *detecteval.Detector
	remask bool
	fam    famCache
	saved  atomic.Int64 // cache lines at the last save
}

// CalibratedThreshold is the NuLogScorer's decision boundary.
const CalibratedThreshold = 0.5

func newNuLogScorer(ref modelstore.Ref, det *detecteval.Detector) *NuLogScorer {
	mc := det.MaskConfig()
	s := &NuLogScorer{ref: ref, name: ref.String(), det: det, remask: len(mc.Disable) > 0 || len(mc.Rules) > 0}
	s.fam.init(detecteval.DefaultCacheLines)
	return s
}

// NewNuLogScorer wraps a detector (e.g. one just trained) as a Scorer named
// by ref.
func NewNuLogScorer(ref modelstore.Ref, det *detecteval.Detector) *NuLogScorer {
	return newNuLogScorer(ref, det)
}

// Name implements Scorer: the model version, e.g. nulog/longhorn@v3.
func (s *NuLogScorer) Name() string { return s.name }

// Ref is the model version the scorer serves.
func (s *NuLogScorer) Ref() modelstore.Ref { return s.ref }

// Threshold implements CalibratedScorer.
func (s *NuLogScorer) Threshold() float32 { return CalibratedThreshold }

// CachesLines implements SelfCachingScorer: the verdict reads the raw line.
func (s *NuLogScorer) CachesLines() {}

// Score implements Scorer.
func (s *NuLogScorer) Score(r *logrec.Result) float32 { return s.ScoreLine(r.Message, r.Masked) }

// ScoreLine scores a raw line given its masking by the default masker.
func (s *NuLogScorer) ScoreLine(raw, masked string) float32 {
	if s.remask {
		// The pipeline masks with the default rules; this detector was
		// trained with others.
		masked = s.det.Mask(raw)
	}
	f, ok := s.fam.get(masked)
	if !ok {
		f = s.det.Familiarity(masked)
		s.fam.put(masked, f)
	}
	v := float32(f.Score.Value)
	if s.det.Flag(raw, f) {
		return min(v/2, CalibratedThreshold-1e-3)
	}
	return CalibratedThreshold + v/2
}

// famCache remembers the per-masked-line evidence; a shard that fills up
// is cleared (the NuLog scores behind it stay in the detector's cache).
type famCache struct {
	seed     maphash.Seed
	perShard int
	shards   [16]famShard
}

type famShard struct {
	mu sync.RWMutex
	m  map[string]detecteval.Familiarity
}

func (c *famCache) init(capacity int) {
	c.seed = maphash.MakeSeed()
	c.perShard = max(1, capacity/len(c.shards))
	for i := range c.shards {
		c.shards[i].m = make(map[string]detecteval.Familiarity)
	}
}

func (c *famCache) shard(line string) *famShard {
	return &c.shards[maphash.String(c.seed, line)%uint64(len(c.shards))]
}

func (c *famCache) get(line string) (detecteval.Familiarity, bool) {
	sh := c.shard(line)
	sh.mu.RLock()
	f, ok := sh.m[line]
	sh.mu.RUnlock()
	return f, ok
}

func (c *famCache) put(line string, f detecteval.Familiarity) {
	sh := c.shard(line)
	sh.mu.Lock()
	if len(sh.m) >= c.perShard {
		clear(sh.m)
	}
	sh.m[line] = f
	sh.mu.Unlock()
}
