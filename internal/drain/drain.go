package drain

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Change says what Add did to the model.
type Change uint8

// Changes Add reports.
const (
	ChangeNone            Change = iota // the line fit a cluster's template as it was
	ChangeCreated                       // the line started a new cluster
	ChangeTemplateChanged               // the line turned template tokens into wildcards
)

func (c Change) String() string {
	switch c {
	case ChangeNone:
		return "none"
	case ChangeCreated:
		return "created"
	case ChangeTemplateChanged:
		return "template_changed"
	}
	return fmt.Sprintf("Change(%d)", uint8(c))
}

// Strategy is Match's search strategy, as Drain3's full_search_strategy.
type Strategy uint8

// Match strategies.
const (
	// SearchNever only walks the prefix tree (with fallback from an exact
	// token branch to the wildcard branch).
	SearchNever Strategy = iota
	// SearchFallback walks the tree and, when that finds nothing, compares
	// the line with every cluster of its token count.
	SearchFallback
	// SearchAlways compares the line with every cluster of its token count.
	SearchAlways
)

// ParseStrategy parses "never", "fallback" or "always".
func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "never":
		return SearchNever, nil
	case "fallback":
		return SearchFallback, nil
	case "always":
		return SearchAlways, nil
	}
	return 0, fmt.Errorf("parse match strategy %q: want never, fallback or always: %w", s, ErrConfig)
}

// Result describes the cluster a line was added to or matched.
type Result struct {
	ClusterID int64
	Change    Change
	Template  string
	Size      int64
}

// cluster is one template. Clusters form an intrusive LRU list (head is the
// most recently matched) and sit in exactly one tree leaf.
type cluster struct {
	id       int64
	tokens   []string
	seps     []string
	template string
	size     int64
	// consts counts the tokens that are not the wildcard: a line can share
	// at most that many tokens with the template, which lets a leaf scan
	// skip the cluster without comparing a token.
	consts int
	label  string
	counts map[string]int64
	leaf   *node
	// multi marks wildcards that have absorbed more than one token
	// (Config.MergeLengths); nil when none has.
	multi      []bool
	prev, next *cluster
}

type node struct {
	children map[string]*node
	clusters []*cluster
}

// Drain is a template miner. See the package doc for its concurrency rules.
type Drain struct {
	cfg     Config
	tok     Tokenizer
	byLen   map[int]*node
	byID    map[int64]*cluster
	head    *cluster
	tail    *cluster
	lastID  int64
	scratch []Token
	// lastSame is the number of equal constant tokens of the last cluster
	// search returned while mining, so Add knows without a second compare
	// whether the template keeps every constant.
	lastSame int
	// multiLen lists clusters with a multi-token wildcard, which lines of
	// other token counts may match.
	multiLen map[int64]*cluster
}

// New returns an empty model that tokenizes with SpaceTokenizer and
// cfg.ExtraDelimiters. It returns an error wrapping ErrConfig when cfg is
// invalid.
func New(cfg Config) (*Drain, error) {
	return NewWithTokenizer(cfg, SpaceTokenizer{Extra: slices.Clone(cfg.ExtraDelimiters)})
}

// NewWithTokenizer is New with another tokenizer. Snapshots do not record
// the tokenizer: Load always uses SpaceTokenizer.
func NewWithTokenizer(cfg Config, tok Tokenizer) (*Drain, error) {
	if cfg.ParamString == "" {
		cfg.ParamString = "<*>"
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new drain: %w", err)
	}
	if tok == nil {
		return nil, fmt.Errorf("new drain: nil tokenizer: %w", ErrConfig)
	}
	cfg.ExtraDelimiters = slices.Clone(cfg.ExtraDelimiters)
	return &Drain{
		cfg:      cfg,
		tok:      tok,
		byLen:    make(map[int]*node),
		byID:     make(map[int64]*cluster),
		multiLen: make(map[int64]*cluster),
	}, nil
}

// Config returns the model's configuration.
func (d *Drain) Config() Config {
	c := d.cfg
	c.ExtraDelimiters = slices.Clone(c.ExtraDelimiters)
	return c
}

// Len returns the number of clusters.
func (d *Drain) Len() int { return len(d.byID) }

