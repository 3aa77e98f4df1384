// Package demo prepares what `lognats demo` feeds the pipeline — the real
// Kubernetes corpus when it is present, generated logs otherwise — and
// writes the report at the end, including how many labelled failure
// episodes the detectors caught.
package demo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lognats/lognats/internal/loggen"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/pipeline"
)

// Input is one file to ingest.
type Input struct {
	Path      string
	Source    string
	Namespace string
	Workload  string
}

// Plan says where the demo's logs come from.
type Plan struct {
	Dir       string
	Generated bool
	// Why says why generated logs are used (empty for the real corpus).
	Why string
	// Pretrain holds normal files per pretrained source.
	Pretrain map[string][]string
	Ingest   []Input
	// Workload lines are generated (the real corpus has none) and ingested
	// per namespace/workload.
	Workload []loggen.Line
	Labels   string // line-labels.tsv, "" if none
}

// corpusFiles are the k8s-logs corpus layout.
var corpusSources = []string{logrec.SourceControlPlane, logrec.SourceRancher, logrec.SourceLonghorn}

// FindCorpus looks for the real corpus: dir if given, else
// ../shared/data/k8s-logs from the working directory and its parents.
func FindCorpus(dir string) (string, bool) {
	if dir != "" {
		return dir, true
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "..", "shared", "data", "k8s-logs")
		if _, err := os.Stat(filepath.Join(c, "control-plane.log")); err == nil {
			return filepath.Clean(c), true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// Prepare builds the plan: real files from corpus (each SOURCE.log trains
// the pretrained model, SOURCE-failures.log is ingested) or, when corpus is
// "", generated files written under tmp.
func Prepare(corpus, tmp string, seed int64) (Plan, error) {
	p := Plan{Pretrain: map[string][]string{}}
	wl := loggen.Config{Seed: seed, Lines: 3000, FailureEpisodes: 3, Sources: []string{logrec.SourceWorkload}}
	if err := loggen.Generate(wl, func(l loggen.Line) error { p.Workload = append(p.Workload, l); return nil }); err != nil {
		return p, fmt.Errorf("generate workload lines: %w", err)
	}
	if corpus != "" {
		p.Dir = corpus
		for _, src := range corpusSources {
			normal := filepath.Join(corpus, src+".log")
			if _, err := os.Stat(normal); err != nil {
				return p, fmt.Errorf("corpus %s: %w", corpus, err)
			}
			// Hold out part of the normal lines, so the report can say how
			// many normal lines were flagged, not only which failures were.
			train, test, err := splitBlocks(normal, tmp)
			if err != nil {
				return p, err
			}
			p.Pretrain[src] = []string{train}
			p.Ingest = append(p.Ingest, Input{Path: test, Source: src})
			failures := filepath.Join(corpus, src+"-failures.log")
			if _, err := os.Stat(failures); err == nil {
				p.Ingest = append(p.Ingest, Input{Path: failures, Source: src})
			}
		}
		if l := filepath.Join(corpus, "line-labels.tsv"); fileExists(l) {
			p.Labels = l
		}
		return p, nil
	}
	// Generated: one normal-only set to pretrain on, another with failure
	// episodes to ingest.
	p.Generated, p.Dir = true, tmp
	train := filepath.Join(tmp, "train")
	if err := writeNormal(train, loggen.Config{Seed: seed + 1, Lines: 3000, FailureEpisodes: -1, Sources: corpusSources}); err != nil {
		return p, err
	}
	live := filepath.Join(tmp, "live")
	files, err := loggen.WriteFiles(live, loggen.Config{Seed: seed + 2, Lines: 2000, FailureEpisodes: 3, Sources: corpusSources})
	if err != nil {
		return p, err
	}
	for _, src := range corpusSources {
		p.Pretrain[src] = []string{filepath.Join(train, src+".log")}
		p.Ingest = append(p.Ingest, Input{Path: files[src], Source: src})
	}
	p.Labels = filepath.Join(live, "line-labels.tsv")
	return p, nil
}

// splitBlocks cuts a file into blocks of 100 lines: the first 70 of each
// train, the last 30 are held out (the split `lognats eval detect` uses).
func splitBlocks(path, tmp string) (train, test string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	base := strings.TrimSuffix(filepath.Base(path), ".log")
	train = filepath.Join(tmp, base+".train.log")
	test = filepath.Join(tmp, base+".heldout.log")
	var tr, te strings.Builder
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if i%100 < 70 {
			tr.WriteString(line + "\n")
		} else {
			te.WriteString(line + "\n")
		}
	}
	if err := os.WriteFile(train, []byte(tr.String()), 0o644); err != nil {
		return "", "", err
	}
	return train, test, os.WriteFile(test, []byte(te.String()), 0o644)
}

// writeNormal writes SOURCE.log files of generated lines, leaving out
// every line labelled as part of a failure episode: pretrained templates
// must come from normal traffic only.
func writeNormal(dir string, cfg loggen.Config) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]*bufio.Writer{}
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	err := loggen.Generate(cfg, func(l loggen.Line) error {
		if l.Failure {
			return nil
		}
		w := files[l.Source]
		if w == nil {
			f, err := os.Create(filepath.Join(dir, l.Source+".log"))
			if err != nil {
				return err
			}
			closers = append(closers, f)
			w = bufio.NewWriter(f)
			files[l.Source] = w
		}
		_, err := w.WriteString(l.Message + "\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("generate training lines: %w", err)
	}
	for _, w := range files {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Label is the ground truth of one line.
type Label struct {
	Failure bool
	Episode string
	Level   string
}

// ReadLabels maps each labelled line's text to its label, reading the
// files the label file names from the same folder.
func ReadLabels(path string) (map[string]Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open labels: %w", err)
	}
	defer f.Close()
	dir := filepath.Dir(path)
	byFile := map[string]map[int]Label{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) < 5 || parts[0] == "file" {
			continue
		}
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			continue
		}
		if byFile[parts[0]] == nil {
			byFile[parts[0]] = map[int]Label{}
		}
		byFile[parts[0]][n] = Label{Failure: parts[2] == "failure", Episode: parts[3], Level: parts[4]}
	}
	out := map[string]Label{}
	for file, lines := range byFile {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			if l, ok := lines[i+1]; ok {
				line = strings.TrimRight(line, "\r")
				if prev, seen := out[line]; !seen || (l.Failure && !prev.Failure) {
					out[line] = l
				}
			}
		}
	}
	return out, sc.Err()
}

