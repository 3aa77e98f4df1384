package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/natstest"
	"github.com/lognats/lognats/internal/pipeline"
)

func repoShared() string {
	if d := os.Getenv("LOGNATS_SHARED_DATA"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", "..", "shared", "data")
}

// bigLogFile concatenates the k8s corpus (or the sample) until it has at least n lines.
func bigLogFile(t *testing.T, n int) string {
	t.Helper()
	var srcs []string
	k8s := filepath.Join(repoShared(), "k8s-logs")
	for _, f := range []string{"control-plane.log", "rancher.log", "longhorn.log", "control-plane-failures.log", "rancher-failures.log", "longhorn-failures.log"} {
		if _, err := os.Stat(filepath.Join(k8s, f)); err == nil {
			srcs = append(srcs, filepath.Join(k8s, f))
		}
	}
	if len(srcs) == 0 {
		srcs = []string{filepath.Join("..", "..", "internal", "pipeline", "testdata", "sample.log")}
	}
	var b strings.Builder
	lines := 0
	for lines < n {
		for _, s := range srcs {
			data, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
				if strings.TrimSpace(l) == "" {
					continue
				}
				b.WriteString(l)
				b.WriteByte('\n')
				lines++
			}
		}
	}
	path := filepath.Join(t.TempDir(), "big.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readStatus(t *testing.T, url string) pipeline.Status {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		return pipeline.Status{}
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, _ := pipeline.ReadStatus(ctx, js)
	return st
}

func TestSIGKILLServeMidProcessing(t *testing.T) {
	if testing.Short() {
		t.Skip("processes a large ingest twice")
	}
	t0 := time.Now()
	defer func() { t.Logf("total %s", time.Since(t0)) }()
	logs := bigLogFile(t, 250_000)
	var ref struct {
		Lines     int64 `json:"lines"`
		Templates int   `json:"templates"`
	}
	json.Unmarshal([]byte(mustCLI(t, "parse", "--json", logs).stdout), &ref)

	t.Logf("reference parse done at %s", time.Since(t0))
	data := filepath.Join(t.TempDir(), "data")
	natsPort, httpPort := natstest.FreePort(t), natstest.FreePort(t)
	srv := startServeArgs(t, data, natsPort, httpPort, "--snapshot-lines", "40000")
	r := mustCLI(t, "--data", data, "ingest", "--workload", "shop/api", logs)
	if !strings.Contains(r.stdout, "accepted=") {
		t.Fatalf("ingest printed %q", r.stdout)
	}
	deadline := time.Now().Add(60 * time.Second)
	var st pipeline.Status
	for {
		st = readStatus(t, srv.natsURL)
		if st.Processed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing processed: %+v\n%s", st, srv.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.kill()
	t.Logf("at %s", time.Since(t0))
	t.Logf("killed serve at processed=%d of ingested=%d", st.Processed, st.Ingested)

	srv = startServeArgs(t, data, natsPort, httpPort, "--snapshot-lines", "40000")
	deadline = time.Now().Add(120 * time.Second)
	var rep pipeline.StatusReport
	for {
		json.Unmarshal([]byte(mustCLI(t, "--data", data, "--json", "status").stdout), &rep)
		if rep.Ingested == ref.Lines && rep.Processed == rep.Ingested && rep.TemplatesBy["workload"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %+v (want %d lines)\n%s", rep, ref.Lines, srv.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("caught up after restart at %s: %+v", time.Since(t0), rep.Status)
	srv.stop(t) // the final snapshot reports the template count
	srv = startServeArgs(t, data, natsPort, httpPort)
	json.Unmarshal([]byte(mustCLI(t, "--data", data, "--json", "status").stdout), &rep)
	if rep.Processed != ref.Lines || rep.TemplatesBy["workload"] != int64(ref.Templates) {
		t.Fatalf("processed %d (want %d), workload templates %d (an uninterrupted parse finds %d)", rep.Processed, ref.Lines, rep.TemplatesBy["workload"], ref.Templates)
	}
}