// bytesString views b as a string without copying. The model never keeps
// such a string: whatever it stores is cloned first.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Add mines line: it joins the most similar cluster or starts a new one.
func (d *Drain) Add(line string) Result {
	line = validUTF8(line)
	toks := d.tok.Tokenize(d.scratch[:0], line)
	d.scratch = toks[:0]
	c := d.search(toks, d.cfg.SimTh, false)
	if c == nil && d.cfg.MergeLengths {
		if c, w := d.searchOtherLengths(toks, true); c != nil {
			ch := ChangeNone
			if d.absorb(c, w) {
				ch = ChangeTemplateChanged
			}
			d.touch(c)
			c.size++
			return Result{ClusterID: c.id, Change: ch, Template: c.template, Size: c.size}
		}
	}
	if c == nil {
		c = d.create(line)
		return Result{ClusterID: c.id, Change: ChangeCreated, Template: c.template, Size: c.size}
	}
	c.size++
	d.touch(c)
	if d.lastSame < c.consts {
		// Some constant token differs: it becomes a wildcard.
		for i, t := range c.tokens {
			if t != d.cfg.ParamString && t != toks[i].Text {
				c.tokens[i] = d.cfg.ParamString
				c.consts--
			}
		}
		c.template = render(c.tokens, c.seps)
		return Result{ClusterID: c.id, Change: ChangeTemplateChanged, Template: c.template, Size: c.size}
	}
	return Result{ClusterID: c.id, Change: ChangeNone, Template: c.template, Size: c.size}
}

// validUTF8 replaces invalid bytes with U+FFFD. Templates are stored as
// JSON, which cannot carry invalid UTF-8: two tokens differing only in
// invalid bytes would be written as one and make the snapshot unloadable.
// Valid lines (nearly all) cost one scan and no allocation.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// AddBytes is Add for a byte slice, which it does not keep.
func (d *Drain) AddBytes(line []byte) Result { return d.Add(bytesString(line)) }

// Match finds the cluster whose template fits line (every constant token
// equal) without changing the model. It does not allocate when line fits a
// known template.
func (d *Drain) Match(line string, s Strategy) (Result, bool) {
	line = validUTF8(line)
	toks := d.tok.Tokenize(d.scratch[:0], line)
	d.scratch = toks[:0]
	var c *cluster
	switch s {
	case SearchNever:
		c = d.search(toks, 1, true)
	case SearchFallback:
		if c = d.search(toks, 1, true); c == nil {
			c = d.fullSearch(toks)
		}
	default:
		c = d.fullSearch(toks)
	}
	if c == nil && len(d.multiLen) > 0 {
		c, _ = d.searchOtherLengths(toks, false)
	}
	if c == nil {
		return Result{}, false
	}
	return Result{ClusterID: c.id, Change: ChangeNone, Template: c.template, Size: c.size}, true
}

// MatchBytes is Match for a byte slice, which it does not keep.
func (d *Drain) MatchBytes(line []byte, s Strategy) (Result, bool) {
	return d.Match(bytesString(line), s)
}

// levels returns how many leading tokens route a line of n tokens.
func (d *Drain) levels(n int) int { return min(d.cfg.Depth-3, n) }

// hasDigit reports whether a token looks variable for routing: it holds a
// digit (Drain3's rule) or a mask token (<IP>, <:NUM:>). A mask stands for
// what were digits before masking, so "vis=<NUM>" routes like "vis=4" would
// in Drain3; routing it by its text would send "vis=<HEX>" and "vis=<NUM>",
// one key with differently shaped values, down separate branches where no
// similarity test ever compares them.
func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			return true
		case c == '<':
			if _, k := maskName(s[i:]); k > 0 {
				return true
			}
		}
	}
	return false
}

// search walks the tree. Unlike Drain3 it falls back from an exact-token
// child to the wildcard child when the exact branch holds no fit.
func (d *Drain) search(toks []Token, simTh float64, withParams bool) *cluster {
	root := d.byLen[len(toks)]
	if root == nil {
		return nil
	}
	return d.descend(root, toks, 0, d.levels(len(toks)), simTh, withParams)
}

func (d *Drain) descend(nd *node, toks []Token, lvl, levels int, simTh float64, withParams bool) *cluster {
	if lvl == levels {
		return d.fastMatch(nd.clusters, toks, simTh, withParams)
	}
	key := toks[lvl].Text
	if !(d.cfg.ParametrizeNumericTokens && hasDigit(key)) {
		if child := nd.children[key]; child != nil {
			if c := d.descend(child, toks, lvl+1, levels, simTh, withParams); c != nil {
				return c
			}
		}
	}
	if key != d.cfg.ParamString {
		if w := nd.children[d.cfg.ParamString]; w != nil {
			return d.descend(w, toks, lvl+1, levels, simTh, withParams)
		}
	}
	return nil
}

// seqDist is Drain3's similarity: the share of positions where the template
// token equals the line token (wildcards count when withParams), and the
// number of wildcards as a tie-breaker.
func (d *Drain) seqDist(tmpl []string, toks []Token, withParams bool) (float64, int) {
	same, params, ok := d.countSame(tmpl, toks, withParams, 0)
	if !ok || len(tmpl) == 0 {
		return 1, 0
	}
	return float64(same) / float64(len(tmpl)), params
}

