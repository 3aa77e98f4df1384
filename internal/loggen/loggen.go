// Package loggen generates log lines for lognats' demo and tests when the
// real corpus (../shared/data/k8s-logs) is absent.
//
// Its output is GENERATED, NOT REAL: the line shapes imitate Kubernetes
// control-plane components (klog text, etcd JSON), Rancher
// ("2006/01/02 15:04:05 [LEVEL]"), Longhorn (logrus key=value behind a
// container-runtime timestamp) and two workload apps (an nginx-style access
// log and a Go service writing JSON), but every line is written from
// templates here, with made-up names, addresses and ids. No line is copied
// from a real log. Injected failure episodes (etcd leader loss with
// apiserver timeouts, Longhorn replicas faulting and volumes degrading,
// Rancher cluster agents disconnecting, workload panics, OOM kills and
// connection-refused bursts) are labelled so detectors can be scored.
//
// Output depends only on Config: the same seed gives the same lines.
package loggen

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lognats/lognats/internal/logrec"
)

// Line is one generated log line. Message is the full line as the program
// would have written it, timestamp prefix included.
type Line struct {
	Source, Namespace, Workload, Pod, Container string
	Time                                        time.Time
	Message                                     string
	Level                                       string // info, warn, error, fatal or debug
	Failure                                     bool   // part of an injected failure episode
	Episode                                     string // episode name, "" for normal traffic
}

// Config selects what to generate; zero fields take defaults.
type Config struct {
	Seed            int64
	Start           time.Time // default 2025-06-02T08:00:00Z
	Lines           int       // per source, default 2000
	FailureEpisodes int       // per source, default 3; negative for none
	Sources         []string  // default all of logrec.Sources()
}

const (
	defaultLines    = 2000
	defaultEpisodes = 3
	// episodeRoom keeps episodes from being cut off by the end of a
	// source's lines.
	episodeRoom = 40
)

func (c Config) withDefaults() Config {
	if c.Start.IsZero() {
		c.Start = time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	}
	if c.Lines <= 0 {
		c.Lines = defaultLines
	}
	if c.FailureEpisodes == 0 {
		c.FailureEpisodes = defaultEpisodes
	}
	// Negative stays negative (not 0), so applying defaults twice keeps "none".
	if len(c.Sources) == 0 {
		c.Sources = logrec.Sources()
	}
	return c
}

// ErrUnknownSource is returned for a Config.Sources entry that is not a
// logrec source.
var ErrUnknownSource = errors.New("loggen: unknown source")

// Generate calls fn for cfg.Lines lines of each source in turn, in time
// order within a source, stopping at fn's first error.
func Generate(cfg Config, fn func(Line) error) error {
	cfg = cfg.withDefaults()
	for _, src := range cfg.Sources {
		p, ok := profileFor(src)
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownSource, src)
		}
		// One generator per source, seeded by the source's name too, so a
		// source's lines do not change when other sources are added.
		g := &gen{
			rng: rand.New(rand.NewPCG(uint64(cfg.Seed), hash(src))),
			t:   cfg.Start,
			src: src,
		}
		if err := g.run(cfg, p, fn); err != nil {
			return err
		}
	}
	return nil
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// WriteFiles writes one "<source>.log" file a source into dir and a
// line-labels.tsv in the k8s-logs corpus format (file, line, label,
// episode, level). It returns source -> file path.
func WriteFiles(dir string, cfg Config) (map[string]string, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("loggen: %w", err)
	}
	files := make(map[string]string)
	labels, err := os.Create(filepath.Join(dir, "line-labels.tsv"))
	if err != nil {
		return nil, fmt.Errorf("loggen: %w", err)
	}
	defer labels.Close()
	lw := bufio.NewWriter(labels)
	fmt.Fprintln(lw, "file\tline\tlabel\tepisode\tlevel")
	for _, src := range cfg.Sources {
		one := cfg
		one.Sources = []string{src}
		path := filepath.Join(dir, src+".log")
		if err := writeSource(path, one, lw); err != nil {
			return nil, err
		}
		files[src] = path
	}
	if err := lw.Flush(); err != nil {
		return nil, fmt.Errorf("loggen: write labels: %w", err)
	}
	if err := labels.Close(); err != nil {
		return nil, fmt.Errorf("loggen: write labels: %w", err)
	}
	return files, nil
}

