package detecteval

import (
	"sort"
	"strings"
	"unicode"
)

// A reversal is a familiar event with one word turned into its loss: the
// engine that logged "Adding backend: <URL>" during training now logs
// "Removing backend: <URL>"; "Opening: <IP>" becomes "Closing: <IP>".
// Components announce losing something in the same words they announce
// gaining it, at info level and without an error word, so the severity and
// lexicon evidence miss it; the new line is still unfamiliar, and that it
// mirrors a familiar one is the evidence that state is being lost rather
// than that a new component started talking (the usual reason a benign line
// is new).
//
// The pairs are general English for a resource's life cycle, not words
// taken from one log. Only the loss side counts: a familiar "Removing X"
// turning into "Adding X" is a recovery, not a failure.
var lifeCycle = [][2]string{
	{"add", "remove"}, {"open", "close"}, {"connect", "disconnect"},
	{"start", "stop"}, {"create", "delete"}, {"attach", "detach"},
	{"mount", "unmount"}, {"enable", "disable"}, {"up", "down"},
	{"online", "offline"}, {"healthy", "unhealthy"}, {"ready", "notready"},
	{"ready", "unready"}, {"succeed", "fail"}, {"success", "failure"},
	{"acquired", "lost"}, {"register", "unregister"}, {"register", "deregister"},
	{"join", "leave"}, {"load", "unload"}, {"available", "unavailable"},
	{"reachable", "unreachable"}, {"valid", "invalid"}, {"running", "terminated"},
	{"schedulable", "unschedulable"}, {"bound", "unbound"}, {"elected", "lost"},
}

// lossPairs maps the stem of a loss word to the stems of its gains.
type lossPairs map[string][]string

func newLossPairs() lossPairs {
	p := lossPairs{}
	for _, pr := range lifeCycle {
		loss := stemWord(pr[1])
		p[loss] = append(p[loss], stemWord(pr[0]))
	}
	return p
}

// gains is the set of gain stems.
func (p lossPairs) gains() map[string]bool {
	g := map[string]bool{}
	for _, gs := range p {
		for _, s := range gs {
			g[s] = true
		}
	}
	return g
}

// stemWord folds the inflections log messages use (adding, added, adds,
// remove, removed) onto one stem. It only has to map a word and its
// antonym's forms consistently, not be a real stemmer.
func stemWord(w string) string {
	w = strings.ToLower(w)
	for _, suf := range []string{"ing", "ed", "es", "s", "e"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			w = w[:len(w)-len(suf)]
			break
		}
	}
	if n := len(w); n > 3 && w[n-1] == w[n-2] { // stopp(ed) -> stop
		w = w[:n-1]
	}
	return w
}

// frameWords splits a masked line into words, dropping the collection
// envelope (leading timestamps and [pod/container] tags) that differs
// between kubectl, the container runtime and journald for the same message.
func frameWords(masked string) []string {
	f := strings.Fields(masked)
	i := 0
	for i < len(f) && (f[i] == "<TS>" || isTag(f[i])) {
		i++
	}
	var out []string
	for _, tok := range f[i:] {
		out = append(out, strings.FieldsFunc(tok, func(r rune) bool {
			return !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("<>*-_", r))
		})...)
	}
	return out
}

func isTag(s string) bool {
	return len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' && !strings.ContainsAny(s[1:len(s)-1], "[] ")
}

// maxFrames bounds what a detector stores: the frames are training lines
// that hold a gain word, a small share of a log's distinct lines.
const maxFrames = 100000

// reversals indexes the familiar lines that hold a gain word, by the line
// with that word blanked out.
type reversals struct {
	pairs  lossPairs
	frames []string            // distinct word sequences, sorted (stored in the bundle)
	index  map[string]struct{} // words with one gain blanked to "\x00"+gain stem
}

func newReversals(frames []string) *reversals {
	r := &reversals{pairs: newLossPairs(), index: map[string]struct{}{}}
	gains := r.pairs.gains()
	for _, fr := range frames {
		w := strings.Fields(fr)
		for i, word := range w {
			if s := stemWord(word); gains[s] {
				r.index[blank(w, i, s)] = struct{}{}
			}
		}
	}
	r.frames = frames
	return r
}

// collectFrames picks the distinct training frames that hold a gain word.
func collectFrames(masked []string) []string {
	gains := newLossPairs().gains()
	seen := map[string]bool{}
	for _, m := range masked {
		w := frameWords(m)
		if len(w) < 2 {
			continue
		}
		for _, word := range w {
			if gains[stemWord(word)] {
				seen[strings.Join(w, " ")] = true
				break
			}
		}
		if len(seen) >= maxFrames {
			break
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func blank(w []string, i int, stem string) string {
	var b strings.Builder
	for j, word := range w {
		if j > 0 {
			b.WriteByte(' ')
		}
		if j == i {
			b.WriteString("\x00" + stem)
			continue
		}
		b.WriteString(word)
	}
	return b.String()
}

// Reverses reports whether the masked line is a familiar line with one
// gain word turned into its loss.
func (r *reversals) Reverses(masked string) bool {
	if r == nil || len(r.index) == 0 {
		return false
	}
	w := frameWords(masked)
	if len(w) < 2 {
		return false
	}
	for i, word := range w {
		for _, g := range r.pairs[stemWord(word)] {
			if _, ok := r.index[blank(w, i, g)]; ok {
				return true
			}
		}
	}
	return false
}
