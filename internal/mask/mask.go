package mask

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Built-in mask names, as they appear in masked lines.
const (
	TS       = "<TS>"
	URL      = "<URL>"
	Email    = "<EMAIL>"
	UUID     = "<UUID>"
	IP       = "<IP>"
	Hex      = "<HEX>"
	Duration = "<DURATION>"
	Loc      = "<LOC>"
	Path     = "<PATH>"
	Num      = "<NUM>"
	ID       = "<ID>"
)

// builtinOrder lists the built-in rules in the order they are tried.
var builtinOrder = [...]string{TS, URL, Email, UUID, IP, Hex, Duration, Loc, Path, Num, ID}

// Names returns the built-in mask names in the order they are tried.
func Names() []string { return slices.Clone(builtinOrder[:]) }

// Rule is a user-supplied masking rule: every match of Pattern (Go regexp
// syntax) becomes Name. Name is wrapped in <> when it is not already.
type Rule struct {
	Pattern string `json:"pattern"`
	Name    string `json:"name"`
}

// Config selects the masking rules. The zero value enables every built-in rule.
type Config struct {
	// Disable lists built-in mask names (e.g. "<PATH>" or "PATH") to turn off.
	Disable []string `json:"disable,omitempty"`
	// Rules are user rules, tried before the built-in ones at each token start.
	Rules []Rule `json:"rules,omitempty"`
}

// ErrConfig is wrapped by the errors New returns for a bad Config.
var ErrConfig = errors.New("invalid mask config")

type userRule struct {
	re   *regexp.Regexp
	name string
}

// Masker masks log lines. Build one with New; it is safe for concurrent use.
type Masker struct {
	on    [len(builtinOrder)]bool
	rules []userRule
}

// New builds a Masker from cfg. It returns an error wrapping ErrConfig when a
// disabled name is unknown, a rule's pattern does not compile or its name is
// empty.
func New(cfg Config) (*Masker, error) {
	m := &Masker{}
	for i := range m.on {
		m.on[i] = true
	}
	for _, d := range cfg.Disable {
		n := wrapName(d)
		i := slices.Index(builtinOrder[:], n)
		if i < 0 {
			return nil, fmt.Errorf("disable mask %q: unknown name: %w", d, ErrConfig)
		}
		m.on[i] = false
	}
	for i, r := range cfg.Rules {
		if strings.Trim(r.Name, "<> ") == "" {
			return nil, fmt.Errorf("rule %d: empty name: %w", i, ErrConfig)
		}
		// Anchor at the current position: rules are tried at token starts.
		re, err := regexp.Compile(`^(?:` + r.Pattern + `)`)
		if err != nil {
			return nil, fmt.Errorf("rule %d (%s): compile pattern: %w: %w", i, r.Name, ErrConfig, err)
		}
		m.rules = append(m.rules, userRule{re: re, name: wrapName(r.Name)})
	}
	return m, nil
}

// Default returns a Masker with every built-in rule and no user rules.
func Default() *Masker {
	m, _ := New(Config{}) // cannot fail: the zero Config is valid
	return m
}

func wrapName(n string) string {
	n = strings.TrimSpace(n)
	if !strings.HasPrefix(n, "<") {
		n = "<" + n
	}
	if !strings.HasSuffix(n, ">") {
		n += ">"
	}
	return n
}

// MaskString masks line and returns the result as a string.
func (m *Masker) MaskString(line string) string {
	return string(m.Mask(make([]byte, 0, len(line)), []byte(line)))
}

// Mask appends the masked form of line to dst and returns the extended
// buffer. It never fails: bytes that match no rule are copied, including
// invalid UTF-8. With a reused dst it does not allocate (user rules may).
func (m *Masker) Mask(dst, line []byte) []byte {
	n := len(line)
	i := 0
	for i < n {
		c := line[i]
		if c == ' ' { // the most common byte, and never a token
			dst = append(dst, c)
			i++
			continue
		}
		if c == 0x1b {
			i += ansiLen(line[i:])
			continue
		}
		if i > 0 && isAlnum(line[i-1]) {
			dst = append(dst, c)
			i++
			continue
		}
		// Token start.
		if c == '<' {
			if k := maskLike(line[i:]); k > 0 {
				dst = append(dst, line[i:i+k]...)
				i += k
				continue
			}
		}
		if len(m.rules) > 0 {
			if k, name := m.userMatch(line[i:]); k > 0 {
				dst = append(dst, name...)
				i += k
				continue
			}
		}
		if k, idx := m.builtin(line, i); k > 0 {
			if idx == copyVerbatim {
				dst = append(dst, line[i:i+k]...)
			} else {
				dst = append(dst, builtinOrder[idx]...)
			}
			i += k
			continue
		}
		// No rule: copy the whole word so that no rule starts inside it.
		j := i + 1
		if isAlnum(c) {
			for j < n && isAlnum(line[j]) {
				j++
			}
		}
		dst = append(dst, line[i:j]...)
		i = j
	}
	return dst
}

func (m *Masker) userMatch(s []byte) (int, string) {
	for _, r := range m.rules {
		if loc := r.re.FindIndex(s); loc != nil && loc[1] > 0 {
			return loc[1], r.name
		}
	}
	return 0, ""
}

