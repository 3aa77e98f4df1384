package detecteval

import (
	"regexp"
	"strings"
)

// Severity levels as lognats reads them from a raw line. The order matters:
// higher is more severe.
const (
	levelUnknown = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
	levelFatal
)

var levelNames = [...]string{"", "debug", "info", "warn", "error", "fatal"}

// levelParser recognises the severity markers of the log formats lognats
// ingests: klog headers (E0102 15:04:05), logfmt level=..., JSON
// "level":"...", bracketed [ERROR] (Rancher, CoreDNS), bare upper-case
// ERROR/FATAL words, etcd's capnslog "hh:mm:ss.us W | pkg:", and Go
// panics. It is a general prior, not fitted to a
// data set: it only reads what the program itself declared.
type levelParser struct {
	klog, capns, kv, bracket, bare *regexp.Regexp
}

func newLevelParser() *levelParser {
	return &levelParser{
		klog:    regexp.MustCompile(`(?:^|[\s"'\]])([IWEF])\d{4} \d\d:\d\d:\d\d`),
		capns:   regexp.MustCompile(`\d\d:\d\d:\d\d(?:\.\d+)? ([DINWEFC]) \| `),
		kv:      regexp.MustCompile(`(?i)"?\b(?:level|lvl|severity)"?\s*[=:]\s*"?([a-z]+)`),
		bracket: regexp.MustCompile(`\[(ERROR|ERR|FATAL|PANIC|WARN|WARNING|INFO|DEBUG|TRACE)\]`),
		bare:    regexp.MustCompile(`(?:^|\s)(ERROR|FATAL|PANIC|WARN|WARNING)(?:\s|:|$)`),
	}
}

func levelFromWord(w string) int {
	switch strings.ToLower(w) {
	case "e", "err", "error", "eror":
		return levelError
	case "f", "c", "fatal", "panic", "crit", "critical", "emerg", "alert", "dpanic":
		return levelFatal
	case "w", "warn", "warning":
		return levelWarn
	case "i", "n", "info", "notice", "information":
		return levelInfo
	case "d", "debug", "trace", "dbug":
		return levelDebug
	}
	return levelUnknown
}

// level returns the severity the line declares, or levelUnknown.
func (p *levelParser) level(raw string) int {
	t := strings.TrimSpace(raw)
	if strings.HasPrefix(t, "panic:") || strings.HasPrefix(t, "fatal error:") {
		return levelFatal
	}
	if m := p.klog.FindStringSubmatch(raw); m != nil {
		return levelFromWord(m[1])
	}
	if m := p.capns.FindStringSubmatch(raw); m != nil {
		return levelFromWord(m[1])
	}
	if m := p.kv.FindStringSubmatch(raw); m != nil {
		if l := levelFromWord(m[1]); l != levelUnknown {
			return l
		}
	}
	if m := p.bracket.FindStringSubmatch(raw); m != nil {
		return levelFromWord(m[1])
	}
	if m := p.bare.FindStringSubmatch(raw); m != nil {
		return levelFromWord(m[1])
	}
	return levelUnknown
}

// problemWords is a general lexicon of how programs say something went
// wrong, in the wording of Go, Kubernetes and Linux error messages. It is a
// documented prior, not a list fitted to a data set: it says nothing about
// whether a line is unusual, only that, if it is, it is worth a look.
var problemWords = []string{
	"fail", "error", "unable", "cannot", "can't", "could not", "couldn't",
	"timeout", "timed out", "deadline exceeded", "refused", "denied", "forbidden",
	"unauthorized", "panic", "fatal", "crash", "killed", "oom", "lost", "unhealthy",
	"not ready", "unavailable", "unreachable", "no such", "invalid", "exceeded",
	"overload", "too long", "corrupt", "abort", "reject", "degraded", "evict",
	"back-off", "backoff", "terminated", "exited", "x509", "handshake",
	"reset by peer", "no space", "i/o", "not found", "broken", "dropped",
}

// hasProblemWord reports whether the lower-cased line uses a word of
// problemWords.
func hasProblemWord(lower string) bool {
	for _, w := range problemWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}
