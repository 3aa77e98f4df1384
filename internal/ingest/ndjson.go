package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lognats/lognats/internal/logrec"
)

// ndjsonSlack is how much longer than MaxLine a raw NDJSON line may be:
// escaping can double a message, and the other fields need room. Longer
// records are rejected (their JSON cannot be parsed without holding them).
const ndjsonSlack = 4 << 10

// ndjsonRecord is one NDJSON line. The message fields are pointers so a
// record without any of them can be told from one with an empty message.
type ndjsonRecord struct {
	Time      jsonTime `json:"time"`
	Source    string   `json:"source"`
	Cluster   string   `json:"cluster"`
	Namespace string   `json:"namespace"`
	Workload  string   `json:"workload"`
	Pod       string   `json:"pod"`
	Container string   `json:"container"`
	Message   *string  `json:"message"`
	Log       *string  `json:"log"`
	Msg       *string  `json:"msg"`
}

// ReadNDJSON reads one JSON object per line with the fields time (RFC 3339
// string, or unix seconds, milliseconds, microseconds or nanoseconds as a
// number; missing means opt.Now), source, cluster, namespace, workload, pod,
// container and message (or log, or msg). Missing names come from d; a
// missing source is d.Source, or "workload". Unknown fields are ignored.
//
// A line that is not such an object, names an unknown source, has a bad
// time or no message field is rejected and its reason recorded with its line
// number. A raw line longer than 2*MaxLine+4 KiB is rejected unread; a
// message longer than MaxLine is truncated as in ReadPlain.
func ReadNDJSON(ctx context.Context, r io.Reader, d Defaults, sink Sink, opt Options) (Stats, error) {
	d, err := d.Normalize()
	if err != nil {
		return Stats{}, err
	}
	o := opt.withDefaults()
	rawMax := 2*o.MaxLine + ndjsonSlack
	u := newRun(ctx, r, sink, opt, rawMax)
	defSource := d.source()
	var (
		rec     ndjsonRecord
		scratch []byte
	)
	return u.loop(func(b []byte, total int) error {
		if total > rawMax {
			u.reject("record of %d bytes is longer than the limit of %d", total, rawMax)
			return nil
		}
		if blank(b) {
			u.st.Skipped++
			return nil
		}
		b = u.validUTF8(b)
		if t := bytes.TrimLeft(b, " \t"); t[0] != '{' {
			u.reject("not a JSON object: %s", preview(t))
			return nil
		}
		rec = ndjsonRecord{}
		if err := json.Unmarshal(b, &rec); err != nil {
			u.reject("malformed JSON: %v", err)
			return nil
		}
		msg := rec.Message
		if msg == nil {
			msg = rec.Log
		}
		if msg == nil {
			msg = rec.Msg
		}
		if msg == nil {
			u.reject(`no "message", "log" or "msg" field`)
			return nil
		}
		m := *msg
		if strings.HasSuffix(m, "\n") {
			// Container runtimes' JSON logs ("log") keep the newline.
			m = strings.TrimRight(m, "\r\n")
		}
		if blank([]byte(m)) {
			u.st.Skipped++
			return nil
		}
		s := logrec.Stream{
			Source:    or(rec.Source, defSource),
			Cluster:   or(rec.Cluster, d.Cluster),
			Namespace: or(rec.Namespace, d.Namespace),
			Workload:  or(rec.Workload, d.Workload),
		}
		if strings.Contains(rec.Workload, "/") {
			// A record's NAMESPACE/NAME carries its namespace; the
			// default's does not apply.
			s.Namespace = rec.Namespace
		}
		if !logrec.ValidSource(s.Source) {
			u.reject("unknown source %s (want one of %s)", preview([]byte(s.Source)), strings.Join(logrec.Sources(), ", "))
			return nil
		}
		var err error
		if s.Namespace, s.Workload, err = splitWorkload(s.Namespace, s.Workload); err != nil {
			u.reject("%v", err)
			return nil
		}
		if err := checkName("cluster", s.Cluster); err != nil {
			u.reject("%v", err)
			return nil
		}
		if s.Source == logrec.SourceWorkload {
			if err := needWorkload(s.Namespace, s.Workload); err != nil {
				u.reject("%v", err)
				return nil
			}
		}
		if len(m) > u.opt.MaxLine {
			scratch = truncate(scratch, []byte(m), len(m), u.opt.MaxLine)
			m = string(scratch)
			u.st.Truncated++
		}
		t := rec.Time.t
		if !rec.Time.set {
			t = u.now()
		} else if !inNanoRange(t) {
			u.reject("time %s is outside %d..%d", t.Format(time.RFC3339), minTimeYear, maxTimeYear)
			return nil
		}
		u.st.Accepted++
		return u.b.add(u.ctx, s, logrec.Record{
			Time:      t,
			Pod:       or(rec.Pod, d.Pod),
			Container: or(rec.Container, d.Container),
			Message:   m,
		})
	})
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// preview quotes the start of b for an error message, so a rejected
// megabyte line does not end up in Stats.Errors.
func preview(b []byte) string {
	const n = 40
	if len(b) > n {
		return strconv.Quote(strings.ToValidUTF8(string(b[:n]), "\uFFFD")) + "…"
	}
	return strconv.Quote(string(b))
}

// jsonTime accepts an RFC 3339 string or a unix time number whose unit is
// guessed from its size.
type jsonTime struct {
	t   time.Time
	set bool
}

func (j *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t, ok := parseTime(strings.TrimSpace(s))
		if !ok && t.IsZero() {
			return fmt.Errorf("time %s is not RFC 3339", preview([]byte(s)))
		}
		j.t, j.set = t, true // out of range: refused with its own message
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		j.t, j.set = unixInt(n), true
		return nil
	}
	// Fractional seconds, the common case, are read exactly.
	if i := bytes.IndexByte(b, '.'); i > 0 && bytes.IndexAny(b, "eE") < 0 {
		if sec, err := strconv.ParseInt(string(b[:i]), 10, 64); err == nil && sec > -1e11 && sec < 1e11 && allDigits(b[i+1:]) {
			ns := int64(fraction(string(b[i+1:])))
			if b[0] == '-' {
				ns = -ns
			}
			j.t, j.set = time.Unix(sec, ns).UTC(), true
			return nil
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 9e18 {
		return fmt.Errorf("time %s is neither RFC 3339 nor a unix time", preview(b))
	}
	// Fractional: scale to nanoseconds by the same magnitude rule.
	switch a := math.Abs(f); {
	case a < 1e11:
		f *= 1e9
	case a < 1e14:
		f *= 1e6
	case a < 1e17:
		f *= 1e3
	}
	if math.Abs(f) > 9e18 {
		return fmt.Errorf("time %s is out of range", preview(b))
	}
	j.t, j.set = time.Unix(0, int64(f)).UTC(), true
	return nil
}

// unixInt reads n as seconds, milliseconds, microseconds or nanoseconds:
// 1e11 seconds is the year 5138, 1e11 milliseconds is 1973, so the ranges
// do not overlap for any plausible log.
func unixInt(n int64) time.Time {
	a := n
	if a < 0 {
		a = -a
	}
	switch {
	case a < 1e11:
		return time.Unix(n, 0).UTC()
	case a < 1e14:
		return time.UnixMilli(n).UTC()
	case a < 1e17:
		return time.UnixMicro(n).UTC()
	default:
		return time.Unix(0, n).UTC()
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}
