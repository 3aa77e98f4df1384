package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Some services must run once per cluster however many lognats processes
// run them: the workload DRAIN is one model fed by one durable consumer, and
// a second copy would reset that consumer and write snapshots of a model
// that saw only part of the lines. Such a service runs under a lease: a key
// in a KV bucket whose max age is the lease's time to live. The holder
// renews it with compare-and-set; the others wait and take it over when it
// is released or, after a crash, expires.
const (
	LeaseBucket     = "lognats-leases"
	DefaultLeaseTTL = 15 * time.Second
)

// EnsureLeaseBucket opens the lease bucket, creating it with ttl as its max
// age if it does not exist. An existing bucket keeps its own max age, which
// is returned: holders must renew well within it.
func EnsureLeaseBucket(ctx context.Context, js jetstream.JetStream, replicas int, ttl time.Duration) (jetstream.KeyValue, time.Duration, error) {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	kv, err := js.KeyValue(ctx, LeaseBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: LeaseBucket, Description: "lognats singleton service leases",
			TTL: ttl, History: 1, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another process was quicker
			kv, err = js.KeyValue(ctx, LeaseBucket)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("lease bucket %s: %w", LeaseBucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("lease bucket %s: %w", LeaseBucket, err)
	}
	if st.TTL() <= 0 {
		return nil, 0, fmt.Errorf("lease bucket %s has no max age: a crashed holder would keep its leases forever", LeaseBucket)
	}
	return kv, st.TTL(), nil
}

// NewHolderID names this process in lease values and logs.
func NewHolderID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Exclusive runs a service only while this process holds its lease.
type Exclusive struct {
	KV     jetstream.KeyValue
	Name   string        // lease key, e.g. "drain-workload"
	Holder string        // this process (NewHolderID)
	TTL    time.Duration // the bucket's max age
	Logger *slog.Logger

	mu     sync.Mutex
	leader bool
}

// Leader reports whether this process holds the lease now.
func (e *Exclusive) Leader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

func (e *Exclusive) setLeader(v bool) {
	e.mu.Lock()
	e.leader = v
	e.mu.Unlock()
}

// errLeaseLost ends a term whose lease could not be renewed.
var errLeaseLost = errors.New("lease lost")

// Run waits for the lease, runs run while holding it, and waits again when
// it is lost, until ctx ends; it then releases the lease so a standby takes
// over at once. run's context ends when the lease is lost, at the latest
// half a TTL after the last renewal, so two holders never overlap while
// clocks agree. An error of run itself ends Run.
func (e *Exclusive) Run(ctx context.Context, run func(context.Context) error) error {
	if e.TTL <= 0 {
		return fmt.Errorf("lease %s: no TTL", e.Name)
	}
	poll := e.TTL / 3
	waitingFor := ""
	for {
		rev, err := e.KV.Create(ctx, e.Name, []byte(e.Holder))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			holder := e.currentHolder(ctx)
			if errors.Is(err, jetstream.ErrKeyExists) {
				if holder != waitingFor {
					e.Logger.Info("standby: another process holds the lease", "lease", e.Name, "holder", holder)
					waitingFor = holder
				}
			} else {
				e.Logger.Warn("lease: cannot reach the lease bucket", "lease", e.Name, "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
			continue
		}
		waitingFor = ""
		e.Logger.Info("lease acquired", "lease", e.Name, "holder", e.Holder)
		e.setLeader(true)
		err = e.term(ctx, rev, run)
		e.setLeader(false)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errLeaseLost):
			e.Logger.Warn("lease lost; standing by", "lease", e.Name)
		case err != nil:
			return err
		}
	}
}

// term runs one tenure.
func (e *Exclusive) term(ctx context.Context, rev uint64, run func(context.Context) error) error {
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.renew(tctx, rev, cancel)
	}()
	err := run(tctx)
	cancel(nil)
	<-done
	if ctx.Err() != nil {
		// Graceful stop: hand over now instead of after the TTL.
		rctx, rc := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rc()
		if derr := e.release(rctx); derr != nil {
			e.Logger.Warn("lease release failed; a standby takes over when it expires", "lease", e.Name, "err", derr)
		}
		return nil
	}
	if errors.Is(context.Cause(tctx), errLeaseLost) {
		return errLeaseLost
	}
	return err
}

// release deletes the key if it is still ours. The revision is read back
// rather than remembered: a renewal cut short by the stop may still have
// been applied by the server.
func (e *Exclusive) release(ctx context.Context) error {
	var err error
	for range 3 {
		var en jetstream.KeyValueEntry
		if en, err = e.KV.Get(ctx, e.Name); err != nil {
			return err
		}
		if string(en.Value()) != e.Holder {
			return nil // already someone else's
		}
		if err = e.KV.Delete(ctx, e.Name, jetstream.LastRevision(en.Revision())); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// renew keeps the lease until ctx ends. It
// cancels the term when a renewal is refused (someone else holds the key)
// or when none succeeded for half a TTL, well before the key expires for
// the others.
func (e *Exclusive) renew(ctx context.Context, rev uint64, cancel context.CancelCauseFunc) {
	every := e.TTL / 5
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Not cut short by the end of the term: an abandoned request may
		// still be applied, and release must see its revision.
		uctx, uc := context.WithTimeout(context.WithoutCancel(ctx), every)
		nrev, err := e.KV.Update(uctx, e.Name, []byte(e.Holder), rev)
		uc()
		if err == nil {
			rev, lastOK = nrev, time.Now()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		// A refused compare-and-set (10071, or 10164 on a replicated bucket)
		// means the key moved: the lease is someone else's.
		refused := errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
		if refused || time.Since(lastOK) > e.TTL/2 {
			e.Logger.Error("lease renewal failed; stopping the service", "lease", e.Name, "err", err)
			cancel(errLeaseLost)
			return
		}
		e.Logger.Warn("lease renewal failed; retrying", "lease", e.Name, "err", err)
	}
}

func (e *Exclusive) currentHolder(ctx context.Context) string {
	gctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	en, err := e.KV.Get(gctx, e.Name)
	if err != nil {
		return "?"
	}
	return string(en.Value())
}
