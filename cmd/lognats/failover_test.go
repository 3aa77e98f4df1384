package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/natstest"
	"github.com/lognats/lognats/internal/pipeline"
)

type child struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(binPath, args...), log: &bytes.Buffer{}}
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
			_ = c.cmd.Wait()
		}
	})
	return c
}

// leaseHolderPID returns the pid in the drain-workload lease, 0 if none.
func leaseHolderPID(t *testing.T, url string) int {
	var rep pipeline.StatusReport
	r := runCLI(t, "--nats", url, "--json", "status")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil {
		return 0
	}
	parts := strings.Split(rep.Leases["drain-workload"], "/")
	if len(parts) != 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[1])
	return pid
}

// Two `lognats run drain-workload` processes on one external NATS server:
// one holds the lease and mines, the other stands by. SIGKILL of the holder
// mid-ingest: the standby takes over, every line is processed exactly once
// and the templates equal an uninterrupted parse.
func TestWorkloadDrainFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("processes a large ingest")
	}
	bin := natstest.ExternalBinary()
	if bin == "" {
		t.Skip("no external nats-server binary")
	}
	srv, err := natstest.StartExternal(bin, t.TempDir(), natstest.FreePort(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	url := srv.URL
	logs := bigLogFile(t, 120_000)
	var ref struct {
		Lines     int64 `json:"lines"`
		Templates int   `json:"templates"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "parse", "--json", logs).stdout), &ref); err != nil {
		t.Fatal(err)
	}
	common := []string{"--nats", url, "--log-level", "info"}
	runner := func(svc ...string) *child {
		args := append(append([]string{"run"}, svc...), common...)
		args = append(args, "--snapshot-lines", "20000", "--http", fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t)))
		return startChild(t, args...)
	}
	a, b := runner("drain-workload"), runner("drain-workload")
	runner("inference", "api")
	var holder int
	deadline := time.Now().Add(30 * time.Second)
	for holder = leaseHolderPID(t, url); holder == 0; holder = leaseHolderPID(t, url) {
		if time.Now().After(deadline) {
			t.Fatalf("no process took the lease\nA:\n%s\nB:\n%s", a.log, b.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	leader, standby := a, b
	if b.cmd.Process.Pid == holder {
		leader, standby = b, a
	} else if a.cmd.Process.Pid != holder {
		t.Fatalf("lease held by pid %d, neither child (%d, %d)", holder, a.cmd.Process.Pid, b.cmd.Process.Pid)
	}
	mustCLI(t, "--nats", url, "ingest", "--workload", "shop/api", logs)
	deadline = time.Now().Add(60 * time.Second)
	for st := readStatus(t, url); st.Processed < 30_000; st = readStatus(t, url) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing processed: %+v\n%s", st, leader.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = leader.cmd.Process.Signal(syscall.SIGKILL)
	_ = leader.cmd.Wait()
	killedAt := time.Now()
	t.Logf("killed the lease holder at processed=%d of %d", readStatus(t, url).Processed, ref.Lines)

	deadline = time.Now().Add(120 * time.Second)
	for {
		st := readStatus(t, url)
		if st.Ingested == ref.Lines && st.Processed == st.Ingested && leaseHolderPID(t, url) == standby.cmd.Process.Pid {
			t.Logf("standby caught up %s after the kill", time.Since(killedAt).Round(time.Second))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the kill: %+v, lease pid %d\nstandby:\n%s", st, leaseHolderPID(t, url), standby.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(standby.log.String(), "lease acquired") {
		t.Errorf("standby log does not say it took the lease:\n%s", standby.log)
	}
	// A graceful stop writes the final snapshot, whose template count must
	// equal an uninterrupted parse of the same lines.
	_ = standby.cmd.Process.Signal(syscall.SIGTERM)
	if err := standby.cmd.Wait(); err != nil {
		t.Fatalf("standby exit: %v\n%s", err, standby.log)
	}
	var rep pipeline.StatusReport
	if err := json.Unmarshal([]byte(mustCLI(t, "--nats", url, "--json", "status").stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.TemplatesBy["workload"] != int64(ref.Templates) {
		t.Errorf("workload templates %d, an uninterrupted parse finds %d", rep.TemplatesBy["workload"], ref.Templates)
	}
	if _, held := rep.Leases["drain-workload"]; held {
		t.Errorf("lease still held after the last holder stopped: %v", rep.Leases)
	}
}

// The whole pipeline on a three-node cluster with replicas 3: SIGKILL of
// the node leading the LOGS stream in the middle of an ingest should lose no
// line and count none twice. Opt-in (LOGNATS_CLUSTER_PIPELINE=1): it takes
// minutes and is not reliable yet. The services process every batch, but
// the status bookkeeping (KV listings, the stats service's ordered
// consumers) can stall after the node loss (docs/operations.md).
func TestPipelineSurvivesClusterNodeLoss(t *testing.T) {
	if os.Getenv("LOGNATS_CLUSTER_PIPELINE") == "" {
		t.Skip("set LOGNATS_CLUSTER_PIPELINE=1: reproduces a known stall after a node loss")
	}
	c := natstest.StartCluster(t, 3)
	logs := bigLogFile(t, 200_000)
	var ref struct {
		Lines     int64 `json:"lines"`
		Templates int   `json:"templates"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "parse", "--json", logs).stdout), &ref); err != nil {
		t.Fatal(err)
	}
	common := []string{"--nats", c.URLs, "--replicas", "3"}
	svc := startChild(t, append(append([]string{"run", "drain-workload", "inference", "api"}, common...),
		"--snapshot-lines", "10000", "--http", fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t)), "--log-level", "info")...)
	status := func() pipeline.StatusReport {
		var rep pipeline.StatusReport
		r := runCLI(t, "--nats", c.URLs, "--json", "status")
		_ = json.Unmarshal([]byte(r.stdout), &rep)
		return rep
	}
	deadline := time.Now().Add(60 * time.Second)
	for status().Leases["drain-workload"] == "" {
		if time.Now().After(deadline) {
			t.Fatalf("services did not start:\n%s", svc.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Kill the node leading LOGS while the ingest is under way.
	leader := logsLeader(t, c.URLs)
	ing := startChild(t, append(common, "ingest", "--workload", "shop/api", logs)...)
	time.Sleep(700 * time.Millisecond)
	c.Nodes[leader].Kill()
	killed := time.Now()
	if err := ing.cmd.Wait(); err != nil {
		t.Fatalf("ingest across the node loss: %v\n%s", err, ing.log)
	}
	t.Logf("killed n%d (LOGS leader) mid-ingest; ingest: %s", leader, strings.TrimSpace(ing.log.String()))
	deadline = time.Now().Add(4 * time.Minute)
	for {
		rep := status()
		if rep.Ingested == ref.Lines && rep.Processed == ref.Lines {
			t.Logf("caught up %s after the kill", time.Since(killed).Round(time.Second))
			break
		}
		if rep.Processed > ref.Lines || time.Now().After(deadline) {
			for i, n := range c.Nodes {
				if i == leader {
					continue
				}
				for _, args := range [][]string{{"consumer", "report", "LOGS"}, {"consumer", "report", "PARSED"}, {"stream", "report"}} {
					out, _ := exec.Command(natsCLI(), append([]string{"--server", n.URL, "--timeout", "5s"}, args...)...).CombinedOutput()
					t.Logf("node %d %v:\n%s", i, args, out)
				}
				break
			}
			r := runCLI(t, "--nats", c.URLs, "status")
			t.Fatalf("after the kill: %+v (want %d lines)\nstatus: %s %s\n%s", rep.Status, ref.Lines, r.stdout, r.stderr, svc.log)
		}
		time.Sleep(500 * time.Millisecond)
	}
	c.Restart(t, leader)
	_ = svc.cmd.Process.Signal(syscall.SIGTERM)
	if err := svc.cmd.Wait(); err != nil {
		t.Fatalf("services exit: %v\n%s", err, svc.log)
	}
	rep := status()
	if rep.Processed != ref.Lines || rep.TemplatesBy["workload"] != int64(ref.Templates) {
		t.Fatalf("processed %d (want %d), workload templates %d (an uninterrupted parse finds %d)", rep.Processed, ref.Lines, rep.TemplatesBy["workload"], ref.Templates)
	}
}

func logsLeader(t *testing.T, urls string) int {
	t.Helper()
	nc, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, pipeline.LogsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil || info.Cluster == nil || info.Config.Replicas != 3 {
		t.Fatalf("LOGS stream: %+v %v", info, err)
	}
	return int(info.Cluster.Leader[len(info.Cluster.Leader)-1] - '0')
}
