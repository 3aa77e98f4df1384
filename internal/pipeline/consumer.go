package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/logrec"
)

// durable creates (or binds to) a shared durable pull consumer; copies of a
// service bound to the same durable split its messages between them.
func durable(ctx context.Context, js jetstream.JetStream, stream, name, filter string) (jetstream.Consumer, error) {
	c, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Short, so that batches a killed process held are redelivered
		// soon after it restarts; workers signal progress on slow batches.
		AckWait:       10 * time.Second,
		MaxAckPending: 4096,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", name, stream, err)
	}
	return c, nil
}

// fetch pulls up to n messages, waiting at most wait; "no messages" is not an error.
func fetch(ctx context.Context, c jetstream.Consumer, n int, wait time.Duration) ([]jetstream.Msg, error) {
	batch, err := c.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		return msgs, err
	}
	return msgs, nil
}

// resultPublisher publishes derived batches with a message id, so that a
// batch replayed after a crash is dropped by JetStream's deduplication.
type resultPublisher struct {
	js   jetstream.JetStream
	futs []jetstream.PubAckFuture
}

func newResultPublisher(nc *nats.Conn) (*resultPublisher, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(512))
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	return &resultPublisher{js: js}, nil
}

func (p *resultPublisher) publish(prefix, msgID string, logsSeq uint64, s logrec.Stream, rs []logrec.Result) error {
	return p.publishRaw(prefix, msgID, logsSeq, s, len(rs), logrec.AppendResults(nil, s, rs))
}

// publishRaw publishes an encoded results batch of n lines.
func (p *resultPublisher) publishRaw(prefix, msgID string, logsSeq uint64, s logrec.Stream, n int, data []byte) error {
	m := nats.NewMsg(s.Subject(prefix))
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	m.Header.Set(HeaderLines, strconv.Itoa(n))
	m.Header.Set(HeaderLogsSeq, strconv.FormatUint(logsSeq, 10))
	fut, err := p.js.PublishMsgAsync(m)
	if err != nil {
		// The window is full or the connection is down: fall back to a
		// synchronous publish, which waits and retries.
		return republish(context.Background(), p.js, m)
	}
	p.futs = append(p.futs, fut)
	return nil
}

// wait blocks until every publish so far is acknowledged. A publish whose
// acknowledgement failed (timeout, reconnect) is sent again with the same
// message id: if the first copy was stored after all, JetStream drops the
// second, so the batch is stored exactly once either way.
func (p *resultPublisher) wait(ctx context.Context) error {
	for _, fut := range p.futs {
		select {
		case <-fut.Ok():
		case <-fut.Err():
			if err := republish(ctx, p.js, fut.Msg()); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.futs = p.futs[:0]
	return nil
}

// republish publishes synchronously until JetStream acknowledges or ctx ends.
func republish(ctx context.Context, js jetstream.JetStream, m *nats.Msg) error {
	var err error
	for attempt := 0; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = js.PublishMsg(pctx, &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish %s: %w (context: %w)", m.Subject, err, ctx.Err())
		}
		time.Sleep(min(time.Duration(attempt+1)*200*time.Millisecond, 3*time.Second))
	}
}

func msgSeq(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.Sequence.Stream
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