func writeSource(path string, cfg Config, labels *bufio.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("loggen: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	name := filepath.Base(path)
	n := 0
	err = Generate(cfg, func(l Line) error {
		n++
		w.WriteString(l.Message)
		w.WriteByte('\n')
		label, ep := "normal", "-"
		if l.Failure {
			label, ep = "failure", l.Episode
		}
		_, err := fmt.Fprintf(labels, "%s\t%d\t%s\t%s\t%s\n", name, n, label, ep, l.Level)
		return err
	})
	if err != nil {
		return fmt.Errorf("loggen: %s: %w", name, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("loggen: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("loggen: write %s: %w", name, err)
	}
	return nil
}

// gen is the state of one source's generation.
type gen struct {
	rng *rand.Rand
	t   time.Time
	src string
}

// emitter renders one line; it returns the line's component and level so
// the run can fill Line.
type emitter func(g *gen) (c comp, level, msg string)

// comp is a component, where a line comes from:
// "namespace/workload/pod/container".
type comp string

func (c comp) split() (ns, workload, pod, container string) {
	s := string(c)
	ns, s, _ = strings.Cut(s, "/")
	workload, s, _ = strings.Cut(s, "/")
	pod, container, _ = strings.Cut(s, "/")
	return ns, workload, pod, container
}

// profile is a source's traffic: weighted normal emitters and failure
// episodes.
type profile struct {
	normal   []emitter
	episodes []episode
}

// episode is a named failure: its lines in order. Episodes mix in some
// normal lines, as real incidents do.
type episode struct {
	name  string
	lines func(g *gen) []emitter
}

func (g *gen) run(cfg Config, p profile, fn func(Line) error) error {
	// Evenly spaced episode starts, jittered, leaving room at the end.
	var starts []int
	if n := cfg.FailureEpisodes; n > 0 && cfg.Lines > episodeRoom {
		span := (cfg.Lines - episodeRoom) / n
		for e := 0; e < n; e++ {
			j := 0
			if span > 4 {
				j = g.rng.IntN(span / 2)
			}
			starts = append(starts, e*span+span/4+j)
		}
	}
	emit := func(e emitter, ep string) error {
		g.t = g.t.Add(time.Duration(5+g.rng.IntN(400))*time.Millisecond + time.Duration(g.rng.IntN(1000))*time.Microsecond)
		c, level, msg := e(g)
		ns, wl, pod, ctr := c.split()
		return fn(Line{Source: g.src, Namespace: ns, Workload: wl, Pod: pod, Container: ctr,
			Time: g.t, Message: msg, Level: level, Failure: ep != "", Episode: ep})
	}
	n, next := 0, 0
	for n < cfg.Lines {
		if next < len(starts) && n >= starts[next] {
			kind := p.episodes[next%len(p.episodes)]
			name := fmt.Sprintf("%s-%s-%d", g.src, kind.name, next+1)
			next++
			for _, e := range kind.lines(g) {
				if n >= cfg.Lines {
					break
				}
				if err := emit(e, name); err != nil {
					return err
				}
				n++
			}
			continue
		}
		if err := emit(p.normal[g.rng.IntN(len(p.normal))], ""); err != nil {
			return err
		}
		n++
	}
	return nil
}

func profileFor(src string) (profile, bool) {
	switch src {
	case logrec.SourceControlPlane:
		return controlPlane(), true
	case logrec.SourceRancher:
		return rancher(), true
	case logrec.SourceLonghorn:
		return longhorn(), true
	case logrec.SourceWorkload:
		return workload(), true
	}
	return profile{}, false
}

// Helpers for random parts of lines.

func (g *gen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *gen) alnum(n int) string {
	const digits = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(len(digits))]
	}
	return string(b)
}

func (g *gen) ip() string {
	return fmt.Sprintf("10.42.%d.%d", g.rng.IntN(4), 2+g.rng.IntN(250))
}

func (g *gen) uuid() string {
	return g.hex(8) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(12)
}

// repeat returns e n times, for bursts.
func repeat(n int, e emitter) []emitter { return slices.Repeat([]emitter{e}, n) }
