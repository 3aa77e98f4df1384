package nulog

import (
	"context"
	"testing"
)

// Benchmarks on synthetic masked lines; bench/nulogspeed measures on real
// logs.

func benchModel(b *testing.B) (*Model, []string) {
	b.Helper()
	lines := synthLines(3000, 3)
	cfg := Config{Epochs: 2, Seed: 1}
	m, err := Train(context.Background(), lines, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	return m, lines
}

// BenchmarkTrainExamples reports training throughput of the default-size
// model in examples (line passes) per second.
func BenchmarkTrainExamples(b *testing.B) {
	lines := synthLines(20000, 3)
	b.ResetTimer()
	ex := 0
	for b.Loop() {
		m, err := Train(context.Background(), lines, Config{Epochs: 3, Seed: 1, MinFreq: 1}, nil)
		if err != nil {
			b.Fatal(err)
		}
		ex += m.Stats().Examples
	}
	b.ReportMetric(float64(ex)/b.Elapsed().Seconds(), "examples/s")
}

func BenchmarkScoreUncached(b *testing.B) {
	m, lines := benchModel(b)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if _, err := m.ScoreLines(context.Background(), lines, nil); err != nil {
			b.Fatal(err)
		}
		n += len(lines)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkScoreCached(b *testing.B) {
	m, lines := benchModel(b)
	cache := NewCache(1 << 16)
	if _, err := m.ScoreLines(context.Background(), lines, cache); err != nil {
		b.Fatal(err)
	}
	big := make([]string, 200_000)
	for i := range big {
		big[i] = lines[i%len(lines)]
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if _, err := m.ScoreLines(context.Background(), big, cache); err != nil {
			b.Fatal(err)
		}
		n += len(big)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
