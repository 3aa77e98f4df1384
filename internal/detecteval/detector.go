package detecteval

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/mask"
	"github.com/lognats/lognats/internal/nulog"
)

// Masker turns a raw line into a masked line (internal/mask satisfies it).
type Masker interface {
	MaskString(line string) string
}

// Miner is the template miner a detector uses (internal/drain satisfies it
// through drainMiner): Learn adds a training line, Known reports whether a
// line fits a learned template without changing the model.
type Miner interface {
	Learn(masked string)
	Known(masked string) bool
}

// drainMiner adapts *drain.Drain. Match reuses scratch buffers, so Known
// takes a lock.
type drainMiner struct {
	mu sync.Mutex
	d  *drain.Drain
}

func (m *drainMiner) Learn(s string) { m.d.Add(s) }

func (m *drainMiner) Known(s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.d.Match(s, drain.SearchFallback)
	return ok
}

// Config selects what a detector is built from.
type Config struct {
	Model nulog.Config
	Drain drain.Config
	Mask  mask.Config
	// Rule decides which lines are flagged; see Rule.
	Rule Rule
}

// DefaultConfig is what lognats uses for a source.
func DefaultConfig() Config {
	return Config{Model: nulog.DefaultConfig(), Drain: drain.DefaultConfig(), Rule: RuleDefault}
}

// Verdict is the detector's judgement of one line and the evidence for it.
type Verdict struct {
	Flagged bool        `json:"flagged"`
	Score   nulog.Score `json:"score"`
	Low     bool        `json:"low_score"`    // NuLog score below the calibrated threshold
	Novel   bool        `json:"novel"`        // no template learned in training fits the line
	Level   string      `json:"level"`        // severity the line declares, "" if none
	Problem bool        `json:"problem_word"` // the line uses a word of the problem lexicon
}

func (v Verdict) evidence() evidence {
	lv := levelUnknown
	for i, n := range levelNames {
		if n == v.Level {
			lv = i
		}
	}
	return evidence{low: v.Low, novel: v.Novel, problemWord: v.Problem, level: lv}
}

// Detector is everything lognats trains for one source: masker, DRAIN
// templates and the NuLog model.
type Detector struct {
	cfg    Config
	masker Masker
	miner  Miner
	model  *nulog.Model
	cache  *nulog.Cache
	levels *levelParser
}

// Train builds a detector from the raw training lines of a source, in log
// order. progress receives the NuLog training progress (may be nil).
func Train(ctx context.Context, raw []string, cfg Config, progress func(nulog.Progress)) (*Detector, error) {
	mk, err := mask.New(cfg.Mask)
	if err != nil {
		return nil, fmt.Errorf("detector masker: %w", err)
	}
	dr, err := drain.New(cfg.Drain)
	if err != nil {
		return nil, fmt.Errorf("detector drain: %w", err)
	}
	return TrainWith(ctx, raw, cfg, mk, &drainMiner{d: dr}, progress)
}

// TrainWith is Train with a given masker and template miner.
func TrainWith(ctx context.Context, raw []string, cfg Config, mk Masker, mn Miner, progress func(nulog.Progress)) (*Detector, error) {
	masked := make([]string, len(raw))
	for i, l := range raw {
		masked[i] = mk.MaskString(l)
		mn.Learn(masked[i])
	}
	model, err := nulog.Train(ctx, masked, cfg.Model, progress)
	if err != nil {
		return nil, fmt.Errorf("detector model: %w", err)
	}
	return &Detector{cfg: cfg, masker: mk, miner: mn, model: model, cache: nulog.NewCache(1 << 16), levels: newLevelParser()}, nil
}

// Model returns the trained NuLog model.
func (d *Detector) Model() *nulog.Model { return d.model }

// Classify judges raw lines.
func (d *Detector) Classify(ctx context.Context, raw []string) ([]Verdict, error) {
	masked := make([]string, len(raw))
	for i, l := range raw {
		masked[i] = d.masker.MaskString(l)
	}
	scores, err := d.model.ScoreLines(ctx, masked, d.cache)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	out := make([]Verdict, len(raw))
	for i := range raw {
		v := Verdict{Score: scores[i], Low: d.model.Anomaly(scores[i]), Novel: !d.miner.Known(masked[i])}
		lv := d.levels.level(raw[i])
		v.Level = levelNames[lv]
		v.Problem = hasProblemWord(strings.ToLower(raw[i]))
		v.Flagged = d.cfg.Rule.flag(v.evidence())
		out[i] = v
	}
	return out, nil
}
