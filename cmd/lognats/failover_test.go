package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
