package modelstore_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natstest"
)

// The file benchmarks are the baseline: the same bytes written to a file and
// fsynced on the same disk. bench/modelstore prints the ratios in one run.

func benchStore(b *testing.B) *modelstore.Store {
	srv := natstest.Embedded(b, "")
	s, err := modelstore.Open(context.Background(), srv.Connect(b), modelstore.Config{Keep: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchPut(b *testing.B, size int) {
	s := benchStore(b)
	data := randBytes(b, size)
	m := modelstore.Model{Kind: "nulog", Scope: "bench"}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Put(context.Background(), m, bytes.NewReader(data), modelstore.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGet(b *testing.B, size int) {
	s := benchStore(b)
	data := randBytes(b, size)
	v, err := s.Put(context.Background(), modelstore.Model{Kind: "nulog", Scope: "bench"}, bytes.NewReader(data), modelstore.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Get(context.Background(), v.Ref, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFile(b *testing.B, size int) {
	data := randBytes(b, size)
	path := filepath.Join(b.TempDir(), "model.bin")
	b.SetBytes(int64(size))
	for b.Loop() {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkPut64MiB(b *testing.B)        { benchPut(b, 64<<20) }
func BenchmarkPut256MiB(b *testing.B)       { benchPut(b, 256<<20) }
func BenchmarkGet64MiB(b *testing.B)        { benchGet(b, 64<<20) }
func BenchmarkGet256MiB(b *testing.B)       { benchGet(b, 256<<20) }
func BenchmarkFileFsync64MiB(b *testing.B)  { benchFile(b, 64<<20) }
func BenchmarkFileFsync256MiB(b *testing.B) { benchFile(b, 256<<20) }
