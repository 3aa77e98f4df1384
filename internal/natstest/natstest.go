// Package natstest starts real NATS servers for tests: the embedded
// nats-server/v2 in-process, or an external nats-server binary (the Debian
// package by default) as a child process on a loopback port.
package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lognats/lognats/internal/natsx"
)

// Server is a running test server.
type Server struct {
	URL     string
	Dir     string
	Kind    string // "embedded" or "external"
	stop    func()
	kill    func()
	Version string
}

// Kill ends an external server with SIGKILL, as a crash would (for the
// embedded server it is Stop).
func (s *Server) Kill() {
	if s.kill != nil {
		s.kill()
		s.kill, s.stop = nil, nil
		return
	}
	s.Stop()
}

// Stop shuts the server down (idempotent).
func (s *Server) Stop() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Connect returns a client connection closed at the end of the test.
func (s *Server) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect %s: %v", s.URL, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Embedded starts an in-process JetStream server storing under dir (a temp dir when empty).
func Embedded(t testing.TB, dir string) *Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	e, err := natsx.StartEmbedded(context.Background(), natsx.EmbeddedConfig{DataDir: dir, Listen: "127.0.0.1:0", Sync: natsx.SyncPolicy{Interval: natsx.DefaultSyncInterval}})
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	s := &Server{URL: e.ClientURL(), Dir: dir, Kind: "embedded", stop: e.Shutdown}
	t.Cleanup(s.Stop)
	return s
}

// ExternalBinary finds the external server binary: $LOGNATS_TEST_NATS_SERVER
// or nats-server on PATH or in /usr/sbin. Empty when none is installed.
func ExternalBinary() string {
	if p := os.Getenv("LOGNATS_TEST_NATS_SERVER"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	return ""
}

// External starts the nats-server binary with JetStream on a free loopback
// port. It skips the test when no binary is installed.
func External(t testing.TB, dir string) *Server {
	t.Helper()
	bin := ExternalBinary()
	if bin == "" {
		t.Skip("no external nats-server binary (apt-get install nats-server, or set LOGNATS_TEST_NATS_SERVER)")
	}
	if dir == "" {
		dir = t.TempDir()
	}
	port := FreePort(t)
	s, err := StartExternal(bin, dir, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartExternal runs bin as a JetStream server on 127.0.0.1:port storing in dir.
func StartExternal(bin, dir string, port int) (*Server, error) {
	return startExternal(bin, dir, port, false)
}

func startExternal(bin, dir string, port int, clustered bool, extra ...string) (*Server, error) {
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	logf, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("nats-server-%d.log", port)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(dir, "js")}, extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		nc, err := nats.Connect(url)
		if err == nil && clustered {
			break // JetStream waits for the other nodes; see StartCluster
		}
		if err == nil {
			_, jerr := nc.JetStream()
			nc.Close()
			if jerr == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			logf.Close()
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("external nats-server on %s not ready: %v\n%s", url, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &Server{URL: url, Dir: dir, Kind: "external", Version: strings.TrimSpace(string(out)), kill: func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	}, stop: func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}}, nil
}

// Cluster is external servers routed into one JetStream cluster on
// loopback ports.
type Cluster struct {
	Nodes []*Server
	URLs  string // every node's client URL, comma-separated
	bin   string
	args  [][]string
	ports []int
}

// StartCluster starts n external servers as one JetStream cluster and waits
// until JetStream answers through every node. It skips without a binary.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := ExternalBinary()
	if bin == "" {
		t.Skip("no external nats-server binary (apt-get install nats-server, or set LOGNATS_TEST_NATS_SERVER)")
	}
	c := &Cluster{bin: bin}
	routes := make([]string, n)
	cports := make([]int, n)
	for i := range n {
		cports[i] = FreePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", cports[i])
	}
	var urls []string
	for i := range n {
		port := FreePort(t)
		args := []string{"-n", fmt.Sprintf("n%d", i), "--cluster_name", "lognats-test",
			"--cluster", routes[i], "--routes", strings.Join(routes, ",")}
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s, err := startExternal(bin, dir, port, true, args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		c.Nodes, c.args, c.ports = append(c.Nodes, s), append(c.args, args), append(c.ports, port)
		urls = append(urls, s.URL)
	}
	c.URLs = strings.Join(urls, ",")
	for _, s := range c.Nodes {
		waitJetStream(t, s.URL, 60*time.Second)
	}
	// Every node answers; now wait until the meta group can place a
	// stream on all of them.
	nc, err := nats.Connect(c.URLs)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := js.AddStream(&nats.StreamConfig{Name: "NATSTEST_READY", Subjects: []string{"natstest.ready"}, Replicas: n, Storage: nats.MemoryStorage})
		if err == nil {
			_ = js.DeleteStream("NATSTEST_READY")
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster cannot place a stream on %d nodes: %v", n, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Restart starts node i again on its folder and ports after Kill or Stop.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	s, err := startExternal(c.bin, c.Nodes[i].Dir, c.ports[i], true, c.args[i]...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	c.Nodes[i] = s
	waitJetStream(t, s.URL, 60*time.Second)
}

func waitJetStream(t testing.TB, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		nc, err := nats.Connect(url)
		if err == nil {
			js, _ := nc.JetStream()
			_, err = js.AccountInfo(nats.MaxWait(2 * time.Second))
			nc.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream at %s not ready: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Both runs f against the embedded server and against the external binary.
func Both(t *testing.T, f func(t *testing.T, s *Server)) {
	t.Run("embedded", func(t *testing.T) { f(t, Embedded(t, "")) })
	t.Run("external", func(t *testing.T) { f(t, External(t, "")) })
}
