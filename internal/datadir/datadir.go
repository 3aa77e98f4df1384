// Package datadir guards a lognats data folder: it holds the lock that keeps
// two servers off one JetStream store, and the discovery file through which
// short-lived commands find the `lognats serve` that owns the folder.
package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const (
	lockFile = "lognats.lock"
	infoFile = "serve.json"
)

// ErrLocked is returned (wrapped in *LockedError) when another process holds the folder.
var ErrLocked = errors.New("data folder is locked by another lognats process")

// LockedError says who holds a data folder, as far as its discovery file tells.
type LockedError struct {
	Dir   string
	Owner *ServeInfo // nil when the owner wrote no discovery file
}

func (e *LockedError) Error() string {
	if e.Owner != nil {
		return fmt.Sprintf("data folder %s is locked by another lognats process (%s, pid %d, nats %s); stop it or use a different --data",
			e.Dir, e.Owner.Role, e.Owner.PID, e.Owner.NATSURL)
	}
	return fmt.Sprintf("data folder %s is locked by another lognats process; stop it or use a different --data", e.Dir)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// ServeInfo is what the folder's owner publishes about itself in serve.json.
type ServeInfo struct {
	PID     int       `json:"pid"`
	Role    string    `json:"role"` // "serve" or the command that started an embedded server
	NATSURL string    `json:"nats_url"`
	HTTP    string    `json:"http,omitempty"`
	Started time.Time `json:"started"`
}

// Lock is an exclusive advisory lock on a data folder. The kernel drops it
// when the process dies, so a SIGKILLed server never leaves the folder stuck.
type Lock struct {
	dir string
	f   *os.File
}

// Acquire creates dir if needed and takes its lock without waiting.
func Acquire(dir string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve data folder %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create data folder %s: %w", abs, err)
	}
	f, err := os.OpenFile(filepath.Join(abs, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrPermission) {
		// Another user's folder: if its serve is running, say so, so the
		// command can use that serve instead of writing here.
		if rf, rerr := os.Open(filepath.Join(abs, lockFile)); rerr == nil {
			ferr := syscall.Flock(int(rf.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
			rf.Close()
			if errors.Is(ferr, syscall.EWOULDBLOCK) {
				info, _ := ReadServeInfo(abs)
				return nil, &LockedError{Dir: abs, Owner: info}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open lock file in %s: %w", abs, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			info, _ := ReadServeInfo(abs)
			return nil, &LockedError{Dir: abs, Owner: info}
		}
		return nil, fmt.Errorf("lock data folder %s: %w", abs, err)
	}
	return &Lock{dir: abs, f: f}, nil
}

// Dir is the absolute path of the locked folder.
// Looks reports whether dir looks like a lognats data folder (it has the
// lock file or the NATS store), so read-only commands can refuse a
// mistyped --data that happens to exist.
func Looks(dir string) bool {
	for _, n := range []string{lockFile, "nats"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

func (l *Lock) Dir() string { return l.dir }

// Publish writes serve.json atomically so readers never see half a file.
func (l *Lock) Publish(info ServeInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", infoFile, err)
	}
	tmp := filepath.Join(l.dir, infoFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, infoFile)); err != nil {
		return fmt.Errorf("publish %s: %w", infoFile, err)
	}
	return nil
}

// Release removes the discovery file and drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = os.Remove(filepath.Join(l.dir, infoFile))
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

// ReadServeInfo reads the discovery file of dir. A missing file is (nil, nil).
func ReadServeInfo(dir string) (*ServeInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, infoFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", infoFile, err)
	}
	var info ServeInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("parse %s in %s: %w", infoFile, dir, err)
	}
	return &info, nil
}
