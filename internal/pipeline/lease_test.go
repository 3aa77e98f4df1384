package pipeline_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/natstest"
	"github.com/lognats/lognats/internal/pipeline"
)

// Two processes' worth of Exclusive runners on one lease: never both
// running; a graceful stop hands over at once; a holder that vanishes
// without releasing (its connection cut) is replaced once the key expires,
// and it stops itself before that.
func TestExclusiveHandsOverAndNeverOverlaps(t *testing.T) {
	natstest.Both(t, func(t *testing.T, srv *natstest.Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		quiet := slog.New(slog.NewTextHandler(testWriter{t}, nil))
		const ttl = 2 * time.Second
		newRunner := func(name string) (*pipeline.Exclusive, func()) {
			nc := srv.Connect(t)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			kv, got, err := pipeline.EnsureLeaseBucket(ctx, js, 1, ttl)
			if err != nil {
				t.Fatal(err)
			}
			if got != ttl {
				t.Fatalf("bucket TTL %s, want %s", got, ttl)
			}
			return &pipeline.Exclusive{KV: kv, Name: "drain-workload", Holder: name, TTL: got, Logger: quiet}, nc.Close
		}
		var active, maxActive atomic.Int32
		started := make(chan string, 10)
		service := func(name string) func(context.Context) error {
			return func(ctx context.Context) error {
				n := active.Add(1)
				for {
					m := maxActive.Load()
					if n <= m || maxActive.CompareAndSwap(m, n) {
						break
					}
				}
				started <- name
				<-ctx.Done()
				active.Add(-1)
				return nil
			}
		}
		run := func(e *pipeline.Exclusive, name string) (stop func(), done chan error) {
			rctx, rcancel := context.WithCancel(ctx)
			done = make(chan error, 1)
			go func() { done <- e.Run(rctx, service(name)) }()
			return rcancel, done
		}
		expect := func(want string, within time.Duration) time.Duration {
			t.Helper()
			t0 := time.Now()
			select {
			case got := <-started:
				if got != want {
					t.Fatalf("%s started, want %s", got, want)
				}
			case <-time.After(within):
				t.Fatalf("%s did not start within %s", want, within)
			}
			return time.Since(t0)
		}

		a, _ := newRunner("a")
		stopA, doneA := run(a, "a")
		expect("a", 5*time.Second)
		b, closeB := newRunner("b")
		stopB, doneB := run(b, "b")
		time.Sleep(2 * ttl) // b must stay on standby while a renews
		if b.Leader() || !a.Leader() {
			t.Fatalf("leaders: a %v, b %v; want a only", a.Leader(), b.Leader())
		}

		// Graceful stop of a: b takes over without waiting for the TTL.
		stopA()
		if err := <-doneA; err != nil {
			t.Fatalf("a: %v", err)
		}
		if d := expect("b", 5*time.Second); d > ttl {
			t.Errorf("takeover after a release took %s, want under the TTL %s", d, ttl)
		}

		// c waits; b's connection is cut (as if its process were killed):
		// b must stop on its own and c take over after expiry.
		c, _ := newRunner("c")
		stopC, doneC := run(c, "c")
		defer stopC()
		closeB()
		expect("c", 5*ttl)
		select {
		case <-doneB:
			t.Fatal("b's Run returned; it should stand by")
		default:
		}
		if b.Leader() {
			t.Error("b still thinks it leads after losing its connection")
		}
		if m := maxActive.Load(); m != 1 {
			t.Errorf("%d services ran at once, want 1", m)
		}
		stopB()
		stopC()
		<-doneC
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
