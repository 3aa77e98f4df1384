// Package ingest turns plain-text or NDJSON log input into batches of
// logrec records grouped per logrec.Stream and hands them to a Sink.
//
// Bad input is never fatal: empty lines are skipped, overlong lines are
// truncated with a marker, invalid UTF-8 is replaced with U+FFFD and
// malformed NDJSON records are rejected with their line number; all of it
// is counted in Stats. Only a Sink error, context cancellation or a failing
// reader ends a read early with an error.
//
// Memory is bounded whatever the input: a line is never buffered beyond
// MaxLine bytes (the rest is read and discarded), and at most a fixed number
// of per-stream batches are kept open.
package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lognats/lognats/internal/logrec"
)

// Sink receives batches. Publish must not retain recs after it returns:
// the readers reuse the slice for the next batch of the same stream.
type Sink interface {
	Publish(ctx context.Context, s logrec.Stream, recs []logrec.Record) error
}

// Defaults name the stream and pod of plain-text lines, and fill fields
// missing in NDJSON records.
type Defaults struct {
	Source, Cluster, Namespace, Workload, Pod, Container string
}

// Options tune batching and limits; zero values take the defaults.
type Options struct {
	BatchLines int                   // records per batch, default 1000
	BatchBytes int                   // approximate batch payload, default 512 KiB
	MaxLine    int                   // message bytes kept per line, default 64 KiB
	Progress   func(bytesRead int64) // called about every MiB and at the end
	Now        func() time.Time      // time for lines without one, default time.Now
}

// Stats counts what happened to the input. Every input line is exactly one
// of Accepted, Skipped or Rejected; Truncated and Replaced count lines that
// were also altered.
type Stats struct {
	Accepted  int64 `json:"accepted"`
	Skipped   int64 `json:"skipped"`
	Truncated int64 `json:"truncated"`
	Replaced  int64 `json:"replaced"`
	Rejected  int64 `json:"rejected"`
	// Errors holds the first MaxErrors rejection reasons, each starting
	// with "line N: ".
	Errors []string `json:"errors"`
}

// Lines is the number of input lines seen.
func (s Stats) Lines() int64 { return s.Accepted + s.Skipped + s.Rejected }

const (
	// MaxErrors bounds Stats.Errors so a garbage upload cannot grow it.
	MaxErrors = 20

	defaultBatchLines = 1000
	defaultBatchBytes = 512 << 10
	defaultMaxLine    = 64 << 10

	// readBufSize lets typical lines come straight out of the bufio buffer
	// without copying.
	readBufSize = 64 << 10

	// maxOpen and maxPendingBatches bound memory when the input
	// interleaves many streams: past them the biggest batch is flushed.
	maxOpen           = 64
	maxPendingBatches = 8

	// recordOverhead approximates a record's encoded size beyond its
	// strings (time varint and length prefixes).
	recordOverhead = 16

	progressEvery = 1 << 20
)

