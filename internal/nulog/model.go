package nulog

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// Model is a trained NuLog model: tokenizer, float32 weights, top-k and the
// anomaly threshold. It is safe for concurrent use.
type Model struct {
	cfg       Config
	tok       *tokenizer
	specs     []tensorSpec
	flat      []float32
	w         *weights[float32]
	threshold float64
	stats     TrainStats

	tables *maskTables
	pool   sync.Pool // *scoreWS

	slowOnce sync.Once
	slowW    *weights[float64] // float64 copy for the multi-layer path
}

// Score is the outcome of scoring one line: how many of its non-numeric
// tokens the model predicted within its top k when each was masked in turn.
type Score struct {
	Correct int     `json:"correct"`
	Counted int     `json:"counted"`
	Value   float64 `json:"value"` // Correct/Counted, or 1 when nothing was counted
}

func newModel(cfg Config, tok *tokenizer, flat []float32) (*Model, error) {
	specs := tensorSpecs(cfg, len(tok.vocab))
	if len(flat) != totalSize(specs) {
		return nil, fmt.Errorf("model weights: have %d values, config needs %d", len(flat), totalSize(specs))
	}
	m := &Model{cfg: cfg, tok: tok, specs: specs, flat: flat}
	m.w = bindWeights(cfg, specs, flat)
	m.tables = newMaskTables(m)
	return m, nil
}

// Config returns the model's configuration (sizes, top-k, training settings).
func (m *Model) Config() Config { return m.cfg }

// TopK returns k: a masked token counts as predicted when its id is among
// the k highest-scoring ids.
func (m *Model) TopK() int { return m.cfg.TopK }

// Threshold returns the calibrated threshold: scores below it are anomalous.
func (m *Model) Threshold() float64 { return m.threshold }

// SetThreshold overrides the calibrated threshold (for example a per-source
// setting); it is saved with the model. Not safe to call while scoring.
func (m *Model) SetThreshold(t float64) { m.threshold = t }

// Stats returns how the model was trained.
func (m *Model) Stats() TrainStats { return m.stats }

// Vocab returns the vocabulary in id order.
func (m *Model) Vocab() []string { return m.tok.Vocab() }

// Anomaly reports whether s is below the model's threshold. A line with no
// countable token is never anomalous for this model.
func (m *Model) Anomaly(s Score) bool { return s.Counted > 0 && s.Value < m.threshold }

// ScoreLine scores one masked line.
func (m *Model) ScoreLine(line string) Score {
	ws, _ := m.pool.Get().(*scoreWS)
	if ws == nil {
		ws = newScoreWS(m)
	}
	s := ws.score(m, line)
	m.pool.Put(ws)
	return s
}

// ScoreLines scores masked lines on all workers (Config.Workers goroutines).
// With a non-nil cache, known lines are answered from it and new scores are
// added to it. The result is in input order and does not depend on the
// number of workers.
func (m *Model) ScoreLines(ctx context.Context, lines []string, cache *Cache) ([]Score, error) {
	out := make([]Score, len(lines))
	var next atomic.Int64
	var wg sync.WaitGroup
	nw := max(1, min(m.cfg.Workers, len(lines)))
	for range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := newScoreWS(m)
			// Lines are claimed in chunks: one shared counter bump per line
			// would cost more than a cache hit.
			for {
				lo := int(next.Add(scoreChunk) - scoreChunk)
				if lo >= len(lines) || ctx.Err() != nil {
					return
				}
				for i := lo; i < min(lo+scoreChunk, len(lines)); i++ {
					if cache != nil {
						if s, ok := cache.Get(lines[i]); ok {
							out[i] = s
							continue
						}
					}
					out[i] = ws.score(m, lines[i])
					if cache != nil {
						cache.Put(lines[i], out[i])
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nulog score: %w", err)
	}
	return out, nil
}

// scoreChunk is how many lines a scoring goroutine claims at a time.
const scoreChunk = 64

// calibrate sets the threshold to the largest score value such that at
// most TargetFPR of the held-out lines score below it. Held-out lines are
// what the model did not train on, so this bounds the false-positive rate
// on new normal data of the same kind. When fewer than 20 lines were held
// out the training lines are used instead (optimistic; recorded in stats).
func (m *Model) calibrate(ctx context.Context, held, train []string) error {
	src := "held-out"
	if len(held) < 20 {
		held, src = train, "training"
	}
	m.stats.CalibratedFrom = src
	u := dedupe(held)
	texts := make([]string, len(u))
	for i, l := range u {
		texts[i] = l.text
	}
	scores, err := m.ScoreLines(ctx, texts, nil)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	type sw struct {
		v float64
		n int
	}
	var pts []sw
	total, sum := 0, 0.0
	for i, s := range scores {
		if s.Counted == 0 {
			continue
		}
		pts = append(pts, sw{s.Value, u[i].count})
		total += u[i].count
		sum += s.Value * float64(u[i].count)
	}
	m.threshold = 0
	if total == 0 {
		return nil
	}
	m.stats.HeldOutMean = sum / float64(total)
	sort.Slice(pts, func(i, j int) bool { return pts[i].v < pts[j].v })
	allowed := m.cfg.TargetFPR * float64(total)
	below := 0
	// Walk distinct values upwards; a threshold equal to a value flags
	// everything strictly below it.
	for i := 0; i < len(pts); {
		v := pts[i].v
		if float64(below) > allowed {
			break
		}
		m.threshold = v
		for i < len(pts) && pts[i].v == v {
			below += pts[i].n
			i++
		}
	}
	return nil
}
