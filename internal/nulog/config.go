package nulog

import (
	"fmt"
	"runtime"
)

// Config holds the model sizes and the training settings. The zero value of
// any field means "use the default" (see DefaultConfig), so callers set only
// what they care about.
type Config struct {
	// Model sizes; they are stored with the model.
	Layers  int `json:"layers"`    // encoder layers
	Dim     int `json:"dim"`       // model width d
	Heads   int `json:"heads"`     // attention heads; must divide Dim
	FF      int `json:"ff"`        // feed-forward hidden width
	MaxLen  int `json:"max_len"`   // tokens per line including <CLS>
	MaxVoc  int `json:"max_vocab"` // vocabulary cap including special tokens
	MinFreq int `json:"min_freq"`  // occurrences a token needs to enter the vocabulary

	// Scoring settings; stored with the model.
	TopK int `json:"top_k"` // a masked token is predicted if its id is in the top k
	// TargetFPR is the share of held-out normal lines allowed below the
	// calibrated threshold.
	TargetFPR float64 `json:"target_fpr"`

	// Training settings; stored for the record only.
	Seed        uint64  `json:"seed"`
	Epochs      int     `json:"epochs"`       // upper bound on passes over the unique lines
	MaxExamples int     `json:"max_examples"` // upper bound on examples seen in total (time budget)
	BatchSize   int     `json:"batch_size"`
	LR          float64 `json:"lr"`
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
	MaskRate    float64 `json:"mask_rate"` // share of countable tokens masked per example (at least one)
	HoldOut     float64 `json:"hold_out"`  // share of input lines kept for calibration
	Workers     int     `json:"-"`         // goroutines for gradients and scoring; 0 = GOMAXPROCS
}

// DefaultConfig returns the defaults: a one-layer, 64-wide, four-head
// encoder over at most 32 tokens, sized so that 100,000 realistic log lines
// train within three minutes on two cores and scoring needs no GPU.
func DefaultConfig() Config {
	return Config{
		Layers: 1, Dim: 64, Heads: 4, FF: 128, MaxLen: 32, MaxVoc: 1000, MinFreq: 2,
		TopK: 5, TargetFPR: 0.01,
		Seed: 1, Epochs: 100, MaxExamples: 100_000, BatchSize: 32,
		LR: 2e-3, WeightDecay: 0.01, ClipNorm: 1.0, MaskRate: 0.15, HoldOut: 0.1,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setI := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	setI(&c.Layers, d.Layers)
	setI(&c.Dim, d.Dim)
	setI(&c.Heads, d.Heads)
	setI(&c.FF, d.FF)
	setI(&c.MaxLen, d.MaxLen)
	setI(&c.MaxVoc, d.MaxVoc)
	setI(&c.MinFreq, d.MinFreq)
	setI(&c.TopK, d.TopK)
	setF(&c.TargetFPR, d.TargetFPR)
	setI(&c.Epochs, d.Epochs)
	setI(&c.MaxExamples, d.MaxExamples)
	setI(&c.BatchSize, d.BatchSize)
	setF(&c.LR, d.LR)
	setF(&c.WeightDecay, d.WeightDecay)
	setF(&c.ClipNorm, d.ClipNorm)
	setF(&c.MaskRate, d.MaskRate)
	setF(&c.HoldOut, d.HoldOut)
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// Limits that keep a hostile or corrupt model file from asking for absurd
// allocations; they are far above anything lognats trains.
const (
	maxLayers = 16
	maxDim    = 1024
	maxFF     = 8192
	maxLenCap = 512
	maxVocCap = 1 << 18
)

// validateShape checks the sizes that determine tensor shapes.
func (c Config) validateShape() error {
	switch {
	case c.Layers < 1 || c.Layers > maxLayers:
		return fmt.Errorf("layers %d out of range 1..%d", c.Layers, maxLayers)
	case c.Dim < 2 || c.Dim > maxDim || c.Dim%2 != 0:
		return fmt.Errorf("dim %d must be even and in 2..%d", c.Dim, maxDim)
	case c.Heads < 1 || c.Dim%c.Heads != 0:
		return fmt.Errorf("heads %d must divide dim %d", c.Heads, c.Dim)
	case c.FF < 1 || c.FF > maxFF:
		return fmt.Errorf("ff %d out of range 1..%d", c.FF, maxFF)
	case c.MaxLen < 2 || c.MaxLen > maxLenCap:
		return fmt.Errorf("max_len %d out of range 2..%d", c.MaxLen, maxLenCap)
	case c.MaxVoc < numSpecial+1 || c.MaxVoc > maxVocCap:
		return fmt.Errorf("max_vocab %d out of range %d..%d", c.MaxVoc, numSpecial+1, maxVocCap)
	case c.TopK < 1:
		return fmt.Errorf("top_k %d must be positive", c.TopK)
	}
	return nil
}

// validateTraining checks the settings only training uses.
func (c Config) validateTraining() error {
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("batch_size %d must be positive", c.BatchSize)
	case c.LR <= 0 || c.WeightDecay < 0 || c.ClipNorm <= 0:
		return fmt.Errorf("lr %g, weight_decay %g and clip_norm %g must be positive", c.LR, c.WeightDecay, c.ClipNorm)
	case c.MaskRate <= 0 || c.MaskRate > 1:
		return fmt.Errorf("mask_rate %g out of (0,1]", c.MaskRate)
	case c.HoldOut < 0 || c.HoldOut >= 1:
		return fmt.Errorf("hold_out %g out of [0,1)", c.HoldOut)
	case c.TargetFPR <= 0 || c.TargetFPR >= 1:
		return fmt.Errorf("target_fpr %g out of (0,1)", c.TargetFPR)
	}
	return nil
}
