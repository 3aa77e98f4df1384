package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/api"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natstest"
	"github.com/lognats/lognats/internal/pipeline"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func setup(t *testing.T) (*httptest.Server, *pipeline.Stats) {
	t.Helper()
	srv := natstest.Embedded(t, "")
	nc := srv.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	js, _ := jetstream.New(nc)
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	store, err := modelstore.Open(ctx, nc, modelstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	stats := &pipeline.Stats{NC: srv.Connect(t), Logger: quiet, SnapshotEvery: 100 * time.Millisecond}
	done := make(chan struct{}, 4)
	for _, r := range []interface{ Run(context.Context) error }{
		stats,
		&pipeline.WorkloadDrain{NC: srv.Connect(t), Store: store, Logger: quiet},
		&pipeline.PretrainedDrain{NC: srv.Connect(t), Store: store, Logger: quiet},
		&pipeline.Inference{NC: srv.Connect(t), Logger: quiet},
	} {
		go func() { _ = r.Run(ctx); done <- struct{}{} }()
	}
	pub, err := pipeline.NewPublisher(nc)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer((&api.Server{JS: js, Publisher: pub, Stats: stats, Logger: quiet}).Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		for range 4 {
			<-done
		}
	})
	return hs, stats
}

func post(t *testing.T, url, ctype, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp.StatusCode, out
}

func TestIngestBadInputIsCountedNotFatal(t *testing.T) {
	hs, stats := setup(t)
	ndjson := `{"source":"workload","namespace":"shop","workload":"api","message":"GET /cart 200"}
{"source":"workload","namespace":"shop","workload":"api","message":"GET /cart 500"
not json at all

{"source":"nonsense","message":"x"}
{"source":"workload","namespace":"shop","workload":"a.b c*>","message":"weird workload name"}
`
	code, out := post(t, hs.URL+"/api/v1/logs", "application/x-ndjson", ndjson)
	if code != 200 || out["accepted"].(float64) != 2 || out["rejected"].(float64) != 3 || out["skipped"].(float64) != 1 {
		t.Fatalf("NDJSON ingest: %d %v", code, out)
	}
	errs, _ := json.Marshal(out["errors"])
	if !strings.Contains(string(errs), "line 2") || !strings.Contains(string(errs), "line 3") || !strings.Contains(string(errs), "line 5") {
		t.Fatalf("errors do not name the bad lines: %s", errs)
	}
	plain := "ok line 1\n\xff\xfe broken utf8\n" + strings.Repeat("x", 100<<10) + "\n\n"
	code, out = post(t, hs.URL+"/api/v1/logs?source=control-plane&cluster=c1", "text/plain", plain)
	if code != 200 || out["accepted"].(float64) != 3 || out["replaced"].(float64) != 1 || out["truncated"].(float64) != 1 {
		t.Fatalf("plain ingest: %d %v", code, out)
	}
	code, out = post(t, hs.URL+"/api/v1/logs?source=bogus", "text/plain", "x\n")
	if e, _ := out["error"].(string); code != 400 || !strings.Contains(e, "unknown source") {
		t.Fatalf("bogus source: %d %v", code, out)
	}
	for _, c := range []struct{ query, body, want string }{
		{"?workload=a/b/c", "x\n", "one slash"},
		{"?workload=/", "x\n", "neither empty"},
		{"?source=workload", "x\n", "need a workload"},
		{"?workload=shop/api", "", "no usable line"},
		{"?workload=shop/api", "\n  \n", "no usable line"},
	} {
		code, out = post(t, hs.URL+"/api/v1/logs"+c.query, "text/plain", c.body)
		if e, _ := out["error"].(string); code != 400 || !strings.Contains(e, c.want) {
			t.Fatalf("POST %s %q: %d %v, want 400 %q", c.query, c.body, code, out, c.want)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for stats.Status().Processed != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want 5 processed", stats.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(hs.URL + "/api/v1/insights?workload=shop/api&step=1h")
	if err != nil {
		t.Fatal(err)
	}
	var ins struct {
		Total pipeline.Counts `json:"total"`
	}
	json.NewDecoder(resp.Body).Decode(&ins)
	resp.Body.Close()
	if ins.Total.Normal+ins.Total.Anomaly != 1 {
		t.Fatalf("insights for shop/api: %+v", ins.Total)
	}
	for _, bad := range []string{"/api/v1/insights?from=yesterday", "/api/v1/insights?step=0", "/api/v1/anomalies?limit=0"} {
		resp, err := http.Get(hs.URL + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("GET %s = %d, want 400", bad, resp.StatusCode)
		}
	}
	resp, err = http.Get(hs.URL + "/api/v1/anomalies?limit=5")
	if err != nil {
		t.Fatal(err)
	}
	var an struct {
		Anomalies []pipeline.AnomalyLine `json:"anomalies"`
	}
	json.NewDecoder(resp.Body).Decode(&an)
	resp.Body.Close()
	if len(an.Anomalies) == 0 {
		t.Fatal("no anomalies listed")
	}
}