// countSame counts equal tokens (plus wildcards when withParams) and
// wildcards. It gives up (ok false) as soon as the count can no longer reach
// atLeast, which keeps scans of big leaves short.
func (d *Drain) countSame(tmpl []string, toks []Token, withParams bool, atLeast int) (same, params int, ok bool) {
	p := d.cfg.ParamString
	n := len(tmpl)
	for i, t := range tmpl {
		if len(t) == len(p) && t == p {
			params++
			if withParams {
				same++
			}
			continue
		}
		if t == toks[i].Text {
			same++
		} else if same+n-i-1 < atLeast {
			return same, params, false
		}
	}
	return same, params, true
}

// countConstSame counts the constant tokens of c equal to the line's, as
// mining does. It gives up (ok false) after more than slack constants
// differ: the count could then no longer reach what the caller needs.
//
// It compares from the last token back. Lines that share a leaf share their
// first tokens, and a log's header (levels, component names, masked times)
// sits at the front while the message that tells templates apart comes
// last, so a wrong cluster is usually rejected after a token or two. The
// count, and so the result, does not depend on the order.
func (d *Drain) countConstSame(c *cluster, toks []Token, slack int) (same int, ok bool) {
	p := d.cfg.ParamString
	tmpl := c.tokens
	toks = toks[:len(tmpl)] // one bounds check instead of one per token
	for i := len(tmpl) - 1; i >= 0; i-- {
		t := tmpl[i]
		if t == toks[i].Text {
			// Equal to the line's token, which only counts when it is a
			// constant (a line may hold the wildcard text itself).
			if len(t) != len(p) || t != p {
				same++
			}
		} else if len(t) != len(p) || t != p {
			if slack--; slack < 0 {
				return same, false
			}
		}
	}
	return same, true
}

// fastMatch picks the most similar cluster at or above simTh; ties go to
// more wildcards, then to the older cluster. Similarity is compared as
// counts: every cluster in a leaf has the same token count.
func (d *Drain) fastMatch(cs []*cluster, toks []Token, simTh float64, withParams bool) *cluster {
	n := len(toks)
	if n == 0 {
		var best *cluster
		for _, c := range cs {
			if best == nil || c.id < best.id {
				best = c
			}
		}
		d.lastSame = 0
		return best
	}
	// The least count of equal tokens that reaches simTh.
	need := int(math.Ceil(simTh*float64(n) - 1e-9))
	var best *cluster
	bestSame, bestParams, bestAt := -1, -1, 0
	for at, c := range cs {
		atLeast := max(need, bestSame)
		if !withParams && c.consts < atLeast {
			// Mining counts only constants as equal, so c cannot reach the
			// threshold or the best so far.
			continue
		}
		var same, params int
		if withParams {
			var ok bool
			if same, params, ok = d.countSame(c.tokens, toks, true, atLeast); !ok {
				continue
			}
		} else {
			var ok bool
			if same, ok = d.countConstSame(c, toks, c.consts-atLeast); !ok {
				continue
			}
			params = n - c.consts
		}
		if !withParams && d.cfg.StableWords > 0 && c.size >= int64(d.cfg.StableWords) && same < n && d.stableConflict(c.tokens, toks) {
			continue
		}
		if same > bestSame || (same == bestSame && (params > bestParams || (params == bestParams && c.id < best.id))) {
			best, bestSame, bestParams, bestAt = c, same, params, at
		}
	}
	if best == nil || bestSame < need {
		return nil
	}
	if !withParams {
		d.lastSame = bestSame
		// Mining moves the chosen cluster to the front of its leaf. The
		// choice above does not depend on the order (ties go by wildcards,
		// then id), but a cluster that fits every constant, met first,
		// raises the bound that lets the rest of the scan skip clusters.
		if bestAt > 0 {
			copy(cs[1:bestAt+1], cs[:bestAt])
			cs[0] = best
		}
	}
	return best
}

// fullSearch compares toks with every cluster of the same token count.
func (d *Drain) fullSearch(toks []Token) *cluster {
	root := d.byLen[len(toks)]
	if root == nil {
		return nil
	}
	var best *cluster
	bestParams := -1
	d.walk(root, func(c *cluster) {
		sim, params := d.seqDist(c.tokens, toks, true)
		if sim == 1 && (params > bestParams || (params == bestParams && c.id < best.id)) {
			best, bestParams = c, params
		}
	})
	return best
}

func (d *Drain) walk(nd *node, fn func(*cluster)) {
	for _, c := range nd.clusters {
		fn(c)
	}
	for _, ch := range nd.children {
		d.walk(ch, fn)
	}
}

