// Package logrec defines lognats' log record, its compact versioned batch
// encoding for JetStream messages, and how record names map to subject
// tokens. JSON is used only at the HTTP edge; inside NATS records travel in
// batches of many lines per message.
package logrec

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Sources lognats knows; anything else is rejected at the edge.
const (
	SourceControlPlane = "control-plane"
	SourceRancher      = "rancher"
	SourceLonghorn     = "longhorn"
	SourceWorkload     = "workload"
)

// Sources lists the valid sources.
var sources = [...]string{SourceControlPlane, SourceRancher, SourceLonghorn, SourceWorkload}

// Sources returns the valid source names.
func Sources() []string { return append([]string(nil), sources[:]...) }

// ValidSource reports whether s is a known source.
func ValidSource(s string) bool {
	for _, x := range sources {
		if s == x {
			return true
		}
	}
	return false
}

// Stream is where a batch belongs: one source, cluster, namespace and workload.
type Stream struct {
	Source    string `json:"source"`
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
}

// Record is one log line.
type Record struct {
	Time      time.Time `json:"time"`
	Pod       string    `json:"pod,omitempty"`
	Container string    `json:"container,omitempty"`
	Message   string    `json:"message"`
}

// Level is the verdict on a line.
type Level uint8

const (
	Undecided Level = iota
	Normal
	Anomaly
)

func (l Level) String() string {
	switch l {
	case Normal:
		return "Normal"
	case Anomaly:
		return "Anomaly"
	default:
		return "Undecided"
	}
}

// MarshalText makes levels read as words in JSON.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Result is a record after mining and scoring.
type Result struct {
	Record
	TemplateID uint64  `json:"template_id"`
	Masked     string  `json:"masked"`
	Level      Level   `json:"level"`
	Score      float32 `json:"score"`
	DecidedBy  string  `json:"decided_by,omitempty"` // drain-pretrained, cache, nulog, rule:new-template, ...
}

// Batch kinds carried in the first byte after the magic.
const (
	magic      = 'L'
	kindLogs   = 1
	kindResult = 2
	version    = 1
)

var (
	// ErrCorrupt is returned for a batch that cannot be decoded.
	ErrCorrupt = errors.New("corrupt record batch")
)

// AppendLogs encodes a batch of records: magic 'L', kind, version, the
// stream's four names, a count, then per record: unix-nano time (varint),
// pod, container, message (uvarint length + bytes).
func AppendLogs(dst []byte, s Stream, recs []Record) []byte {
	dst = append(dst, magic, kindLogs, version)
	dst = appendStream(dst, s)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for i := range recs {
		dst = appendRecord(dst, &recs[i])
	}
	return dst
}

// AppendResults encodes a batch of results: as AppendLogs, and per record
// also template id, masked line, level, score (float32 bits) and decider.
func AppendResults(dst []byte, s Stream, rs []Result) []byte {
	dst = append(dst, magic, kindResult, version)
	dst = appendStream(dst, s)
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	for i := range rs {
		r := &rs[i]
		dst = appendRecord(dst, &r.Record)
		dst = binary.AppendUvarint(dst, r.TemplateID)
		dst = appendString(dst, r.Masked)
		dst = append(dst, byte(r.Level))
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(r.Score))
		dst = appendString(dst, r.DecidedBy)
	}
	return dst
}

func appendStream(dst []byte, s Stream) []byte {
	dst = appendString(dst, s.Source)
	dst = appendString(dst, s.Cluster)
	dst = appendString(dst, s.Namespace)
	return appendString(dst, s.Workload)
}

func appendRecord(dst []byte, r *Record) []byte {
	var t int64
	if !r.Time.IsZero() {
		t = r.Time.UnixNano()
	}
	dst = binary.AppendVarint(dst, t)
	dst = appendString(dst, r.Pod)
	dst = appendString(dst, r.Container)
	return appendString(dst, r.Message)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail(what)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) header(kind byte) Stream {
	if len(d.b) < 3 || d.b[0] != magic {
		d.fail("header")
		return Stream{}
	}
	if d.b[1] != kind {
		d.err = fmt.Errorf("%w: batch kind %d, want %d", ErrCorrupt, d.b[1], kind)
		return Stream{}
	}
	if d.b[2] != version {
		d.err = fmt.Errorf("%w: batch version %d, this lognats reads version %d", ErrCorrupt, d.b[2], version)
		return Stream{}
	}
	d.b = d.b[3:]
	return Stream{Source: d.str("source"), Cluster: d.str("cluster"), Namespace: d.str("namespace"), Workload: d.str("workload")}
}

