package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lognats/lognats/internal/detecteval"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/mask"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natstest"
)

// tinyLines is a small log of a few templates, and probeLines mixes them
// with unseen and problem lines.
func tinyLines(n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		switch i % 4 {
		case 0:
			out = append(out, fmt.Sprintf(`time="2024-01-01T00:00:%02dZ" level=info msg="synced volume pvc-%d to node worker-%d"`, i%60, i, i%3))
		case 1:
			out = append(out, fmt.Sprintf(`time="2024-01-01T00:00:%02dZ" level=info msg="starting replica r-%d for engine e-%d"`, i%60, i, i%7))
		case 2:
			out = append(out, fmt.Sprintf(`time="2024-01-01T00:00:%02dZ" level=debug msg="heartbeat ok from %d peers"`, i%60, i%5))
		default:
			out = append(out, fmt.Sprintf(`time="2024-01-01T00:00:%02dZ" level=info msg="snapshot s-%d created in %dms"`, i%60, i, i%90))
		}
	}
	return out
}

func probeLines() []string {
	return append(tinyLines(12),
		`time="2024-01-01T00:01:00Z" level=error msg="replica r-9 failed: connection refused by 10.0.0.3"`,
		`time="2024-01-01T00:01:01Z" level=warn msg="engine e-1 not ready, backing off"`,
		`time="2024-01-01T00:01:02Z" level=info msg="completely new words appear here today"`,
		`time="2024-01-01T00:01:03Z" level=info msg="synced volume failed timeout"`,
	)
}

func tinyConfig(seed uint64) detecteval.Config {
	c := detecteval.DefaultConfig()
	c.Model.Dim, c.Model.Heads, c.Model.FF, c.Model.MaxLen = 16, 2, 32, 16
	c.Model.MaxExamples, c.Model.Epochs, c.Model.Seed = 1500, 20, seed
	return c
}

