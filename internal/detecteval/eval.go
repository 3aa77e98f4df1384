package detecteval

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lognats/lognats/internal/nulog"
)

// Label is one row of a line-labels file.
type Label struct {
	Normal  bool   // label "normal"; otherwise "failure"
	Episode string // episode name
	Level   string // info, warn, error, fatal, debug or "-"
}

// Labels maps file base name and 1-based line number to the line's label.
type Labels map[string]map[int]Label

// ReadLabels reads a line-labels TSV: a header, then file, line, label
// (normal|failure), episode, level per row.
func ReadLabels(r io.Reader) (Labels, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	out := Labels{}
	n := 0
	for sc.Scan() {
		n++
		if n == 1 {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("labels line %d: %d fields, want 5", n, len(f))
		}
		ln, err := strconv.Atoi(f[1])
		if err != nil || ln < 1 {
			return nil, fmt.Errorf("labels line %d: bad line number %q", n, f[1])
		}
		if f[2] != "normal" && f[2] != "failure" {
			return nil, fmt.Errorf("labels line %d: label %q, want normal or failure", n, f[2])
		}
		if out[f[0]] == nil {
			out[f[0]] = map[int]Label{}
		}
		out[f[0]][ln] = Label{Normal: f[2] == "normal", Episode: f[3], Level: f[4]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	return out, nil
}

// Split is the rule that divides a file given both for training and for
// testing. The file is cut into blocks of Block consecutive lines; the
// first Share of each block trains and the rest tests. Block 0 means one
// block: the first Share of the file trains. Blocks emulate a detector that
// has seen the same system's history (every part of the file contributes to
// training) without testing on a line it trained on.
type Split struct {
	Share float64
	Block int
}

// DefaultSplit returns the split lognats eval detect uses: the first 70
// lines of every 100 train, the last 30 test.
func DefaultSplit() Split { return Split{Share: 0.7, Block: 100} }

func (s Split) train(i, n int) bool {
	b := s.Block
	if b <= 0 {
		b = n
	}
	return float64(i%b) < s.Share*float64(b)
}

// Options configure an evaluation run.
type Options struct {
	Source   string
	Train    []string // files whose lines train (split if also in Test)
	Test     []string // files whose lines are scored
	Labels   string   // line-labels TSV
	Split    Split
	Detector Config
	Progress func(nulog.Progress)
}

// Result holds the figures of `lognats eval detect`.
type Result struct {
	Source            string   `json:"source"`
	Rule              string   `json:"rule"`
	EpisodeRecall     float64  `json:"episode_recall"`
	Episodes          int      `json:"episodes"`
	EpisodesDetected  int      `json:"episodes_detected"`
	MissedEpisodes    []string `json:"missed_episodes"`
	FalsePositiveRate float64  `json:"false_positive_rate"`
	NormalLines       int      `json:"normal_lines"`
	NormalFlagged     int      `json:"normal_flagged"`
	ErrorPrecision    float64  `json:"error_precision"`
	ErrorRecall       float64  `json:"error_recall"`
	ErrorLines        int      `json:"error_lines"`
	Flagged           int      `json:"flagged"`
	LinesScored       int      `json:"lines_scored"`
	LinesPerSecond    float64  `json:"lines_per_second"`
	TrainLines        int      `json:"train_lines"`
	TrainSeconds      float64  `json:"training_seconds"`
	Threshold         float64  `json:"threshold"`
	Unlabelled        int      `json:"unlabelled_lines"`
}

type testLine struct {
	file string
	no   int
	text string
}

// ReadLines reads a log file's lines, trailing CR removed.
func ReadLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		out = append(out, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read log %s: %w", path, err)
	}
	return out, nil
}

// prepare reads the labels and the files and applies the split.
func prepare(o Options) (train []string, test []testLine, labels Labels, err error) {
	if len(o.Train) == 0 || len(o.Test) == 0 {
		return nil, nil, nil, errors.New("eval detect: need at least one train and one test file")
	}
	if o.Split.Share <= 0 || o.Split.Share >= 1 {
		return nil, nil, nil, fmt.Errorf("eval detect: split share %g out of (0,1)", o.Split.Share)
	}
	lf, err := os.Open(o.Labels)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("eval detect: %w", err)
	}
	labels, err = ReadLabels(lf)
	lf.Close()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("eval detect: %w", err)
	}
	inTest := map[string]bool{}
	for _, f := range o.Test {
		inTest[filepath.Clean(f)] = true
	}
	inTrain := map[string]bool{}
	for _, f := range o.Train {
		f = filepath.Clean(f)
		inTrain[f] = true
		lines, err := ReadLines(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("eval detect: %w", err)
		}
		for i, l := range lines {
			switch {
			case !inTest[f] || o.Split.train(i, len(lines)):
				train = append(train, l)
			default:
				test = append(test, testLine{filepath.Base(f), i + 1, l})
			}
		}
	}
	for _, f := range o.Test {
		f = filepath.Clean(f)
		if inTrain[f] {
			continue
		}
		lines, err := ReadLines(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("eval detect: %w", err)
		}
		for i, l := range lines {
			test = append(test, testLine{filepath.Base(f), i + 1, l})
		}
	}
	return train, test, labels, nil
}

