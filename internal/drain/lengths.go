package drain

// Config.MergeLengths: one wildcard may stand for several tokens.
//
// A line of n tokens fits a template of m < n tokens at wildcard position w
// when the template's first w tokens and last m-w-1 tokens fit the line's
// first and last tokens (equal, or a wildcard), so the line's middle run of
// n-m+1 tokens takes the place of template token w. While mining, w may
// also be a constant token that differs from the line (it becomes a
// wildcard), provided the shared constant tokens reach SimTh.

// maxLengthSpan bounds how many extra tokens one wildcard may absorb while
// mining, which keeps the search to a few tree branches.
const maxLengthSpan = 4

// fitsAt reports whether toks fits tmpl with tmpl[w] absorbing the middle.
// It returns the number of equal constant tokens.
func (d *Drain) fitsAt(tmpl []string, toks []Token, w int) (bool, int) {
	n, m := len(toks), len(tmpl)
	same := 0
	for i := 0; i < w; i++ {
		if tmpl[i] == d.cfg.ParamString {
			continue
		}
		if tmpl[i] != toks[i].Text {
			return false, 0
		}
		same++
	}
	for i := w + 1; i < m; i++ {
		t := tmpl[i]
		if t == d.cfg.ParamString {
			continue
		}
		if t != toks[n-m+i].Text {
			return false, 0
		}
		same++
	}
	return true, same
}

// searchOtherLengths finds a cluster with fewer tokens than toks that toks
// fits by letting one position absorb several tokens. While mining (train)
// it looks at clusters routed like toks with up to maxLengthSpan fewer
// tokens; otherwise only at clusters that already hold a multi-token
// wildcard. It returns the cluster and the absorbing position.
func (d *Drain) searchOtherLengths(toks []Token, train bool) (*cluster, int) {
	n := len(toks)
	var best *cluster
	bestW, bestSame := -1, -1
	consider := func(c *cluster) {
		m := len(c.tokens)
		if m >= n || m < 2 {
			return
		}
		for w := range m {
			if !train && (c.multi == nil || !c.multi[w]) {
				continue
			}
			ok, same := d.fitsAt(c.tokens, toks, w)
			if !ok {
				continue
			}
			if train && float64(same)/float64(m) < d.cfg.SimTh {
				continue
			}
			if same > bestSame || (same == bestSame && c.id < best.id) {
				best, bestW, bestSame = c, w, same
			}
		}
	}
	if !train {
		for _, c := range d.multiLen {
			consider(c)
		}
		return best, bestW
	}
	for m := max(2, n-maxLengthSpan); m < n; m++ {
		root := d.byLen[m]
		if root == nil {
			continue
		}
		d.routeAll(root, toks, 0, d.levels(m), consider)
	}
	return best, bestW
}

// routeAll calls fn for every cluster in the leaves toks routes to, through
// both the exact and the wildcard branch.
func (d *Drain) routeAll(nd *node, toks []Token, lvl, levels int, fn func(*cluster)) {
	if lvl == levels {
		for _, c := range nd.clusters {
			fn(c)
		}
		return
	}
	key := toks[lvl].Text
	if !(d.cfg.ParametrizeNumericTokens && hasDigit(key)) {
		if child := nd.children[key]; child != nil {
			d.routeAll(child, toks, lvl+1, levels, fn)
		}
	}
	if key != d.cfg.ParamString {
		if w := nd.children[d.cfg.ParamString]; w != nil {
			d.routeAll(w, toks, lvl+1, levels, fn)
		}
	}
}

// absorb records that c's position w now stands for several tokens and
// reports whether the template changed.
func (d *Drain) absorb(c *cluster, w int) bool {
	changed := c.tokens[w] != d.cfg.ParamString
	if changed {
		c.consts--
	}
	c.tokens[w] = d.cfg.ParamString
	if c.multi == nil {
		c.multi = make([]bool, len(c.tokens))
	}
	c.multi[w] = true
	d.multiLen[c.id] = c
	if changed {
		c.template = render(c.tokens, c.seps)
	}
	return changed
}
