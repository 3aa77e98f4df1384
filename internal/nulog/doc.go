// Package nulog is lognats' deep-learning log model: a small transformer
// encoder trained with NuLog's self-supervised objective (Nedelkoski et al.
// 2020, "Self-Supervised Log Parsing"): a token of a masked log line is
// replaced by <MASK> and the model learns to predict it from the rest of the
// line. A line whose tokens the model cannot predict is unlike the lines it
// was trained on and is reported as an anomaly.
//
// The package is pure Go on gonum (no cgo, no downloads). Training runs in
// float64 so every layer's backward pass can be checked against finite
// differences; the trained weights are rounded to float32, which is both the
// stored form (see docs/formats/nulog-model.md) and the form inference runs
// on, so a model scores identically before saving and after loading.
//
// Inputs are lines already masked by lognats' masker (numbers, IPs,
// timestamps replaced by <NUM>, <IP>, <TS>...); the tokenizer lower-cases
// them and maps any remaining token containing a digit to <NUM>.
package nulog
