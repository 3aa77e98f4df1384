package nulog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// synthLines builds masked log lines from a few hand-written templates, the
// way the masker leaves them (numbers and addresses already replaced).
func synthLines(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 1))
	verbs := []string{"GET", "PUT", "PATCH"}
	res := []string{"pods", "nodes", "leases", "endpoints", "services"}
	ns := []string{"kube-system", "default", "longhorn-system"}
	tmpl := []func() string{
		func() string {
			return fmt.Sprintf(`I<NUM> <TS> <NUM> httplog.go:<NUM>] "HTTP" verb="%s" URI="/api/v1/namespaces/%s/%s" latency="<DUR>" resp=200`,
				verbs[rng.IntN(3)], ns[rng.IntN(3)], res[rng.IntN(5)])
		},
		func() string {
			return fmt.Sprintf(`I<NUM> <TS> <NUM> leaderelection.go:<NUM>] successfully renewed lease %s/kube-scheduler`, ns[rng.IntN(3)])
		},
		func() string {
			return `time="<TS>" level=info msg="Listening on <IP>:<NUM>"`
		},
		func() string {
			return fmt.Sprintf(`time="<TS>" level=info msg="Starting replica %s controller"`, res[rng.IntN(5)])
		},
		func() string {
			return fmt.Sprintf(`<TS> [INFO] Watching %s in namespace %s`, res[rng.IntN(5)], ns[rng.IntN(3)])
		},
	}
	out := make([]string, n)
	for i := range out {
		out[i] = tmpl[rng.IntN(len(tmpl))]()
	}
	return out
}

func tinyConfig() Config {
	return Config{Dim: 16, Heads: 2, FF: 32, MaxLen: 24, Epochs: 60, MaxExamples: 20000, BatchSize: 16, Seed: 7, LR: 5e-3}
}