func trainTiny(t *testing.T, seed uint64) []byte {
	t.Helper()
	det, err := detecteval.Train(context.Background(), tinyLines(300), tinyConfig(seed), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := det.Save(&b, logrec.SourceLonghorn); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func putNuLog(t *testing.T, s *modelstore.Store, source string, data []byte) modelstore.Ref {
	t.Helper()
	v, err := s.Put(context.Background(), NuLogModel(source), bytes.NewReader(data), modelstore.PutOptions{Format: detecteval.BundleFormat, FormatVersion: detecteval.BundleVersion})
	if err != nil {
		t.Fatal(err)
	}
	return v.Ref
}

func openStore(t *testing.T, nc *nats.Conn) *modelstore.Store {
	t.Helper()
	s, err := modelstore.Open(context.Background(), nc, modelstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadWatch records OnLoad outcomes.
type loadWatch struct {
	mu  sync.Mutex
	got map[string]error
	ch  chan struct{}
}

func newLoadWatch() *loadWatch {
	return &loadWatch{got: map[string]error{}, ch: make(chan struct{}, 64)}
}

func (w *loadWatch) on(ref modelstore.Ref, err error) {
	w.mu.Lock()
	w.got[ref.String()] = err
	w.mu.Unlock()
	w.ch <- struct{}{}
}

// wait returns the outcome of loading ref.
func (w *loadWatch) wait(t *testing.T, ref modelstore.Ref) error {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		w.mu.Lock()
		err, ok := w.got[ref.String()]
		w.mu.Unlock()
		if ok {
			return err
		}
		select {
		case <-w.ch:
		case <-deadline:
			t.Fatalf("%s was never loaded or refused", ref)
		}
	}
}

func scoreAll(sc Scorer, lines []string) []float32 {
	mk := mask.Default()
	out := make([]float32, len(lines))
	for i, l := range lines {
		r := logrec.Result{Record: logrec.Record{Message: l}, Masked: mk.MaskString(l)}
		out[i] = sc.Score(&r)
	}
	return out
}

const childEnv = "LOGNATS_NULOG_CHILD"

// TestNuLogChild is the other process of TestNuLogNewProcess: it loads the
// current nulog/longhorn from the server in $LOGNATS_NULOG_CHILD and prints
// its scores of probeLines as JSON.
func TestNuLogChild(t *testing.T) {
	url := os.Getenv(childEnv)
	if url == "" {
		t.Skip("only run as the child of TestNuLogNewProcess")
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newLoadWatch()
	n, err := NewNuLogScorers(ctx, openStore(t, nc), NuLogOptions{OnLoad: w.on, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.wait(t, modelstore.Ref{Model: NuLogModel(logrec.SourceLonghorn), Version: 1}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(scoreAll(n.Scorer(logrec.SourceLonghorn), probeLines()))
	fmt.Printf("SCORES %s\n", b)
}

// A model trained, stored and loaded back in a new process scores every
// line as the process that trained it does.
func TestNuLogNewProcess(t *testing.T) {
	srv := natstest.Embedded(t, "")
	nc := srv.Connect(t)
	store := openStore(t, nc)
	data := trainTiny(t, 1)
	det, err := detecteval.Load(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ref := putNuLog(t, store, logrec.SourceLonghorn, data)
	want := scoreAll(NewNuLogScorer(ref, det), probeLines())

	cmd := exec.Command(os.Args[0], "-test.run=^TestNuLogChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+srv.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, js, ok := strings.Cut(string(out), "SCORES ")
	if !ok {
		t.Fatalf("child printed no scores:\n%s", out)
	}
	var got []float32
	if err := json.Unmarshal([]byte(strings.SplitN(js, "\n", 2)[0]), &got); err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d %q: new process scores %v, trainer %v", i, probeLines()[i], got[i], want[i])
		}
		if want[i] < CalibratedThreshold {
			flagged++
		}
	}
	if flagged == 0 || flagged == len(want) {
		t.Errorf("%d of %d probe lines flagged: the test model does not discriminate", flagged, len(want))
	}
}

// A truncated and a bit-flipped version are refused and the previous
// version keeps serving with the same scores.
func TestNuLogRefusesDamagedVersions(t *testing.T) {
	srv := natstest.Embedded(t, "")
	store := openStore(t, srv.Connect(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	var logMu sync.Mutex
	w := newLoadWatch()
	n, err := NewNuLogScorers(ctx, store, NuLogOptions{OnLoad: w.on, Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	data := trainTiny(t, 1)
	v1 := putNuLog(t, store, logrec.SourceRancher, data)
	if err := w.wait(t, v1); err != nil {
		t.Fatal(err)
	}
	sc := n.Scorer(logrec.SourceRancher)
	want := scoreAll(sc, probeLines())

	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x10
	for _, bad := range []struct {
		name string
		data []byte
	}{{"truncated", data[:len(data)*2/3]}, {"bit-flipped", flipped}, {"wrong format", []byte("not a model at all, just text\n")}} {
		ref := putNuLog(t, store, logrec.SourceRancher, bad.data)
		err := w.wait(t, ref)
		if err == nil {
			t.Fatalf("%s version %s was loaded", bad.name, ref)
		}
		if !strings.Contains(err.Error(), ref.String()) {
			t.Errorf("%s: error does not name the object %s: %v", bad.name, ref, err)
		}
		t.Logf("%s: %v", bad.name, err)
		now := n.Scorer(logrec.SourceRancher)
		if now != sc {
			t.Fatalf("%s: scorer changed to %v", bad.name, now.Name())
		}
		got := scoreAll(now, probeLines())
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: line %d scores %v, want %v", bad.name, i, got[i], want[i])
			}
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "previous version keeps serving") || !strings.Contains(logs.String(), "serving=nulog/rancher@v1") {
		t.Errorf("refusal not logged clearly:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The inference service labels with the model, hot-swaps to a new
// version, and the score cache is saved beside the model and loaded with it.
func TestNuLogInferenceHotSwap(t *testing.T) {
	srv := natstest.Embedded(t, "")
	store := openStore(t, srv.Connect(t))
	ctx, cancel := context.WithCancel(context.Background())
	w := newLoadWatch()
	quiet := slog.New(slog.DiscardHandler)
	n, err := NewNuLogScorers(ctx, store, NuLogOptions{OnLoad: w.on, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	in := &Inference{Scorers: n, Thresholds: DefaultThresholds(), Logger: quiet}
	mk := mask.Default()
	batch := func() []logrec.Result {
		var rs []logrec.Result
		for _, l := range probeLines() {
			rs = append(rs, logrec.Result{Record: logrec.Record{Message: l}, Masked: mk.MaskString(l)})
		}
		in.label(logrec.SourceWorkload, rs)
		return rs
	}
	if rs := batch(); rs[0].DecidedBy != in.Rule.Name() {
		t.Fatalf("before any model: decided by %q", rs[0].DecidedBy)
	}
	v1 := putNuLog(t, store, logrec.SourceWorkload, trainTiny(t, 1))
	if err := w.wait(t, v1); err != nil {
		t.Fatal(err)
	}
	rs := batch()
	th := DefaultThresholds()[logrec.SourceWorkload]
	anomalies := 0
	for _, r := range rs {
		if r.DecidedBy != v1.String() {
			t.Fatalf("decided by %q, want %s", r.DecidedBy, v1)
		}
		if (r.Level == logrec.Anomaly) != (r.Score < th) {
			t.Fatalf("%q: level %v but score %v against threshold %v", r.Message, r.Level, r.Score, th)
		}
		if r.Level == logrec.Anomaly {
			anomalies++
		}
	}
	if anomalies == 0 {
		t.Fatal("the model flagged none of the problem lines")
	}
	v2 := putNuLog(t, store, logrec.SourceWorkload, trainTiny(t, 2))
	if err := w.wait(t, v2); err != nil {
		t.Fatal(err)
	}
	if rs := batch(); rs[0].DecidedBy != v2.String() {
		t.Fatalf("after the swap decided by %q, want %s", rs[0].DecidedBy, v2)
	}
	// On shutdown the cache is written beside the model; a new follower
	// loads it with the model.
	cancel()
	<-n.Done()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	w2 := newLoadWatch()
	n2, err := NewNuLogScorers(ctx2, store, NuLogOptions{OnLoad: w2.on, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.wait(t, v2); err != nil {
		t.Fatal(err)
	}
	sc := n2.Scorer(logrec.SourceWorkload).(*NuLogScorer)
	if got := sc.det.Cache().Len(); got == 0 {
		t.Fatal("score cache was not kept with the model")
	}
}
