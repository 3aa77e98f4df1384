package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/natstest"
)

// These tests run the real binary as child processes, so that SIGKILL hits a
// real process holding a real JetStream store.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lognats-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "lognats")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build lognats: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run lognats %v: %v", args, err)
	}
	return result{so.String(), se.String(), code}
}

func mustCLI(t *testing.T, args ...string) result {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("lognats %v exited %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// server is a `lognats serve` child process.
type server struct {
	cmd      *exec.Cmd
	data     string
	natsURL  string
	httpAddr string
	log      *bytes.Buffer
}

func startServe(t *testing.T, data string, natsPort, httpPort int) *server {
	t.Helper()
	return startServeArgs(t, data, natsPort, httpPort)
}

func startServeArgs(t *testing.T, data string, natsPort, httpPort int, extra ...string) *server {
	t.Helper()
	s := &server{data: data, natsURL: fmt.Sprintf("nats://127.0.0.1:%d", natsPort), httpAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), log: &bytes.Buffer{}}
	args := append([]string{"serve", "--data", data, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPort), "--http", s.httpAddr}, extra...)
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + s.httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not healthy: %v\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, s.log)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM\n%s", s.log)
	}
}

func writeRandom(t *testing.T, path string, n int64) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keep []byte
	if n <= 32<<20 {
		keep = make([]byte, n)
		rand.Read(keep)
		if _, err := f.Write(keep); err != nil {
			t.Fatal(err)
		}
		return keep
	}
	if _, err := io.CopyN(f, rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	return nil
}

func TestServeSurvivesStopAndKill(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tmp := t.TempDir()
	natsPort, httpPort := natstest.FreePort(t), natstest.FreePort(t)
	srv := startServe(t, data, natsPort, httpPort)

	model := writeRandom(t, filepath.Join(tmp, "m1"), 3<<20)
	r := mustCLI(t, "--data", data, "models", "put", "nulog/workload", filepath.Join(tmp, "m1"), "--meta", "score=0.9", "--format", "nulog", "--format-version", "1")
	if got := lastLine(r.stdout); got != "nulog/workload@v1" {
		t.Fatalf("put printed %q as its last line", got)
	}
	mustCLI(t, "--data", data, "models", "put", "drain/workload", filepath.Join(tmp, "m1"))
	mustCLI(t, "--data", data, "models", "put", "drain/workload", filepath.Join(tmp, "m1"), "--meta", "lines=7")

	check := func(when string) {
		t.Helper()
		out := filepath.Join(tmp, "got")
		os.Remove(out)
		mustCLI(t, "--data", data, "models", "get", "nulog/workload", "-o", out)
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, model) {
			t.Fatalf("%s: model differs (%d bytes, want %d)", when, len(got), len(model))
		}
		var info struct {
			Version uint64            `json:"version"`
			Current bool              `json:"current"`
			Format  string            `json:"format"`
			Meta    map[string]string `json:"meta"`
		}
		r := mustCLI(t, "--data", data, "--json", "models", "info", "nulog/workload")
		if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
			t.Fatal(err)
		}
		if info.Version != 1 || !info.Current || info.Format != "nulog" || info.Meta["score"] != "0.9" {
			t.Fatalf("%s: info = %+v", when, info)
		}
		r = mustCLI(t, "--data", data, "--json", "models", "info", "drain/workload")
		json.Unmarshal([]byte(r.stdout), &info)
		if info.Version != 2 || info.Meta["lines"] != "7" {
			t.Fatalf("%s: drain pointer = %+v", when, info)
		}
	}
	check("before restart")
	srv.stop(t)
	srv = startServe(t, data, natsPort, httpPort)
	check("after graceful restart")
	srv.kill()
	// With no serve running, the CLI opens the folder itself.
	check("with serve killed, CLI on the folder")
	srv = startServe(t, data, natsPort, httpPort)
	check("after SIGKILL restart")
	mustCLI(t, "--data", data, "models", "verify")
}

func streamBytes(t *testing.T, url, bucket string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), "OBJ_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Bytes
}