func (o Options) withDefaults() Options {
	if o.BatchLines <= 0 {
		o.BatchLines = defaultBatchLines
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = defaultBatchBytes
	}
	if o.MaxLine <= 0 {
		o.MaxLine = defaultMaxLine
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Normalize checks the defaults and splits a workload given as
// NAMESPACE/NAME. Source "" means workload.
func (d Defaults) Normalize() (Defaults, error) {
	if d.Source != "" && !logrec.ValidSource(d.Source) {
		return d, fmt.Errorf("unknown source %q: want one of %s", d.Source, strings.Join(logrec.Sources(), ", "))
	}
	ns, wl, err := splitWorkload(d.Namespace, d.Workload)
	if err != nil {
		return d, err
	}
	d.Namespace, d.Workload = ns, wl
	if err := checkName("cluster", d.Cluster); err != nil {
		return d, err
	}
	return d, nil
}

// MaxNameLen bounds cluster, namespace and workload names (Kubernetes' own
// limit for object names). They become tokens of NATS subjects, and a
// subject longer than the server's control line would cut the connection.
const MaxNameLen = 253

func checkName(what, name string) error {
	switch {
	case len(name) > MaxNameLen:
		return fmt.Errorf("%s name of %d bytes: at most %d", what, len(name), MaxNameLen)
	case strings.Contains(name, "/") && what != "workload":
		return fmt.Errorf("%s %q: no slash allowed", what, name)
	}
	return nil
}

// splitWorkload reads a workload written NAMESPACE/NAME (ns may also come
// on its own). One slash at most, no empty half, surrounding spaces
// dropped, lengths bounded.
func splitWorkload(ns, wl string) (string, string, error) {
	ns, wl = strings.TrimSpace(ns), strings.TrimSpace(wl)
	if n, name, ok := strings.Cut(wl, "/"); ok {
		n, name = strings.TrimSpace(n), strings.TrimSpace(name)
		switch {
		case n == "" || name == "":
			return ns, wl, fmt.Errorf("workload %q: want NAMESPACE/NAME with neither empty", wl)
		case strings.Contains(name, "/"):
			return ns, wl, fmt.Errorf("workload %q: want NAMESPACE/NAME (one slash)", wl)
		case ns != "" && ns != n:
			return ns, wl, fmt.Errorf("workload %q is in namespace %q, but namespace %q was given", wl, n, ns)
		}
		ns, wl = n, name
	}
	if err := checkName("namespace", ns); err != nil {
		return ns, wl, err
	}
	return ns, wl, checkName("workload", wl)
}

// RequireWorkload is Normalize for plain text, where every line takes the
// defaults' workload: lines of a user's workload are modelled per
// workload, so they must name it.
func (d Defaults) RequireWorkload() (Defaults, error) {
	d, err := d.Normalize()
	if err == nil && d.source() == logrec.SourceWorkload {
		err = needWorkload(d.Namespace, d.Workload)
	}
	return d, err
}

// needWorkload: a user's workload is modelled per NAMESPACE/NAME.
func needWorkload(ns, wl string) error {
	switch {
	case wl == "":
		return errors.New("workload lines need a workload (NAMESPACE/NAME); control-plane, rancher and longhorn lines take a source instead")
	case ns == "":
		return fmt.Errorf("workload %q needs a namespace: write NAMESPACE/NAME or give the namespace", wl)
	}
	return nil
}

func (d Defaults) source() string {
	if d.Source == "" {
		return logrec.SourceWorkload
	}
	return d.Source
}

// run is the state shared by both readers.
type run struct {
	ctx   context.Context
	opt   Options
	lr    lineReader
	b     batcher
	st    Stats
	line  int64 // 1-based number of the current line
	prog  int64 // bytes read at the last Progress call
	fixed []byte
	clock time.Time // cached opt.Now(), see now
}

func newRun(ctx context.Context, r io.Reader, sink Sink, opt Options, rawMax int) *run {
	opt = opt.withDefaults()
	return &run{
		ctx: ctx,
		opt: opt,
		lr:  lineReader{br: bufio.NewReaderSize(r, readBufSize), max: rawMax},
		b:   newBatcher(sink, opt.BatchLines, opt.BatchBytes),
	}
}

// loop reads lines and calls handle on each until the input ends, then
// flushes. handle gets the raw line (terminator and CR removed, at most the
// reader's max bytes kept) and the line's full length.
func (u *run) loop(handle func(b []byte, total int) error) (Stats, error) {
	for {
		b, total, err := u.lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			// The input itself failed (e.g. a dropped HTTP body): keep what
			// was read, then report it.
			if ferr := u.finish(); ferr != nil {
				return u.st, ferr
			}
			return u.st, fmt.Errorf("ingest: read line %d: %w", u.line+1, err)
		}
		u.line++
		if u.line&1023 == 0 {
			if err := u.ctx.Err(); err != nil {
				return u.st, fmt.Errorf("ingest: stopped at line %d: %w", u.line, err)
			}
		}
		if err := handle(b, total); err != nil {
			return u.st, err
		}
		if u.opt.Progress != nil && u.lr.read-u.prog >= progressEvery {
			u.prog = u.lr.read
			u.opt.Progress(u.prog)
		}
	}
	return u.st, u.finish()
}

func (u *run) finish() error {
	if err := u.ctx.Err(); err != nil {
		return fmt.Errorf("ingest: stopped at line %d: %w", u.line, err)
	}
	if err := u.b.flushAll(u.ctx); err != nil {
		return err
	}
	if u.opt.Progress != nil {
		u.opt.Progress(u.lr.read)
	}
	return nil
}

// now returns opt.Now(), cached: reading the clock per line costs more
// than the rest of a plain line's work. The cache is refreshed whenever the
// reader had to wait for input (so a slow stream gets fresh times) and every
// 256 lines otherwise (under a millisecond at full speed).
func (u *run) now() time.Time {
	if u.lr.waited || u.line&255 == 0 || u.clock.IsZero() {
		u.clock = u.opt.Now()
	}
	return u.clock
}

func (u *run) reject(format string, args ...any) {
	u.st.Rejected++
	if len(u.st.Errors) < MaxErrors {
		u.st.Errors = append(u.st.Errors, fmt.Sprintf("line %d: ", u.line)+fmt.Sprintf(format, args...))
	}
}

// validUTF8 returns b, or a copy in u.fixed with invalid sequences replaced
// by U+FFFD (counted), so the common valid case copies nothing.
func (u *run) validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	u.st.Replaced++
	u.fixed = appendValidUTF8(u.fixed[:0], b)
	return u.fixed
}

