package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/mask"
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

// resultPublisher publishes derived batches with a message id, so that a
// batch replayed after a crash is dropped by JetStream's deduplication.
type resultPublisher struct {
	js jetstream.JetStream
}

func newResultPublisher(nc *nats.Conn) (*resultPublisher, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(512), jetstream.WithPublishAsyncTimeout(AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	return &resultPublisher{js: js}, nil
}

// republish publishes synchronously until JetStream acknowledges or ctx ends.
func republish(ctx context.Context, js jetstream.JetStream, m *nats.Msg) error {
	var err error
	for attempt := 0; ; attempt++ {
		if js.Conn().IsClosed() {
			return fmt.Errorf("publish %s: %w", m.Subject, nats.ErrConnectionClosed)
		}
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

// acker acknowledges input messages once the outputs made from them are
// stored, in the background, so a service keeps working while JetStream
// confirms earlier batches. A lost acknowledgement is retried with the same
// message id (see republish). The queue bounds how far processing runs ahead.
type acker struct {
	js     jetstream.JetStream
	ch     chan ackItem
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type ackItem struct {
	fut   jetstream.PubAckFuture // nil: the output was published synchronously
	in    jetstream.Msg          // nil: nothing to acknowledge
	flush chan struct{}
}

// newAcker's retries outlive the service's context (so a shutdown still
// settles what was published) until close gives up after 30 s.
func newAcker(js jetstream.JetStream, depth int) *acker {
	ctx, cancel := context.WithCancel(context.Background())
	a := &acker{js: js, ch: make(chan ackItem, depth), ctx: ctx, cancel: cancel}
	a.wg.Add(1)
	go a.loop()
	return a
}

func (a *acker) loop() {
	defer a.wg.Done()
	for it := range a.ch {
		if it.flush != nil {
			close(it.flush)
			continue
		}
		if it.fut != nil {
			select {
			case <-it.fut.Ok():
			case <-it.fut.Err():
				if err := republish(a.ctx, a.js, it.fut.Msg()); err != nil {
					// Not acknowledging the input makes JetStream redeliver it.
					continue
				}
			case <-a.ctx.Done():
				continue
			}
		}
		if it.in != nil {
			_ = it.in.Ack()
		}
	}
}

// add queues an output future and the input to acknowledge after it.
func (a *acker) add(fut jetstream.PubAckFuture, in jetstream.Msg) {
	a.ch <- ackItem{fut: fut, in: in}
}

// flush waits until everything queued so far is settled.
func (a *acker) flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case a.ch <- ackItem{flush: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close settles what is queued and stops.
func (a *acker) close() {
	close(a.ch)
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		a.cancel()
		<-done
	}
	a.cancel()
}

// publishAsync publishes an encoded results batch and returns its future
// (nil when it had to be published synchronously).
func (p *resultPublisher) publishAsync(prefix, msgID string, logsSeq uint64, s logrec.Stream, n int, data []byte) (jetstream.PubAckFuture, error) {
	m := nats.NewMsg(s.Subject(prefix))
	encodePayload(m, data)
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	m.Header.Set(HeaderLines, strconv.Itoa(n))
	m.Header.Set(HeaderLogsSeq, strconv.FormatUint(logsSeq, 10))
	fut, err := p.js.PublishMsgAsync(m)
	if err != nil {
		return nil, republish(context.Background(), p.js, m)
	}
	return fut, nil
}

// iterate feeds fn every message of c until ctx ends, pulling ahead so the
// next batch is on its way while fn works. idle is called when no message
// came for a while (for periodic work such as snapshots).
func iterate(ctx context.Context, c jetstream.Consumer, logger *slog.Logger, fn func(jetstream.Msg) error, idle func()) error {
	it, err := c.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		return fmt.Errorf("pull from consumer: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { it.Stop() })
	defer stop()
	defer func() { it.Stop() }()
	last := time.Now()
	for ctx.Err() == nil {
		m, err := it.Next(jetstream.NextMaxWait(500 * time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				logger.Warn("pull", "err", err)
			}
			if idle != nil {
				idle()
			}
			// On a cluster, pulls in flight can be lost when the consumer's
			// leader moves and the iterator then waits for nothing; start
			// a fresh one when nothing came for a while but work is waiting.
			if time.Since(last) > stallPull || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				if nit, restarted := restartPull(ctx, c, it, logger); restarted {
					it = nit
				}
				last = time.Now()
			}
			continue
		}
		last = time.Now()
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// stallPull is how long a consumer may deliver nothing before iterate checks
// whether messages are waiting for it.
const stallPull = 20 * time.Second

func restartPull(ctx context.Context, c jetstream.Consumer, it jetstream.MessagesContext, logger *slog.Logger) (jetstream.MessagesContext, bool) {
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	info, err := c.Info(ictx)
	cancel()
	if err != nil || info.NumPending == 0 && info.NumAckPending == 0 {
		return it, false
	}
	nit, err := c.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		logger.Warn("restart pull", "err", err)
		return it, false
	}
	logger.Warn("pull stalled with messages waiting; restarted it", "pending", info.NumPending, "ack_pending", info.NumAckPending)
	it.Stop()
	return nit, true
}

// logsMiner turns LOGS batches into PARSED batches: it decompresses, masks
// every line and lets mine fill in the template fields. Both DRAIN services
// use it; it keeps its buffers between batches (one goroutine only).
type logsMiner struct {
	masker     *mask.Masker
	zbuf, mbuf []byte
}

// verdict is what a DRAIN service decides for one masked line.
type verdict struct {
	templateID uint64
	level      logrec.Level
	score      float32
	decidedBy  string
}

// transcode returns the stream, line count and encoded PARSED batch of m.
func (lm *logsMiner) transcode(m jetstream.Msg, mine func(masked []byte) verdict) (logrec.Stream, int, []byte, error) {
	data, err := Payload(m.Headers(), m.Data(), lm.zbuf)
	if err != nil {
		return logrec.Stream{}, 0, nil, err
	}
	if m.Headers().Get(HeaderEncoding) != "" {
		lm.zbuf = data[:0] // reuse only our own decompression buffer
	}
	s, n, err := logrec.PeekLogs(data)
	if err != nil {
		return s, 0, nil, err
	}
	var rw logrec.ResultsWriter
	rw.Start(s, n, 2*len(data))
	_, _, err = logrec.WalkLogs(data, func(_ *logrec.Stream, v *logrec.RecordView) {
		lm.mbuf = lm.masker.Mask(lm.mbuf[:0], v.Message)
		vd := mine(lm.mbuf)
		rw.Add(v.Time, v.Pod, v.Container, v.Message, vd.templateID, lm.mbuf, vd.level, vd.score, vd.decidedBy)
	})
	return s, n, rw.Bytes(), err
}