func waitBytes(t *testing.T, url, bucket string, atLeast uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for streamBytes(t, url, bucket) < atLeast {
		if time.Now().After(deadline) {
			t.Fatalf("stream never reached %d bytes", atLeast)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKillMidPut(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MiB")
	}
	tmp := t.TempDir()
	big := filepath.Join(tmp, "big")
	writeRandom(t, big, 200<<20)
	small := writeRandom(t, filepath.Join(tmp, "small"), 1<<20)

	for _, victim := range []string{"writer", "serve"} {
		t.Run("kill-"+victim, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			natsPort, httpPort := natstest.FreePort(t), natstest.FreePort(t)
			srv := startServe(t, data, natsPort, httpPort)
			mustCLI(t, "--data", data, "models", "put", "nulog/workload", filepath.Join(tmp, "small"))
			before := streamBytes(t, srv.natsURL, "opnilogmodelbucket")

			put := exec.Command(binPath, "--data", data, "models", "put", "nulog/workload", big)
			var perr bytes.Buffer
			put.Stderr = &perr
			if err := put.Start(); err != nil {
				t.Fatal(err)
			}
			waitBytes(t, srv.natsURL, "opnilogmodelbucket", before+60<<20)
			if victim == "writer" {
				put.Process.Signal(syscall.SIGKILL)
				put.Wait()
			} else {
				srv.kill()
				put.Process.Signal(syscall.SIGKILL) // it would otherwise retry against the dead server
				put.Wait()
				srv = startServe(t, data, natsPort, httpPort)
			}
			r := mustCLI(t, "--data", data, "--json", "models", "history", "nulog/workload")
			var hist []map[string]any
			json.Unmarshal([]byte(r.stdout), &hist)
			if len(hist) != 1 || hist[0]["version"].(float64) != 1 {
				t.Fatalf("after killing the %s mid-put, history = %s", victim, r.stdout)
			}
			out := filepath.Join(tmp, "out-"+victim)
			mustCLI(t, "--data", data, "models", "get", "nulog/workload", "-o", out)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, small) {
				t.Fatal("previous current version damaged")
			}
			dirty := streamBytes(t, srv.natsURL, "opnilogmodelbucket")
			r = mustCLI(t, "--data", data, "--json", "models", "gc", "--grace", "0s")
			after := streamBytes(t, srv.natsURL, "opnilogmodelbucket")
			t.Logf("kill %s: stream bytes before put %d, after kill %d, after gc %d; gc: %s", victim, before, dirty, after, strings.TrimSpace(r.stdout))
			if dirty < before+50<<20 || after > before+64<<10 {
				t.Fatalf("gc left %d bytes, want about %d (was %d)", after, before, dirty)
			}
			mustCLI(t, "--data", data, "models", "verify")
		})
	}
}

func TestTamperedModelCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tmp := t.TempDir()
	srv := startServe(t, data, natstest.FreePort(t), natstest.FreePort(t))
	writeRandom(t, filepath.Join(tmp, "m"), 2<<20)
	mustCLI(t, "--data", data, "models", "put", "drain/workload", filepath.Join(tmp, "m"))

	nc, err := nats.Connect(srv.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	js, _ := jetstream.New(nc)
	obs, _ := js.ObjectStore(ctx, "drainmodelbucket")
	info, err := obs.GetInfo(ctx, "drain/workload/v1")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := js.Stream(ctx, "OBJ_drainmodelbucket")
	subj := "$O.drainmodelbucket.C." + info.NUID
	msg, err := st.GetLastMsgForSubject(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	st.DeleteMsg(ctx, msg.Sequence)
	msg.Data[10] ^= 1
	if _, err := js.Publish(ctx, subj, msg.Data); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(tmp, "out")
	r := runCLI(t, "--data", data, "models", "get", "drain/workload", "-o", out)
	if r.code == 0 || !strings.Contains(r.stderr, "drain/workload/v1") || !strings.Contains(r.stderr, "damaged") {
		t.Fatalf("get of tampered model: exit %d, stderr %q", r.code, r.stderr)
	}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if e.Name() != "m" {
			t.Fatalf("get left %s behind", e.Name())
		}
	}
	r = runCLI(t, "--data", data, "models", "verify")
	if r.code != 3 || !strings.Contains(r.stdout, "BAD  drain/workload@v1") {
		t.Fatalf("verify: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestBadInputCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "m"), []byte("model"), 0o644)
	mustCLI(t, "--data", data, "models", "put", "other/seed", filepath.Join(tmp, "m")) // a store to be wrong about
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"models", "put", "drain/x", filepath.Join(tmp, "nope")}, "no such file"},
		{"bad ref", []string{"models", "get", "drain", "-o", "x"}, "want KIND/SCOPE"},
		{"bad version", []string{"models", "info", "drain/x@vlatest"}, "version must be"},
		{"long name", []string{"models", "put", "drain/" + strings.Repeat("a", 5000), filepath.Join(tmp, "m")}, "at most 128"},
		{"long bucket", []string{"--drain-bucket", strings.Repeat("b", 200), "models", "ls"}, "at most 64"},
		{"bad sync", []string{"--nats-sync", "sometimes", "models", "ls"}, "--nats-sync"},
		{"bad meta", []string{"models", "put", "drain/x", filepath.Join(tmp, "m"), "--meta", "novalue"}, "KEY=VALUE"},
		{"unknown model", []string{"models", "get", "drain/none", "-o", filepath.Join(tmp, "o")}, "no current version"},
		{"unknown flag", []string{"models", "ls", "--frobnicate"}, "unknown flag"},
		{"unreachable nats", []string{"--nats", "nats://127.0.0.1:1", "models", "ls"}, "connect to NATS at nats://127.0.0.1:1"},
		{"mistyped data folder", []string{"--data", filepath.Join(tmp, "typo"), "status"}, "does not exist"},
		{"empty data folder name", []string{"--data", "", "models", "ls"}, "--data must name a folder"},
		{"folder that is not a store", []string{"--data", tmp, "models", "ls"}, "not a lognats data folder"},
		{"plain lines without workload", []string{"ingest", filepath.Join(tmp, "m")}, "need a workload"},
		{"workload with two slashes", []string{"ingest", "--workload", "a/b/c", filepath.Join(tmp, "m")}, "one slash"},
		{"workload with empty half", []string{"ingest", "--workload", "/", filepath.Join(tmp, "m")}, "neither empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"--data", data}, c.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "panic") {
				t.Fatalf("exit %d, stderr %q; want non-zero and %q", r.code, r.stderr, c.want)
			}
		})
	}
	t.Run("folder locked", func(t *testing.T) {
		srv := startServe(t, data, natstest.FreePort(t), natstest.FreePort(t))
		r := runCLI(t, "serve", "--data", data, "--nats-listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
		if r.code == 0 || !strings.Contains(r.stderr, "is locked by another lognats process") || !strings.Contains(r.stderr, fmt.Sprint(srv.cmd.Process.Pid)) {
			t.Fatalf("second serve: exit %d, stderr %q", r.code, r.stderr)
		}
		// Other commands use the running serve instead of failing.
		mustCLI(t, "--data", data, "models", "ls")
	})
}

// One-off commands started together on a folder with no serve take turns
// with the folder instead of failing on its lock.
func TestConcurrentCommandsWithoutServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	model := filepath.Join(t.TempDir(), "m.bin")
	writeRandom(t, model, 1000)
	errs := make(chan string, 5)
	for range 5 {
		go func() {
			r := runCLI(t, "--data", data, "models", "put", "x/y", model)
			if r.code != 0 {
				errs <- fmt.Sprintf("exit %d: %s", r.code, r.stderr)
				return
			}
			errs <- ""
		}()
	}
	for range 5 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
	hist := mustCLI(t, "--data", data, "models", "history", "x/y").stdout
	for v := 1; v <= 5; v++ {
		if !strings.Contains(hist, fmt.Sprintf("x/y@v%d", v)) {
			t.Fatalf("history lacks v%d:\n%s", v, hist)
		}
	}
}