// create starts a cluster for line and places it in the tree, evicting the
// least recently used cluster when MaxClusters is exceeded.
func (d *Drain) create(line string) *cluster {
	own := strings.Clone(line)
	toks := d.tok.Tokenize(nil, own)
	c := &cluster{tokens: make([]string, len(toks)), seps: make([]string, len(toks)), size: 1}
	for i, t := range toks {
		c.tokens[i], c.seps[i] = t.Text, t.Sep
	}
	c.template = render(c.tokens, c.seps)
	d.lastID++
	c.id = d.lastID
	d.insert(c)
	if d.cfg.MaxClusters > 0 && len(d.byID) > d.cfg.MaxClusters && d.tail != nil && d.tail != c {
		d.remove(d.tail)
	}
	return c
}

// insert adds c to the index, the LRU head and its tree leaf, with Drain3's
// rules for where a new token goes once a node is full.
func (d *Drain) insert(c *cluster) {
	d.byID[c.id] = c
	d.pushFront(c)
	n := len(c.tokens)
	nd := d.byLen[n]
	if nd == nil {
		nd = &node{}
		d.byLen[n] = nd
	}
	p := d.cfg.ParamString
	for lvl := range d.levels(n) {
		tok := c.tokens[lvl]
		next := nd.children[tok]
		if next == nil || (d.cfg.ParametrizeNumericTokens && hasDigit(tok)) {
			key := tok
			switch {
			case d.cfg.ParametrizeNumericTokens && hasDigit(tok):
				key = p
			case n == 1:
				// A one-token line is its own template or a wildcard, so its
				// leaf is keyed by the token without a cap: matching such a
				// line is one map look-up, not a scan (Drain3 scans them all).
			case nd.children[p] != nil:
				if len(nd.children) >= d.cfg.MaxChildren {
					key = p
				}
			default:
				if len(nd.children)+1 >= d.cfg.MaxChildren {
					key = p
				}
			}
			next = nd.children[key]
			if next == nil {
				if nd.children == nil {
					nd.children = make(map[string]*node)
				}
				next = &node{}
				nd.children[key] = next
			}
		}
		nd = next
	}
	nd.clusters = append(nd.clusters, c)
	c.leaf = nd
	d.countConsts(c)
}

// countConsts sets c.consts from its tokens.
func (d *Drain) countConsts(c *cluster) {
	c.consts = 0
	for _, t := range c.tokens {
		if t != d.cfg.ParamString {
			c.consts++
		}
	}
}

// remove evicts c from the index, LRU list and its leaf. Tree nodes stay,
// as in Drain3, so routing of other lines does not change.
func (d *Drain) remove(c *cluster) {
	delete(d.byID, c.id)
	delete(d.multiLen, c.id)
	d.unlink(c)
	if c.leaf != nil {
		i := slices.Index(c.leaf.clusters, c)
		if i >= 0 {
			c.leaf.clusters = slices.Delete(c.leaf.clusters, i, i+1)
		}
	}
}

func (d *Drain) pushFront(c *cluster) {
	c.prev, c.next = nil, d.head
	if d.head != nil {
		d.head.prev = c
	}
	d.head = c
	if d.tail == nil {
		d.tail = c
	}
}

func (d *Drain) unlink(c *cluster) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		d.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		d.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// touch marks c as the most recently used cluster.
func (d *Drain) touch(c *cluster) {
	if d.head == c {
		return
	}
	d.unlink(c)
	d.pushFront(c)
}

// render joins tokens with their delimiters.
func render(tokens, seps []string) string {
	n := 0
	for i := range tokens {
		n += len(tokens[i]) + len(seps[i])
	}
	var b strings.Builder
	b.Grow(n)
	for i := range tokens {
		b.WriteString(tokens[i])
		if i < len(tokens)-1 {
			sep := seps[i]
			if sep == "" {
				sep = " "
			}
			b.WriteString(sep)
		}
	}
	return b.String()
}

// isPlainWord reports whether s is letters only, optionally followed by one
// of . , ; :
func isPlainWord(s string) bool {
	if n := len(s); n > 1 && (s[n-1] == '.' || s[n-1] == ',' || s[n-1] == ';' || s[n-1] == ':') {
		s = s[:n-1]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i]|0x20) < 'a' || (s[i]|0x20) > 'z' {
			return false
		}
	}
	return true
}

// stableConflict reports whether toks differs from a constant template
// token at a position where both are plain words (Config.StableWords).
func (d *Drain) stableConflict(tmpl []string, toks []Token) bool {
	for i, t := range tmpl {
		if t != toks[i].Text && t != d.cfg.ParamString && isPlainWord(t) && isPlainWord(toks[i].Text) {
			return true
		}
	}
	return false
}
