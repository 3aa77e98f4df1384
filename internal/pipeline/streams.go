// Package pipeline runs lognats' log services on JetStream: the streams and
// subjects records travel on, the workload and pretrained DRAIN services,
// inference, and the stats service that keeps counts and insights. Each
// service is independent and talks to the others only through NATS, so they
// run in one process (`lognats serve`) or as separate ones (`lognats run`).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subject names; see docs/architecture.md.
const (
	LogsStream    = "LOGS"
	ParsedStream  = "PARSED"
	ResultsStream = "RESULTS"
	StateBucket   = "lognats-state" // KV: status snapshots
	StateObjects  = "lognats-state" // Object Store: stats/insights snapshots

	LogsPrefix    = "logs"
	ParsedPrefix  = "parsed"
	ResultsPrefix = "results"

	// HeaderLines carries the number of records in a batch message.
	HeaderLines = "Lognats-Lines"
	// HeaderLogsSeq carries the LOGS sequence a derived batch came from.
	HeaderLogsSeq = "Lognats-Logs-Seq"
)

// StreamConfig sizes the streams lognats creates.
type StreamConfig struct {
	LogsMaxAge     time.Duration // default 24h
	LogsMaxBytes   int64         // default unlimited (-1)
	ResultsMaxAge  time.Duration // default 24h
	ResultsMaxByte int64         // default unlimited (-1)
	// DuplicateWindow is how long derived batches are deduplicated by
	// message id. It must exceed the workload DRAIN snapshot interval plus
	// a restart, because replayed batches are dropped by it.
	DuplicateWindow time.Duration // default 20m
	Replicas        int
}

func (c *StreamConfig) defaults() {
	if c.LogsMaxAge == 0 {
		c.LogsMaxAge = 24 * time.Hour
	}
	if c.LogsMaxBytes == 0 {
		c.LogsMaxBytes = -1
	}
	if c.ResultsMaxAge == 0 {
		c.ResultsMaxAge = 24 * time.Hour
	}
	if c.ResultsMaxByte == 0 {
		c.ResultsMaxByte = -1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 20 * time.Minute
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
}

// EnsureStreams creates the streams and state buckets if missing. Existing
// streams are left as they are, so operators can tune them with `nats`.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) error {
	cfg.defaults()
	streams := []jetstream.StreamConfig{
		{Name: LogsStream, Subjects: []string{LogsPrefix + ".>"}, Description: "lognats raw log batches",
			MaxAge: cfg.LogsMaxAge, MaxBytes: cfg.LogsMaxBytes, Duplicates: 2 * time.Minute},
		{Name: ParsedStream, Subjects: []string{ParsedPrefix + ".>"}, Description: "lognats mined log batches awaiting inference",
			MaxAge: cfg.ResultsMaxAge, MaxBytes: cfg.ResultsMaxByte, Duplicates: cfg.DuplicateWindow},
		{Name: ResultsStream, Subjects: []string{ResultsPrefix + ".>"}, Description: "lognats labelled log batches",
			MaxAge: cfg.ResultsMaxAge, MaxBytes: cfg.ResultsMaxByte, Duplicates: cfg.DuplicateWindow},
	}
	for _, sc := range streams {
		sc.Storage = jetstream.FileStorage
		sc.Replicas = cfg.Replicas
		sc.Retention = jetstream.LimitsPolicy
		sc.Discard = jetstream.DiscardOld
		if _, err := js.Stream(ctx, sc.Name); err == nil {
			continue
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("look up stream %s: %w", sc.Name, err)
		}
		if _, err := js.CreateStream(ctx, sc); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
	}
	if _, err := js.KeyValue(ctx, StateBucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: StateBucket, Description: "lognats service status", Storage: jetstream.FileStorage, Replicas: cfg.Replicas})
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create KV bucket %s: %w", StateBucket, err)
		}
	} else if err != nil {
		return fmt.Errorf("open KV bucket %s: %w", StateBucket, err)
	}
	if _, err := js.ObjectStore(ctx, StateObjects); errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: StateObjects, Description: "lognats service state snapshots", Storage: jetstream.FileStorage, Replicas: cfg.Replicas})
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create object bucket %s: %w", StateObjects, err)
		}
	} else if err != nil {
		return fmt.Errorf("open object bucket %s: %w", StateObjects, err)
	}
	return nil
}