// The first command on a new data folder, with no serve running, may be an
// ingest: it makes the streams and the lines wait there for the services.
func TestIngestIntoNewFolder(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	logs := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(logs, []byte("GET /a 200\nGET /b 200\nGET /c 500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustCLI(t, "--data", data, "ingest", "--workload", "shop/api", logs)
	if !strings.Contains(r.stdout, "accepted=3 stored=3") {
		t.Fatalf("ingest into a new folder: %q", r.stdout)
	}
	srv := startServe(t, data, natstest.FreePort(t), natstest.FreePort(t))
	deadline := time.Now().Add(30 * time.Second)
	for st := readStatus(t, srv.natsURL); st.Processed != 3; st = readStatus(t, srv.natsURL) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not process the waiting lines: %+v\n%s", st, srv.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestGetIntoLinksAndDevices(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tmp := t.TempDir()
	model := writeRandom(t, filepath.Join(tmp, "m"), 50_000)
	mustCLI(t, "--data", data, "models", "put", "drain/x", filepath.Join(tmp, "m"))
	// A dangling relative symlink: the model lands at its target, the link stays.
	os.Symlink("real/t.bin", filepath.Join(tmp, "link.bin"))
	os.Mkdir(filepath.Join(tmp, "real"), 0o755)
	mustCLI(t, "--data", data, "models", "get", "drain/x", "-o", filepath.Join(tmp, "link.bin"))
	if fi, err := os.Lstat(filepath.Join(tmp, "link.bin")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("get replaced the symlink")
	}
	if got, _ := os.ReadFile(filepath.Join(tmp, "real", "t.bin")); !bytes.Equal(got, model) {
		t.Fatal("symlink target does not hold the model")
	}
	// A full device: the error is reported and the device node survives.
	if _, err := os.Stat("/dev/full"); err == nil {
		r := runCLI(t, "--data", data, "models", "get", "drain/x", "-o", "/dev/full")
		if r.code == 0 || !strings.Contains(r.stderr, "no space left") {
			t.Fatalf("get -o /dev/full: exit %d, %q", r.code, r.stderr)
		}
		if fi, err := os.Stat("/dev/full"); err != nil || fi.Mode()&os.ModeDevice == 0 {
			t.Fatal("/dev/full is no longer a device")
		}
	}
}

// natsCLI finds the standard `nats` command (natscli), which .ci/run installs.
func natsCLI() string {
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, "go", "bin", "nats"); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestStandardNATSCLIReadsModels: a version is a plain object and the
// pointer a plain KV value, readable without lognats.
func TestStandardNATSCLIReadsModels(t *testing.T) {
	nats := natsCLI()
	if nats == "" {
		t.Skip("natscli not installed (go install github.com/nats-io/natscli/nats@v0.5.0)")
	}
	data := filepath.Join(t.TempDir(), "data")
	tmp := t.TempDir()
	srv := startServe(t, data, natstest.FreePort(t), natstest.FreePort(t))
	model := writeRandom(t, filepath.Join(tmp, "m"), 3<<20)
	mustCLI(t, "--data", data, "models", "put", "nulog/rancher", filepath.Join(tmp, "m"), "--meta", "score=0.9")
	out := filepath.Join(tmp, "got")
	if b, err := exec.Command(nats, "--server", srv.natsURL, "object", "get", "opnilogmodelbucket", "nulog/rancher/v1", "--output", out, "--force").CombinedOutput(); err != nil {
		t.Fatalf("nats object get: %v\n%s", err, b)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, model) {
		t.Fatal("nats object get returned different bytes")
	}
	b, err := exec.Command(nats, "--server", srv.natsURL, "kv", "get", "lognats-models", "current.nulog.rancher", "--raw").Output()
	if err != nil || !strings.Contains(string(b), `"object":"nulog/rancher/v1"`) {
		t.Fatalf("nats kv get: %v %s", err, b)
	}
}
