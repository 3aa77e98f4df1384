package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lognats/lognats/internal/logrec"
)

var testNow = time.Date(2025, 12, 3, 15, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// memSink keeps copies of everything published, since readers reuse recs.
type memSink struct {
	batches []sinkBatch
	fail    error
}

type sinkBatch struct {
	s    logrec.Stream
	recs []logrec.Record
}

func (m *memSink) Publish(_ context.Context, s logrec.Stream, recs []logrec.Record) error {
	if m.fail != nil {
		return m.fail
	}
	m.batches = append(m.batches, sinkBatch{s, append([]logrec.Record(nil), recs...)})
	return nil
}

func (m *memSink) all() []logrec.Record {
	var out []logrec.Record
	for _, b := range m.batches {
		out = append(out, b.recs...)
	}
	return out
}

func (m *memSink) messages() []string {
	var out []string
	for _, r := range m.all() {
		out = append(out, r.Message)
	}
	return out
}

type nopSink struct{ n int }

func (s *nopSink) Publish(_ context.Context, _ logrec.Stream, recs []logrec.Record) error {
	s.n += len(recs)
	return nil
}

func TestReadPlainRules(t *testing.T) {
	marker := func(keep string, n int) string { return keep + fmt.Sprintf(" …[truncated %d bytes]", n) }
	tests := []struct {
		name  string
		in    string
		max   int
		want  []string
		stats Stats
	}{
		{"empty input", "", 0, nil, Stats{}},
		{"one line no newline", "hello", 0, []string{"hello"}, Stats{Accepted: 1}},
		{"empty lines skipped", "a\n\n\nb\n", 0, []string{"a", "b"}, Stats{Accepted: 2, Skipped: 2}},
		{"whitespace-only skipped", "a\n \t \n\u00a0\u3000\nb", 0, []string{"a", "b"}, Stats{Accepted: 2, Skipped: 2}},
		{"CRLF", "a\r\nb\r\n\r\nc\r", 0, []string{"a", "b", "c"}, Stats{Accepted: 3, Skipped: 1}},
		{"inner CR kept", "a\rb\r\n", 0, []string{"a\rb"}, Stats{Accepted: 1}},
		{"invalid UTF-8 replaced", "ok\xff\xfeok\n\xc3\n", 0, []string{"ok\uFFFD\uFFFDok", "\uFFFD"}, Stats{Accepted: 2, Replaced: 2}},
		{"truncated", "0123456789abc\nshort\n", 10, []string{marker("0123456789", 3), "short"}, Stats{Accepted: 2, Truncated: 1}},
		// Regression: the truncation buffer once aliased the read buffer.
		{"truncation keeps later lines intact", "0\n000\n\n0\n0123\nab", 1, []string{"0", marker("0", 2), "0", marker("0", 3), marker("a", 1)}, Stats{Accepted: 5, Skipped: 1, Truncated: 3}},
		{"exactly max not truncated", "0123456789\n", 10, []string{"0123456789"}, Stats{Accepted: 1}},
		{"CR not counted in length", "0123456789\r\n", 10, []string{"0123456789"}, Stats{Accepted: 1}},
		{"truncated at rune boundary", "12345678é€x\n", 10, []string{marker("12345678é", 4)}, Stats{Accepted: 1, Truncated: 1}},
		{"truncated and CRLF", "0123456789abc\r\n", 10, []string{marker("0123456789", 3)}, Stats{Accepted: 1, Truncated: 1}},
		{"truncated then invalid", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\n", 10, []string{marker(strings.Repeat("\uFFFD", 10), 1)}, Stats{Accepted: 1, Truncated: 1, Replaced: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sink memSink
			st, err := ReadPlain(context.Background(), strings.NewReader(tc.in), Defaults{Workload: "w"}, &sink, Options{MaxLine: tc.max, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if got := sink.messages(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("messages = %q, want %q", got, tc.want)
			}
			if fmt.Sprint(st) != fmt.Sprint(tc.stats) {
				t.Errorf("stats = %+v, want %+v", st, tc.stats)
			}
			for _, b := range sink.batches {
				if b.s.Source != logrec.SourceWorkload || b.s.Workload != "w" {
					t.Errorf("stream = %+v", b.s)
				}
			}
		})
	}
}

func TestReadPlainTimes(t *testing.T) {
	tests := []struct {
		line string
		want time.Time
	}{
		{"I1203 12:00:00.123456    1 foo.go:1] x", time.Date(2025, 12, 3, 12, 0, 0, 123456000, time.UTC)},
		{"E0101 00:00:01.5 x", time.Date(2025, 1, 1, 0, 0, 1, 500000000, time.UTC)},
		{"W1231 23:59:59.000001 last year", time.Date(2024, 12, 31, 23, 59, 59, 1000, time.UTC)},
		{"2022-03-22T17:13:23.925246924Z 10.52.0.57 GET", time.Date(2022, 3, 22, 17, 13, 23, 925246924, time.UTC)},
		{"2022-03-22T17:13:23+02:00 x", time.Date(2022, 3, 22, 15, 13, 23, 0, time.UTC)},
		{"2022-03-22 17:13:23.5 x", time.Date(2022, 3, 22, 17, 13, 23, 500000000, time.UTC)},
		{"2023/10/25 17:37:15 [INFO] Rancher", time.Date(2023, 10, 25, 17, 37, 15, 0, time.UTC)},
		{"May  2 04:55:48 host kubelet[1]: x", time.Date(2025, 5, 2, 4, 55, 48, 0, time.UTC)},
		{"Info1203 12:00:00 not klog", testNow},
		{"I9999 12:00:00.1 bad month", testNow},
		{"2022-13-22T17:13:23Z bad month", testNow},
		{"plain words", testNow},
		{"12345", testNow},
	}
	for _, tc := range tests {
		var sink memSink
		if _, err := ReadPlain(context.Background(), strings.NewReader(tc.line), Defaults{}, &sink, Options{Now: fixedNow}); err != nil {
			t.Fatal(err)
		}
		if got := sink.all()[0].Time; !got.Equal(tc.want) {
			t.Errorf("%q: time %v, want %v", tc.line, got, tc.want)
		}
	}
}

func TestReadNDJSONRules(t *testing.T) {
	d := Defaults{Source: "", Cluster: "c0", Namespace: "ns0", Workload: "w0", Pod: "p0", Container: "k0"}
	tests := []struct {
		name    string
		in      string
		want    []string // messages
		stats   Stats
		errLike []string
	}{
		{"message field", `{"message":"a"}`, []string{"a"}, Stats{Accepted: 1}, nil},
		{"log and msg", `{"log":"b\n"}` + "\n" + `{"msg":"c"}`, []string{"b", "c"}, Stats{Accepted: 2}, nil},
		{"blank lines", "\n  \n" + `{"msg":"c"}` + "\r\n", []string{"c"}, Stats{Accepted: 1, Skipped: 2}, nil},
		{"empty message skipped", `{"message":"  "}`, nil, Stats{Skipped: 1}, nil},
		{"no message", `{"pod":"x"}`, nil, Stats{Rejected: 1}, []string{`line 1: no "message"`}},
		{"malformed", "{\"message\":\"a\"}\n{\"message\":", []string{"a"}, Stats{Accepted: 1, Rejected: 1}, []string{"line 2: malformed JSON"}},
		{"not an object", `["a"]` + "\nnull\n42", nil, Stats{Rejected: 3}, []string{"line 1: not a JSON object", "line 2:", "line 3:"}},
		{"wrong type", `{"message":5}`, nil, Stats{Rejected: 1}, []string{"line 1: malformed JSON"}},
		{"unknown source", `{"message":"a","source":"mainframe"}`, nil, Stats{Rejected: 1}, []string{`line 1: unknown source "mainframe"`}},
		{"bad time", `{"message":"a","time":"yesterday"}` + "\n" + `{"message":"a","time":true}`, nil, Stats{Rejected: 2}, []string{"line 1: malformed JSON", "line 2: malformed JSON"}},
		{"time out of range", `{"message":"a","time":"9999-12-31T23:59:59Z"}` + "\n" + `{"message":"b","time":"1000-01-01T00:00:00Z"}`, nil, Stats{Rejected: 2}, []string{"line 1: time 9999-12-31T23:59:59Z is outside", "line 2: time 1000-01-01T00:00:00Z is outside"}},
		{"invalid UTF-8", "{\"message\":\"a\xffb\"}", []string{"a\uFFFDb"}, Stats{Accepted: 1, Replaced: 1}, nil},
		{"truncated message", `{"message":"0123456789abc"}`, []string{"0123456789 …[truncated 3 bytes]"}, Stats{Accepted: 1, Truncated: 1}, nil},
		{"raw line too long", `{"message":"` + strings.Repeat("x", 2*10+ndjsonSlack) + `"}`, nil, Stats{Rejected: 1}, []string{"line 1: record of"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sink memSink
			st, err := ReadNDJSON(context.Background(), strings.NewReader(tc.in), d, &sink, Options{MaxLine: 10, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if got := sink.messages(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("messages = %q, want %q", got, tc.want)
			}
			errs := st.Errors
			st.Errors = nil
			if fmt.Sprint(st) != fmt.Sprint(tc.stats) {
				t.Errorf("stats = %+v, want %+v", st, tc.stats)
			}
			if len(errs) != len(tc.errLike) {
				t.Fatalf("errors = %q, want like %q", errs, tc.errLike)
			}
			for i, e := range tc.errLike {
				if !strings.HasPrefix(errs[i], e) {
					t.Errorf("error %d = %q, want prefix %q", i, errs[i], e)
				}
			}
		})
	}
}

func TestReadNDJSONFields(t *testing.T) {
	in := strings.Join([]string{
		`{"time":"2024-05-01T10:00:00.5Z","source":"longhorn","cluster":"c1","namespace":"longhorn-system","workload":"longhorn-manager","pod":"lm-1","container":"mgr","message":"m1"}`,
		`{"time":1714557600,"message":"secs"}`,
		`{"time":1714557600123,"message":"millis"}`,
		`{"time":1714557600.25,"message":"float secs"}`,
		`{"time":1714557600123456789,"message":"nanos"}`,
		`{"time":null,"message":"null time"}`,
		`{"message":"no time","extra":{"a":[1,2]}}`,
	}, "\n")
	var sink memSink
	st, err := ReadNDJSON(context.Background(), strings.NewReader(in), Defaults{Cluster: "dc", Namespace: "dn", Workload: "dw", Pod: "dp"}, &sink, Options{Now: fixedNow})
	if err != nil || st.Accepted != 7 {
		t.Fatalf("stats %+v, err %v", st, err)
	}
	if len(sink.batches) != 2 {
		t.Fatalf("got %d batches, want 2 streams", len(sink.batches))
	}
	want0 := logrec.Stream{Source: "longhorn", Cluster: "c1", Namespace: "longhorn-system", Workload: "longhorn-manager"}
	if sink.batches[0].s != want0 {
		t.Errorf("stream 0 = %+v", sink.batches[0].s)
	}
	if s := sink.batches[1].s; s != (logrec.Stream{Source: "workload", Cluster: "dc", Namespace: "dn", Workload: "dw"}) {
		t.Errorf("stream 1 = %+v", s)
	}
	r0 := sink.batches[0].recs[0]
	if r0.Pod != "lm-1" || r0.Container != "mgr" || !r0.Time.Equal(time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC)) {
		t.Errorf("record 0 = %+v", r0)
	}
	base := time.Unix(1714557600, 0)
	wantTimes := []time.Time{base, base.Add(123 * time.Millisecond), base.Add(250 * time.Millisecond), base.Add(123456789), testNow, testNow}
	for i, r := range sink.batches[1].recs {
		if r.Pod != "dp" {
			t.Errorf("%s: pod %q", r.Message, r.Pod)
		}
		if !r.Time.Equal(wantTimes[i]) {
			t.Errorf("%s: time %v, want %v", r.Message, r.Time, wantTimes[i])
		}
	}
}

func TestErrorsBounded(t *testing.T) {
	in := strings.Repeat("not json\n", 100)
	st, err := ReadNDJSON(context.Background(), strings.NewReader(in), Defaults{}, &memSink{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rejected != 100 || len(st.Errors) != MaxErrors || !strings.HasPrefix(st.Errors[19], "line 20: ") {
		t.Fatalf("rejected %d, errors %d: %q", st.Rejected, len(st.Errors), st.Errors[len(st.Errors)-1])
	}
}

func TestBatching(t *testing.T) {
	var b strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	var sink memSink
	st, err := ReadPlain(context.Background(), strings.NewReader(b.String()), Defaults{}, &sink, Options{BatchLines: 1000})
	if err != nil || st.Accepted != 2500 {
		t.Fatal(st, err)
	}
	var sizes []int
	for _, b := range sink.batches {
		sizes = append(sizes, len(b.recs))
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Errorf("batch sizes %v", sizes)
	}
	for i, m := range sink.messages() {
		if m != fmt.Sprintf("line %d", i) {
			t.Fatalf("record %d = %q: order lost", i, m)
		}
	}

	// By bytes: 100-byte lines, 1000-byte batches.
	sink = memSink{}
	line := strings.Repeat("x", 100) + "\n"
	if _, err := ReadPlain(context.Background(), strings.NewReader(strings.Repeat(line, 50)), Defaults{}, &sink, Options{BatchBytes: 1000}); err != nil {
		t.Fatal(err)
	}
	for _, b := range sink.batches[:len(sink.batches)-1] {
		if n := len(b.recs); n != 9 { // 9*(100+16) >= 1000
			t.Errorf("batch of %d records, want 9", n)
		}
	}
}

// Many interleaved streams: memory stays bounded, every record arrives
// exactly once, and per-stream order holds.
func TestManyStreams(t *testing.T) {
	var b strings.Builder
	const streams, per = 200, 20
	for i := range per {
		for s := range streams {
			fmt.Fprintf(&b, `{"workload":"ns/w%d","message":"%d"}`+"\n", s, i)
		}
	}
	var sink memSink
	st, err := ReadNDJSON(context.Background(), strings.NewReader(b.String()), Defaults{}, &sink, Options{})
	if err != nil || st.Accepted != streams*per {
		t.Fatal(st, err)
	}
	next := map[string]int{}
	for _, bt := range sink.batches {
		for _, r := range bt.recs {
			if want := fmt.Sprint(next[bt.s.Workload]); r.Message != want {
				t.Fatalf("%s: got %s want %s", bt.s.Workload, r.Message, want)
			}
			next[bt.s.Workload]++
		}
	}
	if len(next) != streams {
		t.Fatalf("%d streams", len(next))
	}
}

func TestSinkErrorAndCancel(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadPlain(context.Background(), strings.NewReader("a\nb\n"), Defaults{}, &memSink{fail: boom}, Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ReadNDJSON(ctx, strings.NewReader(strings.Repeat(`{"msg":"x"}`+"\n", 5000)), Defaults{}, &memSink{}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
}

type failReader struct{ r io.Reader }

func (f failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func TestReadErrorKeepsLines(t *testing.T) {
	var sink memSink
	var last int64
	st, err := ReadPlain(context.Background(), failReader{strings.NewReader("a\nb")}, Defaults{}, &sink, Options{Progress: func(n int64) { last = n }})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if st.Accepted != 2 || len(sink.all()) != 2 || last != 3 {
		t.Fatalf("stats %+v, published %d, progress %d", st, len(sink.all()), last)
	}
}

// patternReader yields n bytes of a repeated pattern without holding them.
type patternReader struct {
	pat []byte
	n   int64
	off int
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = p.pat[p.off]
		p.off = (p.off + 1) % len(p.pat)
	}
	p.n -= int64(len(b))
	return len(b), nil
}

func TestHugeLineBoundedMemory(t *testing.T) {
	const size = 10 << 20
	for _, read := range []func(context.Context, io.Reader, Defaults, Sink, Options) (Stats, error){ReadPlain, ReadNDJSON} {
		r := io.MultiReader(
			strings.NewReader("before\n"),
			&patternReader{pat: []byte("héllo wörld "), n: size},
			strings.NewReader("\n{\"message\":\"after\"}\n"),
		)
		var sink memSink
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		st, err := read(context.Background(), r, Defaults{}, &sink, Options{})
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Fatal(err)
		}
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 2<<20 {
			t.Errorf("allocated %d bytes for a %d-byte line: not bounded", alloc, size)
		}
		if st.Lines() != 3 {
			t.Errorf("stats %+v, want 3 lines", st)
		}
		for _, m := range sink.messages() {
			if !utf8.ValidString(m) || len(m) > defaultMaxLine+64 {
				t.Errorf("message of %d bytes, valid %v", len(m), utf8.ValidString(m))
			}
		}
		if st.Truncated == 1 {
			msgs := sink.messages()
			if len(msgs) != 3 || !strings.HasSuffix(msgs[1], " bytes]") {
				t.Errorf("huge line not truncated with marker")
			}
		}
	}
}

// lineCount is how many lines the readers must account for.
func lineCount(data []byte) int64 {
	n := int64(bytes.Count(data, []byte{'\n'}))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

func fuzzRead(f *testing.F, read func(context.Context, io.Reader, Defaults, Sink, Options) (Stats, error)) {
	f.Add([]byte("I1203 12:00:00.123456 a\n\n \r\nb\xff\n"), uint16(8))
	f.Add([]byte(`{"message":"x","time":1}`+"\n"+`{"source":"nope","msg":"y"}`+"\n{"), uint16(16))
	f.Add([]byte("2022-03-22T17:13:23Z é€\r\n"), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, maxLine uint16) {
		max := int(maxLine%300) + 1
		var sink memSink
		st, err := read(context.Background(), bytes.NewReader(data), Defaults{}, &sink, Options{MaxLine: max, BatchLines: 7, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.Lines(), lineCount(data); got != want {
			t.Fatalf("accepted+skipped+rejected = %d, want %d lines (%+v)", got, want, st)
		}
		recs := sink.all()
		if int64(len(recs)) != st.Accepted {
			t.Fatalf("published %d, accepted %d", len(recs), st.Accepted)
		}
		for _, r := range recs {
			if !utf8.ValidString(r.Message) || blank([]byte(r.Message)) {
				t.Fatalf("bad message %q", r.Message)
			}
			// Invalid bytes kept become 3-byte U+FFFD after the cut.
			if len(r.Message) > 3*max+len(" …[truncated 99999999 bytes]") {
				t.Fatalf("message of %d bytes with MaxLine %d", len(r.Message), max)
			}
		}
	})
}

func FuzzReadPlain(f *testing.F)  { fuzzRead(f, ReadPlain) }
func FuzzReadNDJSON(f *testing.F) { fuzzRead(f, ReadNDJSON) }

func benchInput(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "I1203 12:00:%02d.123456    1 controller.go:%d] synced pod default/web-%d\n", i%60, i%500, i)
		case 1:
			fmt.Fprintf(&b, "GET /api/items/%d 200 %dms\n", i, i%97)
		default:
			fmt.Fprintf(&b, "2025-12-03T12:00:00.%06dZ level=info msg=\"request done\" id=%d\n", i%1000000, i)
		}
	}
	return b.Bytes()
}

func BenchmarkReadPlain(b *testing.B) {
	data := benchInput(1 << 20)
	lines := bytes.Count(data, []byte{'\n'})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var sink nopSink
		if _, err := ReadPlain(context.Background(), bytes.NewReader(data), Defaults{}, &sink, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkReadNDJSON(b *testing.B) {
	var data bytes.Buffer
	for i := range 1 << 18 {
		fmt.Fprintf(&data, `{"time":"2025-12-03T12:00:00Z","namespace":"ns%d","workload":"app","message":"GET /api/items/%d 200"}`+"\n", i%4, i)
	}
	lines := 1 << 18
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	for b.Loop() {
		var sink nopSink
		if _, err := ReadNDJSON(context.Background(), bytes.NewReader(data.Bytes()), Defaults{}, &sink, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(0, "ns/op")
}

// Names are bounded (they become subject tokens), trimmed, and a record's
// NAMESPACE/NAME wins over the defaults; numeric and plain-text times out
// of range are refused or replaced, never wrapped around.
func TestNamesAndTimeRanges(t *testing.T) {
	d := Defaults{Cluster: "c", Namespace: "shop", Workload: "api"}
	in := strings.Join([]string{
		`{"workload":"other/web","message":"own workload"}`,
		`{"workload":"ns/` + strings.Repeat("a", 300) + `","message":"long"}`,
		`{"workload":" spaced / web ","message":"spaces"}`,
		`{"time":99999999999,"message":"year 5138"}`,
		`{"time":10413792000.5,"message":"year 2300"}`,
		`{"cluster":"a/b","message":"slash in cluster"}`,
	}, "\n")
	var sink memSink
	st, err := ReadNDJSON(context.Background(), strings.NewReader(in), d, &sink, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepted != 2 || st.Rejected != 4 {
		t.Fatalf("stats %+v", st)
	}
	var got []string
	for _, b := range sink.batches {
		got = append(got, b.s.Namespace+"/"+b.s.Workload)
	}
	if fmt.Sprint(got) != "[other/web spaced/web]" {
		t.Errorf("streams %v", got)
	}
	if _, err := (Defaults{Workload: "api"}).RequireWorkload(); err == nil || !strings.Contains(err.Error(), "needs a namespace") {
		t.Errorf("bare workload without namespace: %v", err)
	}
	if _, err := (Defaults{Workload: "ns/" + strings.Repeat("w", 5000)}).Normalize(); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("long workload: %v", err)
	}
	sink = memSink{}
	st, err = ReadPlain(context.Background(), strings.NewReader("9999/01/02 15:04:05 far future\n"), d, &sink, Options{Now: fixedNow})
	if err != nil || st.Accepted != 1 || !sink.all()[0].Time.Equal(testNow) {
		t.Errorf("plain far-future line: %+v %v %v", st, err, sink.all())
	}
}