// appendValidUTF8 appends b with each invalid byte replaced by U+FFFD.
// Unlike bytes.ToValidUTF8 it replaces byte by byte, so the count of
// damaged bytes stays visible in the message.
func appendValidUTF8(dst, b []byte) []byte {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[:n]...)
		}
		b = b[n:]
	}
	return dst
}

// truncate cuts msg (whose full length total is over max) to at most max
// bytes at a rune boundary and appends the marker, writing into scratch.
func truncate(scratch, msg []byte, total, max int) []byte {
	cut := max
	if cut > len(msg) {
		cut = len(msg)
	}
	// Back up over at most one partial rune so the kept text stays valid.
	for k := 0; k < utf8.UTFMax-1 && cut > 0 && cut < len(msg) && !utf8.RuneStart(msg[cut]); k++ {
		cut--
	}
	scratch = append(scratch[:0], msg[:cut]...)
	return fmt.Appendf(scratch, " …[truncated %d bytes]", total-cut)
}

// blank reports whether b holds only whitespace.
func blank(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\r', '\n', '\v', '\f':
		default:
			if b[i] < utf8.RuneSelf {
				return false
			}
			// Rare: non-ASCII spaces (NBSP and friends) count as blank too.
			for _, r := range string(b[i:]) {
				if !isSpace(r) {
					return false
				}
			}
			return true
		}
	}
	return true
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// lineReader splits input into lines without ever holding more than max+1
// bytes of one line: the bufio buffer serves ordinary lines in place, and
// longer ones are accumulated into long up to the limit, the rest skipped.
type lineReader struct {
	br   *bufio.Reader
	max  int
	long []byte
	read int64
	last byte // last byte of the current line before '\n'
	// waited reports whether reading the current line called the
	// underlying reader, which may have blocked.
	waited bool
	err    error // sticky end of input, reported after the last line
}

// next returns the next line without "\n" or "\r\n", keeping at most
// max+1 bytes of it (enough to find a rune boundary at max), and the
// line's full length. The returned bytes are valid until the next call.
func (lr *lineReader) next() (b []byte, total int, err error) {
	if lr.err != nil {
		return nil, 0, lr.err
	}
	long := false
	lr.waited = lr.br.Buffered() == 0
	lr.long = lr.long[:0]
	lr.last = 0
	for {
		frag, err := lr.br.ReadSlice('\n')
		lr.read += int64(len(frag))
		if errors.Is(err, bufio.ErrBufferFull) {
			long, lr.waited = true, true
			total += len(frag)
			lr.last = frag[len(frag)-1]
			lr.keep(frag)
			continue
		}
		if err != nil {
			lr.err = err // reported on the next call, after this last line
			if len(frag) == 0 && !long {
				return nil, 0, err
			}
		} else {
			frag = frag[:len(frag)-1]
		}
		total += len(frag)
		if len(frag) > 0 {
			lr.last = frag[len(frag)-1]
		}
		b = frag
		if long {
			lr.keep(frag)
			b = lr.long
		}
		return lr.stripCR(b, total)
	}
}

