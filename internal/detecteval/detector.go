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
	// Reversal: a familiar line with one word turned into its loss
	// ("Adding backend" learned, "Removing backend" seen); see reversal.go.
	Reversal bool `json:"reversal"`
}

func (v Verdict) evidence() evidence {
	lv := levelUnknown
	for i, n := range levelNames {
		if n == v.Level {
			lv = i
		}
	}
	return evidence{low: v.Low, novel: v.Novel, problemWord: v.Problem, reversal: v.Reversal, level: lv}
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
	rev    *reversals
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
	return newDetector(cfg, mk, mn, model, newReversals(collectFrames(masked))), nil
}

// DefaultCacheLines is the capacity of a detector's NuLog score cache.
const DefaultCacheLines = 1 << 16

func newDetector(cfg Config, mk Masker, mn Miner, model *nulog.Model, rev *reversals) *Detector {
	return &Detector{cfg: cfg, masker: mk, miner: mn, model: model, cache: nulog.NewCache(DefaultCacheLines), levels: newLevelParser(), rev: rev}
}

// Rule returns the rule the detector flags lines by.
func (d *Detector) Rule() Rule { return d.cfg.Rule }

// MaskConfig returns the masking the detector was trained with; lines must
// be masked the same way before Familiarity.
func (d *Detector) MaskConfig() mask.Config { return d.cfg.Mask }

// Mask masks a raw line as the detector was trained.
func (d *Detector) Mask(raw string) string { return d.masker.MaskString(raw) }

// Cache returns the detector's NuLog score cache (per masked line).
func (d *Detector) Cache() *nulog.Cache { return d.cache }

// SetCache replaces the score cache, e.g. with one loaded from the model
// store (nulog.LoadCache checks it was written for this model). Not safe
// while scoring.
func (d *Detector) SetCache(c *nulog.Cache) { d.cache = c }

// Familiarity is the half of the evidence that depends on the masked line
// alone, so callers may cache it per masked line.
type Familiarity struct {
	Score nulog.Score
	Low   bool // NuLog score below the calibrated threshold
	Novel bool // no template learned in training fits the line
	// Reversal is only computed for unfamiliar lines (Low or Novel).
	Reversal bool
}

// Familiarity scores a masked line (through the score cache) and matches
// it against the learned templates.
func (d *Detector) Familiarity(masked string) Familiarity {
	s, ok := d.cache.Get(masked)
	if !ok {
		s = d.model.ScoreLine(masked)
		d.cache.Put(masked, s)
	}
	return d.familiarity(masked, s)
}

func (d *Detector) familiarity(masked string, s nulog.Score) Familiarity {
	f := Familiarity{Score: s, Low: d.model.Anomaly(s), Novel: !d.miner.Known(masked)}
	if f.Low || f.Novel {
		f.Reversal = d.rev.Reverses(masked)
	}
	return f
}

// Flag applies the detector's rule to a raw line given its familiarity. It
// is Classify's verdict for one line. Every rule needs the line to be
// unfamiliar, so the raw line (severity, problem words) is only read then.
func (d *Detector) Flag(raw string, f Familiarity) bool {
	if !f.Low && !f.Novel {
		return false
	}
	return d.cfg.Rule.flag(d.verdict(raw, f).evidence())
}

func (d *Detector) verdict(raw string, f Familiarity) Verdict {
	v := Verdict{Score: f.Score, Low: f.Low, Novel: f.Novel, Reversal: f.Reversal}
	v.Level = levelNames[d.levels.level(raw)]
	v.Problem = hasProblemWord(strings.ToLower(raw))
	v.Flagged = d.cfg.Rule.flag(v.evidence())
	return v
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
		out[i] = d.verdict(raw[i], d.familiarity(masked[i], scores[i]))
	}
	return out, nil
}