func trainTiny(t *testing.T) (*Model, []string) {
	t.Helper()
	lines := synthLines(600, 3)
	m, err := Train(context.Background(), lines, tinyConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, lines
}

var anomalies = []string{
	`E<NUM> <TS> <NUM> kubelet.go:<NUM>] "Failed to get node" err="nodes localhost not found: forbidden"`,
	`panic: runtime error: invalid memory address or nil pointer dereference`,
	`time="<TS>" level=error msg="failed to rebuild replica: no space left on device"`,
}

func TestTrainScores(t *testing.T) {
	m, lines := trainTiny(t)
	st := m.Stats()
	if st.Epochs < 1 || st.UniqueLines == 0 || st.HeldOutLines == 0 {
		t.Fatalf("stats %+v", st)
	}
	normal := synthLines(200, 99)
	scores, err := m.ScoreLines(context.Background(), normal, nil)
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, s := range scores {
		if m.Anomaly(s) {
			flagged++
		}
	}
	if flagged > 20 {
		t.Errorf("%d of %d normal lines flagged (threshold %.3f)", flagged, len(normal), m.Threshold())
	}
	for _, a := range anomalies {
		if s := m.ScoreLine(a); !m.Anomaly(s) {
			t.Errorf("anomaly %q scored %+v, threshold %.3f", a, s, m.Threshold())
		}
	}
	_ = lines
}

func TestTrainDeterministic(t *testing.T) {
	lines := synthLines(300, 5)
	cfg := tinyConfig()
	cfg.Epochs, cfg.Workers = 2, 1
	a, err := Train(context.Background(), lines, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 2
	b, err := Train(context.Background(), lines, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Worker count changes only the order of floating-point sums, so equal
	// worker counts must agree exactly; different counts may differ in the
	// last bits. Check exact equality for a rerun with the same count.
	c, err := Train(context.Background(), lines, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Fingerprint() != c.Fingerprint() {
		t.Fatal("two runs with the same seed and workers differ")
	}
	_ = a
}

func TestTrainCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Train(ctx, synthLines(300, 5), tinyConfig(), func(p Progress) {
		calls++
		cancel()
	})
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("err = %v after %d progress calls", err, calls)
	}
}

func TestProgress(t *testing.T) {
	var last Progress
	cfg := tinyConfig()
	cfg.Epochs = 3
	if _, err := Train(context.Background(), synthLines(200, 5), cfg, func(p Progress) { last = p }); err != nil {
		t.Fatal(err)
	}
	if last.Epoch != last.Epochs || last.Example != last.Examples || last.Loss <= 0 {
		t.Fatalf("last progress %+v", last)
	}
}

// TestFastPathMatchesFull checks the one-layer shortcut against a full
// forward per masked variant.
func TestFastPathMatchesFull(t *testing.T) {
	m, _ := trainTiny(t)
	ws := newScoreWS(m)
	V := len(m.tok.vocab)
	for _, line := range append(synthLines(5, 11), anomalies...) {
		ids := m.tok.Encode(line)
		slots := countable(ids)
		ws.fast(m, ids, slots)
		fast := append([]float32(nil), ws.logits[:len(slots)*V]...)
		ws.full(m, ids, slots)
		for i, v := range fast {
			if d := v - ws.logits[i]; d > 1e-3 || d < -1e-3 {
				t.Fatalf("%q: logit %d fast %g full %g", line, i, v, ws.logits[i])
			}
		}
	}
}

func scoreAll(t *testing.T, m *Model, lines []string) []Score {
	t.Helper()
	s, err := m.ScoreLines(context.Background(), lines, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSaveLoadSameProcess(t *testing.T) {
	m, lines := trainTiny(t)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if m2.Threshold() != m.Threshold() || m2.TopK() != m.TopK() || m2.Fingerprint() != m.Fingerprint() {
		t.Fatal("threshold, k or weights changed by save/load")
	}
	test := append(lines[:100:100], anomalies...)
	a, b := scoreAll(t, m, test), scoreAll(t, m2, test)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("line %d: %+v before save, %+v after load", i, a[i], b[i])
		}
	}
}

// TestSaveLoadNewProcess is the acceptance test: a model trained and saved
// here is loaded by a fresh process (this test binary re-executed), which
// must score every line identically.
func TestSaveLoadNewProcess(t *testing.T) {
	if os.Getenv("NULOG_HELPER_MODEL") != "" {
		t.Skip("inside helper process")
	}
	m, lines := trainTiny(t)
	dir := t.TempDir()
	mp, lp := filepath.Join(dir, "model.nulog"), filepath.Join(dir, "lines.txt")
	f, err := os.Create(mp)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	test := append(synthLines(200, 77), anomalies...)
	if err := os.WriteFile(lp, []byte(strings.Join(test, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperScoreProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NULOG_HELPER_MODEL="+mp, "NULOG_HELPER_LINES="+lp)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var got []Score
	js := out[:bytes.LastIndexByte(out, ']')+1]
	if err := json.Unmarshal(js[bytes.IndexByte(js, '['):], &got); err != nil {
		t.Fatalf("helper output: %v\n%s", err, out)
	}
	want := scoreAll(t, m, test)
	if len(got) != len(want) {
		t.Fatalf("helper scored %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d %q: %+v here, %+v in new process", i, test[i], want[i], got[i])
		}
	}
	_ = lines
}

// TestHelperScoreProcess runs only as the child of TestSaveLoadNewProcess.
func TestHelperScoreProcess(t *testing.T) {
	mp := os.Getenv("NULOG_HELPER_MODEL")
	if mp == "" {
		t.Skip("helper for TestSaveLoadNewProcess")
	}
	f, err := os.Open(mp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(os.Getenv("NULOG_HELPER_LINES"))
	if err != nil {
		t.Fatal(err)
	}
	s := scoreAll(t, m, strings.Split(string(raw), "\n"))
	js, _ := json.Marshal(s)
	fmt.Printf("\n%s\n", js)
}
