// Package detecteval is lognats' anomaly detector for one log source and
// the evaluation behind `lognats eval detect`.
//
// A Detector is what lognats trains for a source: the masker
// (internal/mask), DRAIN templates (internal/drain) and a NuLog model
// (internal/nulog). Each line gets evidence — NuLog score below the
// model's calibrated threshold, no learned template fits, declared
// severity, words of a general problem lexicon — and a Rule turns the
// evidence into a flag. The default rule flags lines that are unfamiliar
// and say something is wrong; docs/benchmarks.md compares the rules.
//
// Run trains on labelled files and reports episode recall, false-positive
// rate, precision and recall on error/fatal failure lines, scoring speed
// and training time. A file given for both training and testing is split
// by Split (by default the first 70 lines of every 100 train).
package detecteval
