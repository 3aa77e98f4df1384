package drain

import (
	"fmt"
	"strings"
)

// Param is one value ExtractParameters found: the text of the line and the
// name of the template placeholder it fills ("*" for the wildcard, "IP" for
// <IP>, ...).
type Param struct {
	Value string
	Mask  string
}

// piece of a compiled template: literal text, a placeholder, or a
// delimiter run between tokens.
type piece struct {
	lit   string
	mask  string // placeholder name without brackets; "" for literals
	delim bool
}

// maskName returns the name inside a mask token (<IP> -> IP, <*> -> *,
// <:NUM:> -> NUM) at the start of s and the token's length, or 0.
func maskName(s string) (string, int) {
	if len(s) < 3 || s[0] != '<' {
		return "", 0
	}
	for j := 1; j < len(s) && j < 40; j++ {
		c := s[j]
		if c == '>' {
			if j == 1 {
				return "", 0
			}
			return strings.Trim(s[1:j], ":"), j + 1
		}
		if !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '*' || c == ':') {
			return "", 0
		}
	}
	return "", 0
}

// ExtractParameters returns the values that fill the placeholders of
// template (as mined, with <*> and masks such as <IP>) in the raw line,
// splitting both with the model's delimiters so that values never swallow a
// delimiter the template kept. A wildcard or mask spans one token (a <TS>
// may span several; with MergeLengths a wildcard may too). It returns an
// error wrapping ErrTemplateMismatch when the line does not fit.
func (d *Drain) ExtractParameters(template, line string) ([]Param, error) {
	line = validUTF8(line) // as Add stored it
	st := SpaceTokenizer{Extra: d.cfg.ExtraDelimiters}
	var pieces []piece
	for i, t := range st.Tokenize(nil, template) {
		if i > 0 {
			pieces = append(pieces, piece{delim: true})
		}
		if t.Text == d.cfg.ParamString {
			pieces = append(pieces, piece{mask: "*"})
			continue
		}
		lit := 0
		for j := 0; j < len(t.Text); {
			if name, k := maskName(t.Text[j:]); k > 0 {
				if j > lit {
					pieces = append(pieces, piece{lit: t.Text[lit:j]})
				}
				pieces = append(pieces, piece{mask: name})
				j += k
				lit = j
				continue
			}
			j++
		}
		if lit < len(t.Text) {
			pieces = append(pieces, piece{lit: t.Text[lit:]})
		}
	}
	// Skip leading and trailing delimiters of the line, as tokenizing does.
	start, end := st.skipDelims(line, 0), len(line)
trim:
	for end > start {
		if isSpace(line[end-1]) {
			end--
			continue
		}
		for _, x := range st.Extra {
			if strings.HasSuffix(line[start:end], x) {
				end -= len(x)
				continue trim
			}
		}
		break
	}
	m := matcher{st: st, line: line[:end], pieces: pieces, spanAll: d.cfg.MergeLengths, failed: make(map[[2]int]bool)}
	if !m.match(0, start) {
		return nil, fmt.Errorf("extract parameters of %q: %w", template, ErrTemplateMismatch)
	}
	// Captures were pushed innermost first.
	for i, j := 0, len(m.out)-1; i < j; i, j = i+1, j-1 {
		m.out[i], m.out[j] = m.out[j], m.out[i]
	}
	return m.out, nil
}

type matcher struct {
	st      SpaceTokenizer
	line    string
	pieces  []piece
	spanAll bool
	failed  map[[2]int]bool
	out     []Param
}

// match reports whether pieces[e:] match line[pos:], recording captures.
func (m *matcher) match(e, pos int) bool {
	if e == len(m.pieces) {
		return pos == len(m.line)
	}
	key := [2]int{e, pos}
	if m.failed[key] {
		return false
	}
	p := m.pieces[e]
	ok := false
	switch {
	case p.delim:
		j := m.st.skipDelims(m.line, pos)
		ok = j > pos && m.match(e+1, j)
	case p.mask == "":
		ok = strings.HasPrefix(m.line[pos:], p.lit) && m.match(e+1, pos+len(p.lit))
	default:
		cross := p.mask == "TS" || (p.mask == "*" && m.spanAll)
		for j := pos + 1; j <= len(m.line); j++ {
			if !cross && m.st.delimAt(m.line, j-1) > 0 {
				break
			}
			if m.match(e+1, j) {
				m.out = append(m.out, Param{Value: m.line[pos:j], Mask: p.mask})
				ok = true
				break
			}
		}
	}
	if !ok {
		m.failed[key] = true
	}
	return ok
}
