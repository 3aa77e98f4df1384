// Command modelstore measures model put and get throughput on an embedded
// NATS server against writing the same bytes to a file with fsync, all in one
// run on the same disk, and prints medians and ratios.
//
//	go run ./bench/modelstore -sizes 64,256 -runs 5 -sync 1s
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natsx"
)

func main() {
	sizes := flag.String("sizes", "64,256", "model sizes in MiB, comma-separated")
	runs := flag.Int("runs", 5, "repetitions per measurement (median reported)")
	syncs := flag.String("sync", "1s", "embedded --nats-sync policies to compare, comma-separated (e.g. always,100ms,1s,2m)")
	dir := flag.String("dir", "", "scratch folder on the disk to measure (default: a temp dir)")
	chunk := flag.Int("chunk", modelstore.DefaultChunkSize, "object chunk size in bytes")
	flag.BoolVar(&inProcess, "inprocess", false, "connect to the embedded server in-process instead of over loopback TCP")
	flag.Parse()
	if err := run(*sizes, *runs, *syncs, *dir, *chunk); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func run(sizesFlag string, runs int, syncsFlag, dir string, chunk int) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "lognats-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("lognats model store benchmark: runs=%d (median), chunk=%d KiB, dir=%s\n\n", runs, chunk>>10, dir)
	fmt.Printf("medians of %d runs; ratios are medians of per-run ratios\n", runs)
	fmt.Printf("%-8s %-6s %12s %12s %12s %12s %10s %10s %12s\n", "size", "sync", "file+fsync", "stream", "put", "get", "put/file", "get/file", "put/stream")
	for _, sz := range strings.Split(sizesFlag, ",") {
		mib, err := strconv.Atoi(strings.TrimSpace(sz))
		if err != nil {
			return fmt.Errorf("bad size %q", sz)
		}
		data := make([]byte, mib<<20)
		rand.Read(data)
		for _, sp := range strings.Split(syncsFlag, ",") {
			policy, err := natsx.ParseSyncPolicy(strings.TrimSpace(sp))
			if err != nil {
				return err
			}
			var fileMBs, rawMBs, putMBs, getMBs, putRatio, getRatio, putRaw []float64
			for r := 0; r < runs; r++ {
				f, err := fileWrite(filepath.Join(dir, "file.bin"), data)
				if err != nil {
					return err
				}
				raw, p, g, err := storeRoundTrip(filepath.Join(dir, fmt.Sprintf("store-%d", r)), policy, data, uint32(chunk))
				if err != nil {
					return err
				}
				fileMBs, rawMBs, putMBs, getMBs = append(fileMBs, f), append(rawMBs, raw), append(putMBs, p), append(getMBs, g)
				putRaw = append(putRaw, p/raw)
				// Paired ratios: the disk's speed drifts between runs, so each
				// put and get is compared with the file write just before it.
				putRatio, getRatio = append(putRatio, p/f), append(getRatio, g/f)
			}
			fm, rm, pm, gm := median(fileMBs), median(rawMBs), median(putMBs), median(getMBs)
			fmt.Printf("%-8s %-6s %7.0f MB/s %7.0f MB/s %7.0f MB/s %7.0f MB/s %10.2f %10.2f %12.2f\n", fmt.Sprintf("%d MiB", mib), policy, fm, rm, pm, gm, median(putRatio), median(getRatio), median(putRaw))
		}
	}
	return nil
}

func mbps(n int, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func fileWrite(path string, data []byte) (float64, error) {
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(data); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	d := time.Since(start)
	return mbps(len(data), d), os.Remove(path)
}

// inProcess connects the benchmark's client without a socket (-inprocess).
var inProcess bool

// storeRoundTrip measures, on one fresh embedded server: the raw JetStream
// ceiling (the same bytes published as chunk-sized messages to a plain file
// stream, no hashing, no object store), then a model put and a get.
func storeRoundTrip(dir string, policy natsx.SyncPolicy, data []byte, chunk uint32) (raw, put, get float64, err error) {
	defer os.RemoveAll(dir)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := natsx.StartEmbedded(ctx, natsx.EmbeddedConfig{DataDir: dir, Listen: "127.0.0.1:0", Sync: policy, Logger: quiet})
	if err != nil {
		return 0, 0, 0, err
	}
	defer emb.Shutdown()
	var nc *nats.Conn
	if inProcess {
		nc, err = nats.Connect("", emb.InProcess())
	} else {
		nc, err = nats.Connect(emb.ClientURL())
	}
	if err != nil {
		return 0, 0, 0, err
	}
	defer nc.Close()
	s, err := modelstore.Open(ctx, nc, modelstore.Config{ChunkSize: chunk, Logger: quiet})
	if err != nil {
		return 0, 0, 0, err
	}
	if raw, err = rawPublish(ctx, nc, data, int(chunk)); err != nil {
		return 0, 0, 0, err
	}
	m := modelstore.Model{Kind: "nulog", Scope: "bench"}
	start := time.Now()
	v, err := s.Put(ctx, m, bytes.NewReader(data), modelstore.PutOptions{})
	if err != nil {
		return 0, 0, 0, err
	}
	put = mbps(len(data), time.Since(start))
	start = time.Now()
	if _, err := s.Get(ctx, v.Ref, io.Discard); err != nil {
		return 0, 0, 0, err
	}
	get = mbps(len(data), time.Since(start))
	return raw, put, get, nil
}

func rawPublish(ctx context.Context, nc *nats.Conn, data []byte, chunk int) (float64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		return 0, fmt.Errorf("create raw stream: %w", err)
	}
	start := time.Now()
	for off := 0; off < len(data); off += chunk {
		if _, err := js.PublishAsync("raw.chunk", data[off:min(len(data), off+chunk)]); err != nil {
			return 0, fmt.Errorf("raw publish: %w", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		return 0, fmt.Errorf("raw publish: acknowledgements timed out")
	}
	d := time.Since(start)
	// Free the disk for the put that follows.
	if err := js.DeleteStream(ctx, "RAW"); err != nil {
		return 0, err
	}
	return mbps(len(data), d), nil
}
