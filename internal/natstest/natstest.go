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
	Version string
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
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("nats-server-%d.log", port)))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(dir, "js"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		nc, err := nats.Connect(url)
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
	return &Server{URL: url, Dir: dir, Kind: "external", Version: strings.TrimSpace(string(out)), stop: func() {
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