func (d *decoder) count() int {
	n := d.uvarint("count")
	// Every record takes at least 4 bytes, which bounds allocation on garbage.
	if d.err == nil && n > uint64(len(d.b))/4 {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) record(r *Record) {
	if t := d.varint("time"); t != 0 {
		r.Time = time.Unix(0, t).UTC()
	}
	r.Pod = d.str("pod")
	r.Container = d.str("container")
	r.Message = d.str("message")
}

// DecodeLogs decodes a batch written by AppendLogs, appending to recs.
func DecodeLogs(b []byte, recs []Record) (Stream, []Record, error) {
	d := decoder{b: b}
	s := d.header(kindLogs)
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		var r Record
		d.record(&r)
		recs = append(recs, r)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return s, recs, d.err
}

// DecodeResults decodes a batch written by AppendResults, appending to rs.
func DecodeResults(b []byte, rs []Result) (Stream, []Result, error) {
	d := decoder{b: b}
	s := d.header(kindResult)
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		var r Result
		d.record(&r.Record)
		r.TemplateID = d.uvarint("template id")
		r.Masked = d.str("masked")
		if len(d.b) < 5 {
			d.fail("level/score")
			break
		}
		r.Level = Level(d.b[0])
		r.Score = math.Float32frombits(binary.LittleEndian.Uint32(d.b[1:5]))
		d.b = d.b[5:]
		r.DecidedBy = d.str("decider")
		if r.Level > Anomaly {
			d.fail("level")
		}
		rs = append(rs, r)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return s, rs, d.err
}

// Token encodes a name as one subject token. Names that are valid tokens
// pass unchanged; others (empty, with '.', '*', '>', spaces, control or
// non-ASCII bytes, or starting with '~') become '~' + base64url, so every
// name round-trips and nothing is rejected.
func Token(name string) string {
	if name == "" {
		return "~"
	}
	if name[0] != '~' {
		ok := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if c <= ' ' || c >= 0x7f || c == '.' || c == '*' || c == '>' {
				ok = false
				break
			}
		}
		if ok {
			return name
		}
	}
	return "~" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// Untoken reverses Token.
func Untoken(tok string) (string, error) {
	if !strings.HasPrefix(tok, "~") {
		return tok, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[1:])
	if err != nil {
		return "", fmt.Errorf("decode subject token %q: %w", tok, err)
	}
	return string(b), nil
}

// Subject is PREFIX.source.cluster.namespace.workload with encoded tokens.
func (s Stream) Subject(prefix string) string {
	return prefix + "." + Token(s.Source) + "." + Token(s.Cluster) + "." + Token(s.Namespace) + "." + Token(s.Workload)
}

// ParseSubject reverses Subject.
func ParseSubject(subj string) (prefix string, s Stream, err error) {
	parts := strings.Split(subj, ".")
	if len(parts) != 5 {
		return "", Stream{}, fmt.Errorf("subject %q: want PREFIX.source.cluster.namespace.workload", subj)
	}
	var names [4]string
	for i, p := range parts[1:] {
		if names[i], err = Untoken(p); err != nil {
			return "", Stream{}, err
		}
	}
	return parts[0], Stream{Source: names[0], Cluster: names[1], Namespace: names[2], Workload: names[3]}, nil
}

// ResultView is one result of a batch as slices into the encoded bytes; it
// is valid only during the WalkResults callback and lets readers that need
// a few fields of many lines skip allocating strings for each.
type ResultView struct {
	Time       int64 // unix nanoseconds, 0 when unknown
	Pod        []byte
	Container  []byte
	Message    []byte
	TemplateID uint64
	Masked     []byte
	Level      Level
	Score      float32
	DecidedBy  []byte
}

// WalkResults calls fn for every result of a batch written by
// AppendResults, without allocating per result.
func WalkResults(b []byte, fn func(s *Stream, v *ResultView)) error {
	d := decoder{b: b}
	s := d.header(kindResult)
	n := d.count()
	var v ResultView
	for i := 0; i < n && d.err == nil; i++ {
		v.Time = d.varint("time")
		v.Pod = d.bytes("pod")
		v.Container = d.bytes("container")
		v.Message = d.bytes("message")
		v.TemplateID = d.uvarint("template id")
		v.Masked = d.bytes("masked")
		if d.err != nil {
			break
		}
		if len(d.b) < 5 {
			d.fail("level/score")
			break
		}
		v.Level = Level(d.b[0])
		v.Score = math.Float32frombits(binary.LittleEndian.Uint32(d.b[1:5]))
		d.b = d.b[5:]
		v.DecidedBy = d.bytes("decider")
		if v.Level > Anomaly {
			d.fail("level")
		}
		if d.err == nil {
			fn(&s, &v)
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

// RecordView is one record of a LOGS batch as slices into the encoded
// bytes, valid only during the WalkLogs callback.
type RecordView struct {
	Time      int64 // unix nanoseconds, 0 when unknown
	Pod       []byte
	Container []byte
	Message   []byte
}

// WalkLogs calls fn for every record of a batch written by AppendLogs,
// without allocating per record. It returns the stream and record count.
func WalkLogs(b []byte, fn func(s *Stream, v *RecordView)) (Stream, int, error) {
	d := decoder{b: b}
	s := d.header(kindLogs)
	n := d.count()
	var v RecordView
	i := 0
	for ; i < n && d.err == nil; i++ {
		v.Time = d.varint("time")
		v.Pod = d.bytes("pod")
		v.Container = d.bytes("container")
		v.Message = d.bytes("message")
		if d.err == nil {
			fn(&s, &v)
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return s, i, d.err
}

// ResultsWriter appends a results batch field by field, so a service can
// turn a LOGS or PARSED batch into its output without building Result
// values. Start, then Add once per result (exactly n times), then Bytes.
type ResultsWriter struct {
	buf []byte
}

// Start begins a batch of n results for s in a buffer of about size bytes.
func (w *ResultsWriter) Start(s Stream, n int, size int) {
	w.buf = make([]byte, 0, size+64+len(s.Source)+len(s.Cluster)+len(s.Namespace)+len(s.Workload)+n*24)
	w.buf = append(w.buf, magic, kindResult, version)
	w.buf = appendStream(w.buf, s)
	w.buf = binary.AppendUvarint(w.buf, uint64(n))
}

// Add appends one result.
func (w *ResultsWriter) Add(t int64, pod, container, message []byte, templateID uint64, masked []byte, level Level, score float32, decidedBy string) {
	w.buf = appendString(w.head(t, pod, container, message, templateID, masked, level, score), decidedBy)
}

// head appends every field of a result but the decider.
func (w *ResultsWriter) head(t int64, pod, container, message []byte, templateID uint64, masked []byte, level Level, score float32) []byte {
	b := binary.AppendVarint(w.buf, t)
	b = appendBytes(b, pod)
	b = appendBytes(b, container)
	b = appendBytes(b, message)
	b = binary.AppendUvarint(b, templateID)
	b = appendBytes(b, masked)
	b = append(b, byte(level))
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(score))
}

// Bytes returns the encoded batch.
func (w *ResultsWriter) Bytes() []byte { return w.buf }

func appendBytes(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// PeekLogs reads only the stream and record count of a LOGS batch.
func PeekLogs(b []byte) (Stream, int, error) {
	d := decoder{b: b}
	s := d.header(kindLogs)
	n := d.count()
	return s, n, d.err
}

// PeekResults reads only the stream and record count of a results batch.
func PeekResults(b []byte) (Stream, int, error) {
	d := decoder{b: b}
	s := d.header(kindResult)
	n := d.count()
	return s, n, d.err
}

// AddRaw is Add with the decider as bytes (passing a result through).
func (w *ResultsWriter) AddRaw(t int64, pod, container, message []byte, templateID uint64, masked []byte, level Level, score float32, decidedBy []byte) {
	w.buf = appendBytes(w.head(t, pod, container, message, templateID, masked, level, score), decidedBy)
}