// Run trains a detector on the training lines, classifies every test line
// and computes the figures.
func Run(ctx context.Context, o Options) (*Result, error) {
	train, test, labels, err := prepare(o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	det, err := Train(ctx, train, o.Detector, o.Progress)
	if err != nil {
		return nil, fmt.Errorf("eval detect: %w", err)
	}
	trainSec := time.Since(start).Seconds()
	raw := make([]string, len(test))
	for i, t := range test {
		raw[i] = t.text
	}
	start = time.Now()
	verdicts, err := det.Classify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("eval detect: %w", err)
	}
	sec := time.Since(start).Seconds()
	res := score(test, verdicts, labels)
	res.Source, res.Rule = o.Source, string(o.Detector.Rule)
	res.LinesScored = len(test)
	res.LinesPerSecond = float64(len(test)) / max(sec, 1e-9)
	res.TrainLines, res.TrainSeconds = len(train), trainSec
	res.Threshold = det.Model().Threshold()
	return res, nil
}

func isErrorLevel(l string) bool { return l == "error" || l == "fatal" }

// score computes the figures from verdicts and labels:
//   - episode_recall: failure episodes with at least one flagged test line,
//     over failure episodes with a test line;
//   - false_positive_rate: flagged normal-labelled lines over normal lines;
//   - error_recall: flagged failure lines of level error/fatal over all such
//     lines; error_precision: those flagged lines over all flagged lines.
func score(test []testLine, v []Verdict, labels Labels) *Result {
	r := &Result{}
	episodes := map[string]bool{}
	tp := 0
	for i, t := range test {
		lb, ok := labels[t.file][t.no]
		if !ok {
			r.Unlabelled++
			continue
		}
		f := v[i].Flagged
		if f {
			r.Flagged++
		}
		if lb.Normal {
			r.NormalLines++
			if f {
				r.NormalFlagged++
			}
			continue
		}
		episodes[lb.Episode] = episodes[lb.Episode] || f
		if isErrorLevel(lb.Level) {
			r.ErrorLines++
			if f {
				tp++
			}
		}
	}
	r.Episodes = len(episodes)
	for e, hit := range episodes {
		if hit {
			r.EpisodesDetected++
		} else {
			r.MissedEpisodes = append(r.MissedEpisodes, e)
		}
	}
	sort.Strings(r.MissedEpisodes)
	if r.MissedEpisodes == nil {
		r.MissedEpisodes = []string{} // JSON [] rather than null
	}
	r.EpisodeRecall = ratio(r.EpisodesDetected, r.Episodes)
	r.FalsePositiveRate = ratio(r.NormalFlagged, r.NormalLines)
	r.ErrorRecall = ratio(tp, r.ErrorLines)
	r.ErrorPrecision = ratio(tp, r.Flagged)
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