// Indexes into builtinOrder.
const (
	iTS = iota
	iURL
	iEmail
	iUUID
	iIP
	iHex
	iDuration
	iLoc
	iPath
	iNum
	iID
	// copyVerbatim tells Mask to copy the matched bytes unchanged.
	copyVerbatim = -1
)

// step is one built-in rule tried at a token start.
type step struct {
	idx  int
	scan func([]byte) int
}

// Rules to try, in the documented order, by the class of the first byte.
var (
	digitSteps = [...]step{{iTS, scanTS}, {iUUID, scanUUID}, {iIP, scanIP}, {iHex, scanHex}, {iDuration, scanDuration}, {iNum, scanNum}, {iID, scanID}}
)

// alphaRules tries the rules for a token starting with a letter, in the
// documented order, skipping those that the byte after the word run s[:j]
// rules out (URLs, IPv6, source references and C:\ paths need a ':', email
// an '@').
func (m *Masker) alphaRules(s []byte, j int, upper bool) (int, int) {
	var next byte
	if j < len(s) {
		next = s[j]
	}
	if upper && m.on[iTS] {
		if k := scanTSAlpha(s); k > 0 {
			return k, iTS
		}
	}
	// next2 is the byte after next: '/' for URLs, a digit for file:line.
	var next2 byte
	if j+1 < len(s) {
		next2 = s[j+1]
	}
	if next == ':' && next2 == '/' && m.on[iURL] {
		if k := scanURL(s); k > 0 {
			return k, iURL
		}
	}
	if next == '@' && m.on[iEmail] {
		if k := scanEmail(s); k > 0 {
			return k, iEmail
		}
	}
	if j >= 36 && s[8] == '-' && m.on[iUUID] {
		if k := scanUUID(s); k > 0 {
			return k, iUUID
		}
	}
	if next == ':' && j <= 4 && m.on[iIP] {
		if k := scanIPv6(s); k > 0 {
			return k, iIP
		}
	}
	if m.on[iHex] && j >= 8 {
		if k := scanHex(s); k > 0 {
			return k, iHex
		}
	}
	if next == ':' && isDigit(next2) && m.on[iLoc] {
		if k := scanLoc(s); k > 0 {
			return k, iLoc
		}
	}
	if j == 1 && next == ':' && m.on[iPath] {
		if k := scanWinPath(s); k > 0 {
			return k, iPath
		}
	}
	if m.on[iID] {
		if k := scanID(s); k > 0 {
			return k, iID
		}
	}
	return 0, 0
}

func (m *Masker) try(steps []step, s []byte) (int, int) {
	for _, st := range steps {
		if m.on[st.idx] {
			if k := st.scan(s); k > 0 {
				return k, st.idx
			}
		}
	}
	return 0, 0
}

// builtin tries the built-in rules at line[i], a token start, and returns the
// matched length and the rule index (copyVerbatim for text to keep as is).
func (m *Masker) builtin(line []byte, i int) (int, int) {
	s := line[i:]
	c := s[0]
	switch {
	case isDigit(c):
		// Fast path: a plain number followed by a separator that no
		// multi-part rule (time, IP, UUID, duration, id) could continue with.
		d := digits(s, 0, 0)
		if d == len(s) || !(isWord(s[d]) || s[d] == ':' || s[d] == '.' || s[d] == '-' || s[d] == '/') {
			if m.on[iNum] {
				return d, iNum
			}
			return d, copyVerbatim
		}
		return m.try(digitSteps[:], s)
	case isAlpha(c):
		// Fast path: a word without digits that is not followed by a byte
		// which could make it a URL, email, source reference or path is
		// copied whole. Only timestamps (Jan 2 ..., I1203 ...) start with an
		// upper-case word, so those still get tried.
		// One table load per byte: the run's classes are or-ed together to
		// learn whether it held a digit.
		j, seen := 0, uint8(0)
		for j < len(s) {
			k := classes[s[j]]
			if k&(cDigit|cAlpha|cUnderscore|cFileExtra) == 0 {
				break
			}
			seen |= k
			j++
		}
		dig := seen&cDigit != 0
		upper := c >= 'A' && c <= 'Z'
		if !dig && (j == len(s) || (s[j] != ':' && s[j] != '@' && s[j] != '/' && s[j] != '\\')) {
			if upper && m.on[iTS] && j == 3 {
				if k := scanTSAlpha(s); k > 0 {
					return k, iTS
				}
			}
			return j, copyVerbatim
		}
		return m.alphaRules(s, j, upper)
	case c == '/' || c == '.' || c == '~':
		if m.on[iPath] && (i == 0 || line[i-1] != '/') {
			if k := scanPath(s); k > 0 {
				return k, iPath
			}
		}
	case c == '-' || c == '+':
		if m.on[iNum] && len(s) > 1 && isDigit(s[1]) {
			if k := scanNum(s[1:]); k > 0 {
				return k + 1, iNum
			}
		}
	case c == '[':
		if m.on[iIP] {
			if k := scanBracketIPv6(s); k > 0 {
				return k, iIP
			}
		}
	case c == ':':
		if m.on[iIP] && len(s) > 1 && s[1] == ':' {
			if k := scanIPv6(s); k > 0 {
				return k, iIP
			}
		}
	}
	return 0, 0
}