func (lr *lineReader) keep(frag []byte) {
	if room := lr.max + 1 - len(lr.long); room > 0 {
		if len(frag) > room {
			frag = frag[:room]
		}
		lr.long = append(lr.long, frag...)
	}
}

func (lr *lineReader) stripCR(b []byte, total int) ([]byte, int, error) {
	if total > 0 && lr.last == '\r' {
		total--
		if len(b) > total {
			b = b[:total]
		}
	}
	if len(b) > lr.max+1 {
		b = b[:lr.max+1]
	}
	return b, total, nil
}

// batcher groups records per stream and flushes full batches, keeping at
// most maxOpen streams and maxPendingBatches batches' worth of bytes open.
type batcher struct {
	sink         Sink
	lines, bytes int
	open         map[logrec.Stream]*batch
	order        []*batch // open batches in first-seen order, for deterministic flushing
	last         *batch   // most plain inputs hold one stream: skip the map
	pending      int
}

type batch struct {
	s    logrec.Stream
	recs []logrec.Record
	size int
}

func newBatcher(sink Sink, lines, bytes int) batcher {
	return batcher{sink: sink, lines: lines, bytes: bytes, open: make(map[logrec.Stream]*batch)}
}

func (bt *batcher) add(ctx context.Context, s logrec.Stream, r logrec.Record) error {
	b := bt.last
	if b == nil || b.s != s {
		var err error
		if b, err = bt.lookup(ctx, s); err != nil {
			return err
		}
		bt.last = b
	}
	size := len(r.Message) + len(r.Pod) + len(r.Container) + recordOverhead
	b.recs = append(b.recs, r)
	b.size += size
	bt.pending += size
	if len(b.recs) >= bt.lines || b.size >= bt.bytes {
		return bt.flush(ctx, b)
	}
	if bt.pending >= maxPendingBatches*bt.bytes {
		return bt.flush(ctx, bt.biggest())
	}
	return nil
}

func (bt *batcher) lookup(ctx context.Context, s logrec.Stream) (*batch, error) {
	if b, ok := bt.open[s]; ok {
		return b, nil
	}
	if len(bt.open) < maxOpen {
		b := &batch{s: s}
		bt.open[s] = b
		bt.order = append(bt.order, b)
		return b, nil
	}
	// Too many streams: flush the biggest and give its slot (and its
	// record slice) to the new stream.
	b := bt.biggest()
	if err := bt.flush(ctx, b); err != nil {
		return nil, err
	}
	delete(bt.open, b.s)
	b.s = s
	bt.open[s] = b
	return b, nil
}

func (bt *batcher) biggest() *batch {
	var big *batch
	for _, b := range bt.order {
		if big == nil || b.size > big.size {
			big = b
		}
	}
	return big
}

func (bt *batcher) flush(ctx context.Context, b *batch) error {
	if len(b.recs) == 0 {
		return nil
	}
	if err := bt.sink.Publish(ctx, b.s, b.recs); err != nil {
		return fmt.Errorf("ingest: publish %d records to %s/%s/%s/%s: %w",
			len(b.recs), b.s.Source, b.s.Cluster, b.s.Namespace, b.s.Workload, err)
	}
	// Drop references so flushed messages can be collected before the
	// slice is refilled.
	clear(b.recs)
	b.recs = b.recs[:0]
	bt.pending -= b.size
	b.size = 0
	return nil
}

func (bt *batcher) flushAll(ctx context.Context) error {
	for _, b := range bt.order {
		if err := bt.flush(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
