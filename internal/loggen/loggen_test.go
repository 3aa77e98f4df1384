package loggen

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lognats/lognats/internal/logrec"
)

func collect(t *testing.T, cfg Config) []Line {
	t.Helper()
	var out []Line
	if err := Generate(cfg, func(l Line) error { out = append(out, l); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Lines: 500}
	a, b := collect(t, cfg), collect(t, cfg)
	if len(a) != len(b) || len(a) != 4*500 {
		t.Fatalf("%d and %d lines, want %d", len(a), len(b), 4*500)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("line %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	c := collect(t, Config{Seed: 43, Lines: 500})
	same := 0
	for i := range a {
		if a[i].Message == c[i].Message {
			same++
		}
	}
	if same > len(a)/2 {
		t.Errorf("seed 43 repeats %d of %d lines of seed 42", same, len(a))
	}
	// A source's lines do not depend on which other sources are generated.
	lh := collect(t, Config{Seed: 42, Lines: 500, Sources: []string{logrec.SourceLonghorn}})
	for i, l := range lh {
		if l != a[2*500+i] {
			t.Fatalf("longhorn line %d depends on other sources", i)
		}
	}
}

func TestEpisodesAndLines(t *testing.T) {
	lines := collect(t, Config{Seed: 1, Lines: 1500, FailureEpisodes: 4})
	episodes := map[string]map[string]bool{}
	for i, l := range lines {
		if !utf8.ValidString(l.Message) || strings.TrimSpace(l.Message) == "" || strings.ContainsAny(l.Message, "\r\n") {
			t.Fatalf("line %d: bad message %q", i, l.Message)
		}
		if !logrec.ValidSource(l.Source) || l.Namespace == "" || l.Workload == "" || l.Pod == "" || l.Time.IsZero() {
			t.Fatalf("line %d: incomplete %+v", i, l)
		}
		if i > 0 && lines[i-1].Source == l.Source && l.Time.Before(lines[i-1].Time) {
			t.Fatalf("line %d: time goes back", i)
		}
		if l.Failure != (l.Episode != "") {
			t.Fatalf("line %d: failure %v, episode %q", i, l.Failure, l.Episode)
		}
		if l.Failure {
			if episodes[l.Source] == nil {
				episodes[l.Source] = map[string]bool{}
			}
			episodes[l.Source][l.Episode] = true
		}
	}
	for _, src := range logrec.Sources() {
		if n := len(episodes[src]); n != 4 {
			t.Errorf("%s: %d episodes %v, want 4", src, n, episodes[src])
		}
	}
	for _, want := range []string{"etcd-leader-lost", "replica-faulted", "cluster-agent-disconnected", "panic", "oom-killed", "connection-refused"} {
		found := false
		for _, eps := range episodes {
			for e := range eps {
				found = found || strings.Contains(e, want)
			}
		}
		if !found {
			t.Errorf("no %s episode", want)
		}
	}
	none := collect(t, Config{Seed: 1, Lines: 300, FailureEpisodes: -1})
	for _, l := range none {
		if l.Failure {
			t.Fatalf("failure line with FailureEpisodes -1: %+v", l)
		}
	}
}

func TestUnknownSource(t *testing.T) {
	err := Generate(Config{Sources: []string{"mainframe"}}, func(Line) error { return nil })
	if !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteFiles(dir, Config{Seed: 7, Lines: 400})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("files %v", files)
	}
	perFile := map[string]int{}
	for src, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(b) || strings.Count(string(b), "\n") != 400 {
			t.Errorf("%s: %d lines, valid UTF-8 %v", src, strings.Count(string(b), "\n"), utf8.Valid(b))
		}
		perFile[filepath.Base(path)] = 0
	}
	f, err := os.Open(filepath.Join(dir, "line-labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if sc.Text() != "file\tline\tlabel\tepisode\tlevel" {
		t.Fatalf("header %q", sc.Text())
	}
	failures := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 5 {
			t.Fatalf("row %q", sc.Text())
		}
		perFile[cols[0]]++
		if cols[2] == "failure" {
			failures++
		} else if cols[2] != "normal" || cols[3] != "-" {
			t.Fatalf("row %q", sc.Text())
		}
	}
	for name, n := range perFile {
		if n != 400 {
			t.Errorf("%s: %d label rows", name, n)
		}
	}
	if failures == 0 {
		t.Error("no failure rows")
	}
}
