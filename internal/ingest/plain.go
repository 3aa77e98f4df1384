package ingest

import (
	"context"
	"io"
	"time"

	"github.com/lognats/lognats/internal/logrec"
)

// ReadPlain reads text lines from r; each non-blank line becomes a record of
// the stream and pod in d. The time comes from a leading klog header
// ("I1203 12:00:00.123456"), RFC 3339 timestamp, "2006/01/02 15:04:05"
// (Rancher) or syslog "Jan _2 15:04:05" prefix, else from opt.Now. Headers
// without a year take the current one (or the previous one if that would put
// the line more than a day in the future), in UTC.
//
// Lines longer than opt.MaxLine keep their first MaxLine bytes (cut at a
// rune boundary) plus " …[truncated N bytes]"; invalid UTF-8 is replaced
// after the cut, so a message holding invalid bytes can grow up to three
// times MaxLine.
func ReadPlain(ctx context.Context, r io.Reader, d Defaults, sink Sink, opt Options) (Stats, error) {
	d, err := d.Normalize()
	if err != nil {
		return Stats{}, err
	}
	u := newRun(ctx, r, sink, opt, opt.withDefaults().MaxLine)
	s := logrec.Stream{Source: d.source(), Cluster: d.Cluster, Namespace: d.Namespace, Workload: d.Workload}
	var scratch []byte
	return u.loop(func(b []byte, total int) error {
		if blank(b) {
			u.st.Skipped++
			return nil
		}
		if total > u.opt.MaxLine {
			scratch = truncate(scratch, b, total, u.opt.MaxLine)
			b = scratch
			u.st.Truncated++
		}
		msg := string(u.validUTF8(b))
		now := u.now()
		t, ok := leadingTime(msg, now)
		if !ok || !inNanoRange(t) {
			t = now // no usable time of its own: a line is never dropped for it
		}
		u.st.Accepted++
		return u.b.add(u.ctx, s, logrec.Record{Time: t, Pod: d.Pod, Container: d.Container, Message: msg})
	})
}

// leadingTime parses a timestamp at the start of line; hand-written so the
// common no-timestamp and klog cases cost no allocation.
func leadingTime(line string, now time.Time) (time.Time, bool) {
	if len(line) < 15 {
		return time.Time{}, false
	}
	switch c := line[0]; {
	case c == 'I' || c == 'W' || c == 'E' || c == 'F':
		return klogTime(line, now)
	case isDigit(c):
		if len(line) >= 19 && line[4] == '-' && line[7] == '-' && (line[10] == 'T' || line[10] == ' ') {
			return rfc3339Time(line)
		}
		if len(line) >= 19 && line[4] == '/' && line[7] == '/' && line[10] == ' ' {
			return slashTime(line)
		}
	case c >= 'A' && c <= 'S':
		return syslogTime(line, now)
	}
	return time.Time{}, false
}

// klogTime parses "Lmmdd hh:mm:ss.uuuuuu".
func klogTime(line string, now time.Time) (time.Time, bool) {
	if len(line) < 15 || line[5] != ' ' || line[8] != ':' || line[11] != ':' {
		return time.Time{}, false
	}
	mo, ok1 := num(line[1:3])
	day, ok2 := num(line[3:5])
	h, ok3 := num(line[6:8])
	mi, ok4 := num(line[9:11])
	sec, ok5 := num(line[12:14])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false
	}
	ns := 0
	if len(line) > 15 && line[14] == '.' {
		ns = fraction(line[15:])
	}
	return yearless(now, mo, day, h, mi, sec, ns)
}

// syslogTime parses "Jan _2 15:04:05" as journald writes it.
func syslogTime(line string, now time.Time) (time.Time, bool) {
	if line[3] != ' ' || line[9] != ':' || line[12] != ':' {
		return time.Time{}, false
	}
	mo := 0
	for i, m := range [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		if line[:3] == m {
			mo = i + 1
			break
		}
	}
	dd := line[4:6]
	if dd[0] == ' ' {
		dd = "0" + dd[1:]
	}
	day, ok1 := num(dd)
	h, ok2 := num(line[7:9])
	mi, ok3 := num(line[10:12])
	sec, ok4 := num(line[13:15])
	if mo == 0 || !(ok1 && ok2 && ok3 && ok4) {
		return time.Time{}, false
	}
	return yearless(now, mo, day, h, mi, sec, 0)
}

func yearless(now time.Time, mo, day, h, mi, sec, ns int) (time.Time, bool) {
	if mo < 1 || mo > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, false
	}
	now = now.UTC()
	t := time.Date(now.Year(), time.Month(mo), day, h, mi, sec, ns, time.UTC)
	if t.Sub(now) > 24*time.Hour {
		t = time.Date(now.Year()-1, time.Month(mo), day, h, mi, sec, ns, time.UTC)
	}
	return t, true
}

// rfc3339Time parses a leading RFC 3339 (or space-separated) timestamp up
// to the first space after the time.
func rfc3339Time(line string) (time.Time, bool) {
	end := len(line)
	for i := 11; i < len(line); i++ {
		if line[i] == ' ' || line[i] == '\t' {
			end = i
			break
		}
	}
	// The token also covers "2006-01-02 15:04:05.000" since the scan
	// starts after the date.
	return parseTime(line[:end])
}

// parseTime parses one timestamp token: RFC 3339 with or without a zone.
// Times that unix nanoseconds cannot hold (the batch format's unit) are
// refused rather than wrapped around.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), inNanoRange(t)
		}
	}
	return time.Time{}, false
}

// Unix nanoseconds in an int64 reach from 1677-09-21 to 2262-04-11; whole
// years inside that range are accepted.
const (
	minTimeYear = 1678
	maxTimeYear = 2261
)

func inNanoRange(t time.Time) bool { return t.Year() >= minTimeYear && t.Year() <= maxTimeYear }

// slashTime parses "2006/01/02 15:04:05".
func slashTime(line string) (time.Time, bool) {
	y, ok1 := num(line[0:4])
	mo, ok2 := num(line[5:7])
	day, ok3 := num(line[8:10])
	if !(ok1 && ok2 && ok3) || line[13] != ':' || line[16] != ':' {
		return time.Time{}, false
	}
	h, ok4 := num(line[11:13])
	mi, ok5 := num(line[14:16])
	sec, ok6 := num(line[17:19])
	if !(ok4 && ok5 && ok6) || mo < 1 || mo > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, false
	}
	ns := 0
	if len(line) > 20 && line[19] == '.' {
		ns = fraction(line[20:])
	}
	return time.Date(y, time.Month(mo), day, h, mi, sec, ns, time.UTC), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// fraction turns leading digits into nanoseconds (up to 9 digits).
func fraction(s string) int {
	ns, scale := 0, 100000000
	for i := 0; i < len(s) && i < 9 && isDigit(s[i]); i++ {
		ns += int(s[i]-'0') * scale
		scale /= 10
	}
	return ns
}