// EpisodeScore compares verdicts with labels.
type EpisodeScore struct {
	Episodes       int
	Caught         int
	Missed         []string
	NormalLines    int
	FalsePositives int
}

// Score scores results against labels: an episode is caught when at least
// one of its failure lines is flagged.
func Score(labels map[string]Label, results []logrec.Result) EpisodeScore {
	episodes := map[string]bool{}
	var sc EpisodeScore
	for _, r := range results {
		l, ok := labels[r.Message]
		if !ok {
			continue
		}
		if l.Failure {
			episodes[l.Episode] = episodes[l.Episode] || r.Level == logrec.Anomaly
		} else {
			sc.NormalLines++
			if r.Level == logrec.Anomaly {
				sc.FalsePositives++
			}
		}
	}
	for ep, caught := range episodes {
		sc.Episodes++
		if caught {
			sc.Caught++
		} else {
			sc.Missed = append(sc.Missed, ep)
		}
	}
	sort.Strings(sc.Missed)
	return sc
}

// Report writes the demo's summary.
func Report(w io.Writer, plan Plan, st pipeline.Status, templates map[string]int64, rows []pipeline.BreakdownRow, top []pipeline.TopTemplate, ep *EpisodeScore, elapsed time.Duration, httpURL string) {
	src := "real Kubernetes logs from " + plan.Dir
	if plan.Generated {
		why := plan.Why
		if why == "" {
			why = "the real corpus ../shared/data/k8s-logs was not found"
		}
		src = "GENERATED logs (internal/loggen; " + why + ")"
	}
	fmt.Fprintf(w, "\n== lognats demo report ==\n")
	fmt.Fprintf(w, "input: %s; workload lines are generated\n", src)
	var tt int64
	for _, n := range templates {
		tt += n
	}
	fmt.Fprintf(w, "lines: %d ingested, %d labelled in %.1fs; templates: %d; anomalies: %d\n\n", st.Ingested, st.Processed, elapsed.Seconds(), tt, st.Anomalies)
	fmt.Fprintf(w, "%-15s %-28s %9s %9s\n", "SOURCE", "WORKLOAD", "NORMAL", "ANOMALY")
	for _, r := range rows {
		wl := "-"
		if r.Workload != "" {
			wl = r.Namespace + "/" + r.Workload
		}
		fmt.Fprintf(w, "%-15s %-28s %9d %9d\n", r.Source, wl, r.Normal, r.Anomaly)
	}
	fmt.Fprintf(w, "\ntop anomalous templates:\n")
	for i, t := range top {
		where := t.Source
		if t.Workload != "" {
			where += " " + t.Namespace + "/" + t.Workload
		}
		fmt.Fprintf(w, "%2d. [%s] x%d  %s\n      e.g. %s\n", i+1, where, t.Count, clip(t.Template, 150), clip(t.Example, 150))
	}
	if ep != nil && ep.Episodes > 0 {
		fmt.Fprintf(w, "\nfailure episodes with at least one line flagged: %d of %d", ep.Caught, ep.Episodes)
		if len(ep.Missed) > 0 {
			fmt.Fprintf(w, " (missed: %s)", clip(strings.Join(ep.Missed, ", "), 300))
		}
		if ep.NormalLines > 0 {
			fmt.Fprintf(w, "\nnormal-labelled lines flagged: %d of %d (%.1f%%)", ep.FalsePositives, ep.NormalLines, 100*float64(ep.FalsePositives)/float64(ep.NormalLines))
		}
		fmt.Fprintln(w)
	}
	if httpURL != "" {
		fmt.Fprintf(w, "\nAPI: %s/api/v1/insights?step=1h  %s/api/v1/anomalies?limit=20  %s/api/v1/status\n", httpURL, httpURL, httpURL)
	}
	fmt.Fprintf(w, "still serving; press Ctrl-C to stop\n")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
