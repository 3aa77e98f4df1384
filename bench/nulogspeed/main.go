// Command nulogspeed measures the nulog model's training time and scoring
// throughput on realistic masked log lines: it masks real log files with
// lognats' masker, cycles through them up to -lines lines (real logs repeat
// their masked lines heavily, so cycling keeps the realistic share of
// distinct lines), trains a default-size model on all cores and scores.
//
//	go run ./bench/nulogspeed                      # k8s-logs in ../shared/data
//	go run ./bench/nulogspeed -lines 100000 FILE...
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/lognats/lognats/internal/mask"
	"github.com/lognats/lognats/internal/nulog"
	"github.com/lognats/lognats/internal/parseeval"
)

func main() {
	n := flag.Int("lines", 100_000, "training lines (input files are cycled)")
	nScore := flag.Int("score", 20_000, "lines to score uncached")
	epochs := flag.Int("epochs", 0, "cap on epochs (0: model default)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of training to this file")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nulogspeed:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *nScore, nulog.Config{Epochs: *epochs}, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "nulogspeed:", err)
		os.Exit(1)
	}
}

func run(n, nScore int, cfg nulog.Config, files []string) error {
	if len(files) == 0 {
		dir, ok := parseeval.SharedDataDir(".")
		if !ok {
			return errors.New("no shared data next to the repository; set LOGNATS_SHARED_DATA or name files")
		}
		for _, f := range []string{"control-plane.log", "rancher.log", "longhorn.log", "control-plane-failures.log", "rancher-failures.log", "longhorn-failures.log"} {
			files = append(files, filepath.Join(dir, "k8s-logs", f))
		}
	}
	m := mask.Default()
	var src []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			src = append(src, m.MaskString(sc.Text()))
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
	}
	if len(src) == 0 {
		return errors.New("no input lines")
	}
	lines := make([]string, n)
	for i := range lines {
		lines[i] = src[i%len(src)]
	}
	uniq := map[string]bool{}
	for _, l := range src {
		uniq[l] = true
	}
	fmt.Printf("input: %d raw lines (%d distinct masked) cycled to %d lines; GOMAXPROCS=%d\n", len(src), len(uniq), n, runtime.GOMAXPROCS(0))

	start, cpu0 := time.Now(), cpuTime()
	var last time.Time
	model, err := nulog.Train(context.Background(), lines, cfg, func(p nulog.Progress) {
		if time.Since(last) > 10*time.Second || p.Example == p.Examples {
			last = time.Now()
			fmt.Printf("  epoch %d/%d loss %.3f elapsed %s eta %s\n", p.Epoch, p.Epochs, p.Loss, p.Elapsed.Round(time.Second), p.ETA.Round(time.Second))
		}
	})
	if err != nil {
		return err
	}
	train, trainCPU := time.Since(start), cpuTime()-cpu0
	st := model.Stats()
	fmt.Printf("training: %d lines in %.1f s wall, %.1f s CPU (%d distinct, vocab %d, %d epochs, %d examples, loss %.3f, threshold %.3f)\n",
		n, train.Seconds(), trainCPU.Seconds(), st.UniqueLines, st.Vocab, st.Epochs, st.Examples, st.FinalLoss, model.Threshold())

	// Uncached: the distinct masked lines in input order (cycled if there
	// are fewer than -score), so the figure is not helped by short repeats.
	var distinct []string
	seen := map[string]bool{}
	for _, l := range src {
		if !seen[l] {
			seen[l] = true
			distinct = append(distinct, l)
		}
	}
	test := make([]string, 0, nScore)
	for i := 0; len(test) < nScore; i++ {
		test = append(test, distinct[i%len(distinct)])
	}
	ctx := context.Background()
	start, cpu0 = time.Now(), cpuTime()
	if _, err := model.ScoreLines(ctx, test, nil); err != nil {
		return err
	}
	wall, cpu := time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
	fmt.Printf("scoring uncached: %.0f lines/s wall, %.0f lines per CPU-second (%d lines)\n", float64(len(test))/wall, float64(len(test))/cpu, len(test))

	cache := nulog.NewCache(1 << 20)
	if _, err := model.ScoreLines(ctx, src, cache); err != nil {
		return err
	}
	big := make([]string, 2_000_000)
	for i := range big {
		big[i] = src[i%len(src)]
	}
	start, cpu0 = time.Now(), cpuTime()
	if _, err := model.ScoreLines(ctx, big, cache); err != nil {
		return err
	}
	wall, cpu = time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
	fmt.Printf("scoring cached:   %.0f lines/s wall, %.0f lines per CPU-second (%d lines)\n", float64(len(big))/wall, float64(len(big))/cpu, len(big))
	return nil
}

// cpuTime is the process's user+system CPU time. The figures are printed
// both per wall second and per CPU second because the bench machine's cores
// may be shared: CPU seconds / 2 is the wall time on two idle cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
