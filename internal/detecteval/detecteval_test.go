package detecteval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lognats/lognats/internal/nulog"
)

func TestLevel(t *testing.T) {
	p := newLevelParser()
	for line, want := range map[string]string{
		`E1119 11:58:33.447701    4178 authorization.go:73] Forbidden`:               "error",
		`Dec 03 kubelet.sh[12]: W1203 10:00:00.000000 1 reflector.go:1] watch ended`: "warn",
		`time="2024-01-01T00:00:00Z" level=error msg="boom"`:                         "error",
		`{"level":"warn","ts":"2024","msg":"slow"}`:                                  "warn",
		`2023/11/05 10:00:00 [FATAL] cannot start`:                                   "fatal",
		`2017-01-01 12:00:00.123456 W | etcdserver: failed to revoke`:                "warn",
		`panic: runtime error: index out of range`:                                   "fatal",
		`[INFO] plugin/reload: Running configuration`:                                "info",
		`just some words`: "",
	} {
		if got := levelNames[p.level(line)]; got != want {
			t.Errorf("%q: level %q, want %q", line, got, want)
		}
	}
}

func TestSplit(t *testing.T) {
	s := Split{Share: 0.7, Block: 100}
	n := 0
	for i := 0; i < 1000; i++ {
		if s.train(i, 1000) {
			n++
			if i%100 >= 70 {
				t.Fatalf("line %d trains", i)
			}
		}
	}
	if n != 700 {
		t.Fatalf("%d train lines, want 700", n)
	}
	whole := Split{Share: 0.7}
	if !whole.train(699, 1000) || whole.train(700, 1000) {
		t.Fatal("block 0 must train on the first 70% of the file")
	}
}

func TestScoreFigures(t *testing.T) {
	labels := Labels{"f.log": {
		1: {Normal: true}, 2: {Normal: true}, 3: {Normal: true}, 4: {Normal: true},
		5: {Episode: "a", Level: "error"}, 6: {Episode: "a", Level: "info"},
		7: {Episode: "b", Level: "error"},
	}}
	var test []testLine
	for i := 1; i <= 8; i++ {
		test = append(test, testLine{"f.log", i, ""})
	}
	v := make([]Verdict, 8)
	v[0].Flagged = true // normal flagged
	v[4].Flagged = true // episode a, error line
	v[5].Flagged = true // episode a, info line
	r := score(test, v, labels)
	if r.EpisodeRecall != 0.5 || r.FalsePositiveRate != 0.25 || r.ErrorRecall != 0.5 || r.ErrorPrecision != 1.0/3 || r.Unlabelled != 1 {
		t.Fatalf("%+v", r)
	}
	if len(r.MissedEpisodes) != 1 || r.MissedEpisodes[0] != "b" {
		t.Fatalf("missed %v", r.MissedEpisodes)
	}
}

func TestReadLabelsErrors(t *testing.T) {
	for _, in := range []string{
		"h\nf.log\t1\tnormal\te\n",
		"h\nf.log\tx\tnormal\te\tinfo\n",
		"h\nf.log\t1\tweird\te\tinfo\n",
	} {
		if _, err := ReadLabels(strings.NewReader(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
}

// writeSample writes a small klog-style normal log, a failure log with two
// episodes and their labels, all made up for this test.
func writeSample(t *testing.T) (normal, failures, labels string) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var nl, lb []string
	lb = append(lb, "file\tline\tlabel\tepisode\tlevel")
	tmpl := []string{
		`I1203 10:%02d:%02d.000000 1 httplog.go:89] "HTTP" verb="GET" URI="/api/v1/namespaces/kube-system/pods" latency="3ms" resp=200`,
		`I1203 10:%02d:%02d.000000 1 leaderelection.go:278] successfully renewed lease kube-system/kube-scheduler`,
		`I1203 10:%02d:%02d.000000 1 controller.go:609] quota admission added evaluator for: leases`,
		`E1203 10:%02d:%02d.000000 1 reflector.go:138] watch of *v1.Pod ended with: an error on the server`,
	}
	for i := 0; i < 600; i++ {
		nl = append(nl, fmt.Sprintf(tmpl[rng.IntN(len(tmpl))], i/60, i%60))
		lb = append(lb, fmt.Sprintf("normal.log\t%d\tnormal\tsteady\tinfo", i+1))
	}
	fl := []string{
		`I1203 11:00:00.000000 1 leaderelection.go:278] successfully renewed lease kube-system/kube-scheduler`,
		`E1203 11:00:01.000000 1 leaderelection.go:325] error retrieving resource lock kube-system/kube-scheduler: context deadline exceeded`,
		`F1203 11:00:02.000000 1 server.go:211] leaderelection lost`,
		`I1203 11:05:00.000000 1 httplog.go:89] "HTTP" verb="GET" URI="/api/v1/namespaces/kube-system/pods" latency="3ms" resp=200`,
		`E1203 11:05:01.000000 1 etcd.go:52] etcdserver: mvcc: database space exceeded`,
	}
	for i := range fl {
		ep, lv := "lease-lost", "error"
		if i >= 3 {
			ep = "etcd-space"
		}
		if strings.HasPrefix(fl[i], "I") {
			lv = "info"
		}
		lb = append(lb, fmt.Sprintf("failures.log\t%d\tfailure\t%s\t%s", i+1, ep, lv))
	}
	normal, failures, labels = filepath.Join(dir, "normal.log"), filepath.Join(dir, "failures.log"), filepath.Join(dir, "labels.tsv")
	for p, lines := range map[string][]string{normal: nl, failures: fl, labels: lb} {
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return normal, failures, labels
}

func TestRunSample(t *testing.T) {
	normal, failures, labels := writeSample(t)
	cfg := DefaultConfig()
	cfg.Model = nulog.Config{Dim: 16, Heads: 2, FF: 32, Epochs: 20, Seed: 1}
	res, err := Run(context.Background(), Options{
		Source: "sample", Train: []string{normal}, Test: []string{failures, normal},
		Labels: labels, Split: DefaultSplit(), Detector: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.TrainLines != 420 || res.LinesScored != 185 || res.NormalLines != 180 {
		t.Fatalf("split: %+v", res)
	}
	if res.EpisodeRecall != 1 || res.FalsePositiveRate > 0.02 {
		t.Fatalf("figures: %+v", res)
	}
}
