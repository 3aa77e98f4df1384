package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/lognats/lognats/internal/logrec"
)

// Publisher writes record batches to the LOGS stream. Publishes are
// asynchronous with a bounded window; Flush waits until JetStream has
// acknowledged every batch, which is when the lines count as ingested.
type Publisher struct {
	js      jetstream.JetStream
	lines   atomic.Int64
	pending atomic.Int64
	errs    chan error
}

// AckTimeout bounds the wait for one asynchronous publish's acknowledgement.
// On a cluster an acknowledgement can be lost when a stream leader dies;
// the batch is then sent again under the same message id, which JetStream
// deduplicates.
const AckTimeout = 10 * time.Second

// NewPublisher makes a publisher on its own JetStream context.
func NewPublisher(nc *nats.Conn) (*Publisher, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256), jetstream.WithPublishAsyncTimeout(AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	return &Publisher{js: js, errs: make(chan error, 1)}, nil
}

// Publish sends one batch; it returns an earlier asynchronous failure if any.
func (p *Publisher) Publish(ctx context.Context, s logrec.Stream, recs []logrec.Record) error {
	select {
	case err := <-p.errs:
		return err
	default:
	}
	if len(recs) == 0 {
		return nil
	}
	msg := nats.NewMsg(s.Subject(LogsPrefix))
	size := 64
	for i := range recs {
		size += len(recs[i].Message) + len(recs[i].Pod) + len(recs[i].Container) + 16
	}
	encodePayload(msg, logrec.AppendLogs(make([]byte, 0, size), s, recs))
	msg.Header.Set(HeaderLines, strconv.Itoa(len(recs)))
	// A unique id lets a retried publish be deduplicated by JetStream.
	msg.Header.Set(jetstream.MsgIDHeader, nuid.Next())
	n := int64(len(recs))
	fut, err := p.js.PublishMsgAsync(msg)
	if err != nil {
		if err := republish(ctx, p.js, msg); err != nil {
			return fmt.Errorf("publish batch to %s: %w", msg.Subject, err)
		}
		p.lines.Add(n)
		return nil
	}
	p.pending.Add(1)
	go func() {
		defer p.pending.Add(-1)
		select {
		case <-fut.Ok():
			p.lines.Add(n)
		case <-fut.Err():
			// Acknowledgement lost: send again under the same id.
			if err := republish(context.Background(), p.js, msg); err != nil {
				select {
				case p.errs <- fmt.Errorf("publish batch to %s: %w", msg.Subject, err):
				default:
				}
				return
			}
			p.lines.Add(n)
		}
	}()
	return nil
}

// Flush waits for every outstanding batch to be acknowledged.
func (p *Publisher) Flush(ctx context.Context) error {
	for p.pending.Load() > 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("wait for publish acknowledgements: %w", ctx.Err())
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-p.errs:
		return err
	default:
		return nil
	}
}

// Connected reports whether the connection is up right now.
func (p *Publisher) Connected() bool { return p.js.Conn().IsConnected() }

// Acked is the number of lines JetStream has acknowledged.
func (p *Publisher) Acked() int64 { return p.lines.Load() }
