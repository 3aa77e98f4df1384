package nulog

import "math"

// fwdLayer keeps one encoder layer's activations for backward.
type fwdLayer struct {
	xin, z1, xh1, rs1   []float64
	q, k, v, probs, ctx []float64
	xmid, z2, xh2, rs2  []float64
	f1pre, f1           []float64
}

// workspace holds the float64 activations and gradient scratch of one
// sequence, sized for the longest allowed sequence so training allocates
// nothing per example. One workspace belongs to one goroutine.
type workspace struct {
	c                 Config
	vocab             int
	pe                []float64
	layers            []fwdLayer
	xout              []float64 // output of the last layer
	zf, xhf, rsf      []float64
	hm                []float64 // final rows of the masked positions
	logits            []float64 // [masked, vocab]
	dx, dxmid, dz, dq []float64
	dk, dv, dctx, df1 []float64
	dhm, scratch      []float64
}

func newWorkspace(c Config, vocab int) *workspace {
	L, d, f := c.MaxLen, c.Dim, c.FF
	mk := func(n int) []float64 { return make([]float64, n) }
	ws := &workspace{c: c, vocab: vocab, pe: positional(L, d)}
	ws.layers = make([]fwdLayer, c.Layers)
	for i := range ws.layers {
		ws.layers[i] = fwdLayer{
			xin: mk(L * d), z1: mk(L * d), xh1: mk(L * d), rs1: mk(L),
			q: mk(L * d), k: mk(L * d), v: mk(L * d), probs: mk(c.Heads * L * L), ctx: mk(L * d),
			xmid: mk(L * d), z2: mk(L * d), xh2: mk(L * d), rs2: mk(L),
			f1pre: mk(L * f), f1: mk(L * f),
		}
	}
	ws.xout, ws.zf, ws.xhf, ws.rsf = mk(L*d), mk(L*d), mk(L*d), mk(L)
	ws.hm, ws.logits = mk(L*d), mk(L*vocab)
	ws.dx, ws.dxmid, ws.dz, ws.dq = mk(L*d), mk(L*d), mk(L*d), mk(L*d)
	ws.dk, ws.dv, ws.dctx, ws.df1 = mk(L*d), mk(L*d), mk(L*d), mk(L*f)
	ws.dhm, ws.scratch = mk(L*d), mk(L*L)
	return ws
}

// forward runs the encoder over ids (already carrying <MASK> at the masked
// positions) and leaves the logits of the rows in masked in ws.logits.
func (ws *workspace) forward(w *weights[float64], ids []int32, masked []int) {
	c := ws.c
	L, d, f := len(ids), c.Dim, c.FF
	sq := math.Sqrt(float64(d))
	x := ws.layers[0].xin
	for p, id := range ids {
		e := w.emb[int(id)*d : (int(id)+1)*d]
		for j := 0; j < d; j++ {
			x[p*d+j] = e[j]*sq + ws.pe[p*d+j]
		}
	}
	for li := range ws.layers {
		a, lw := &ws.layers[li], &w.layers[li]
		layerNormFwd(a.xin, L, d, lw.ln1g, lw.ln1b, a.z1, a.xh1, a.rs1)
		linearFwd(a.z1, L, d, lw.wq, lw.bq, d, a.q)
		linearFwd(a.z1, L, d, lw.wk, lw.bk, d, a.k)
		linearFwd(a.z1, L, d, lw.wv, lw.bv, d, a.v)
		attentionFwd(a.q, a.k, a.v, L, d, c.Heads, a.probs, a.ctx)
		linearFwd(a.ctx, L, d, lw.wo, lw.bo, d, a.xmid)
		for i := 0; i < L*d; i++ {
			a.xmid[i] += a.xin[i]
		}
		layerNormFwd(a.xmid, L, d, lw.ln2g, lw.ln2b, a.z2, a.xh2, a.rs2)
		linearFwd(a.z2, L, d, lw.w1, lw.b1, f, a.f1pre)
		for i := 0; i < L*f; i++ {
			a.f1[i] = math.Max(a.f1pre[i], 0)
		}
		out := ws.xout
		if li+1 < len(ws.layers) {
			out = ws.layers[li+1].xin
		}
		linearFwd(a.f1, L, f, lw.w2, lw.b2, d, out)
		for i := 0; i < L*d; i++ {
			out[i] += a.xmid[i]
		}
	}
	layerNormFwd(ws.xout, L, d, w.lnfg, w.lnfb, ws.zf, ws.xhf, ws.rsf)
	m := len(masked)
	for r, p := range masked {
		copy(ws.hm[r*d:(r+1)*d], ws.zf[p*d:(p+1)*d])
	}
	V := ws.vocab
	for r := 0; r < m; r++ {
		copy(ws.logits[r*V:(r+1)*V], w.outB)
	}
	gemm(false, true, m, V, d, 1, ws.hm, d, w.outW, d, 1, ws.logits, V)
}

// lossAndGrad computes Σ cross-entropy over the masked rows after forward
// and turns ws.logits into dLoss/dlogits·scale in place.
func (ws *workspace) lossAndGrad(targets []int32, scale float64) float64 {
	V := ws.vocab
	var loss float64
	for r, t := range targets {
		row := ws.logits[r*V : (r+1)*V]
		softmaxRow(row)
		loss -= math.Log(math.Max(row[t], 1e-300))
		for j := range row {
			row[j] *= scale
		}
		row[t] -= scale
	}
	return loss
}

// backward accumulates into g the gradient whose dLoss/dlogits sits in
// ws.logits (see lossAndGrad), for the same ids and masked rows as the last
// forward.
func (ws *workspace) backward(w, g *weights[float64], ids []int32, masked []int) {
	c := ws.c
	L, d, f, V, m := len(ids), c.Dim, c.FF, ws.vocab, len(masked)
	linearBwdT(ws.hm, ws.logits, m, d, V, w.outW, ws.dhm, g.outW, g.outB)
	dz := ws.dz[:L*d]
	clear(dz)
	for r, p := range masked {
		copy(dz[p*d:(p+1)*d], ws.dhm[r*d:(r+1)*d])
	}
	dx := ws.dx[:L*d]
	clear(dx)
	layerNormBwd(dz, ws.xhf, ws.rsf, L, d, w.lnfg, dx, g.lnfg, g.lnfb)
	for li := len(ws.layers) - 1; li >= 0; li-- {
		a, lw, lg := &ws.layers[li], &w.layers[li], &g.layers[li]
		// out = xmid + relu(z2·w1+b1)·w2 + b2
		dxmid := ws.dxmid[:L*d]
		copy(dxmid, dx)
		df1 := ws.df1[:L*f]
		clear(df1)
		linearBwd(a.f1, dx, L, f, d, lw.w2, df1, lg.w2, lg.b2)
		for i := range df1 {
			if a.f1pre[i] <= 0 {
				df1[i] = 0
			}
		}
		clear(dz)
		linearBwd(a.z2, df1, L, d, f, lw.w1, dz, lg.w1, lg.b1)
		layerNormBwd(dz, a.xh2, a.rs2, L, d, lw.ln2g, dxmid, lg.ln2g, lg.ln2b)
		// xmid = xin + ctx·wo + bo
		copy(dx, dxmid)
		dctx := ws.dctx[:L*d]
		clear(dctx)
		linearBwd(a.ctx, dxmid, L, d, d, lw.wo, dctx, lg.wo, lg.bo)
		attentionBwd(a.q, a.k, a.v, a.probs, dctx, L, d, c.Heads, ws.dq, ws.dk, ws.dv, ws.scratch)
		clear(dz)
		linearBwd(a.z1, ws.dq, L, d, d, lw.wq, dz, lg.wq, lg.bq)
		linearBwd(a.z1, ws.dk, L, d, d, lw.wk, dz, lg.wk, lg.bk)
		linearBwd(a.z1, ws.dv, L, d, d, lw.wv, dz, lg.wv, lg.bv)
		layerNormBwd(dz, a.xh1, a.rs1, L, d, lw.ln1g, dx, lg.ln1g, lg.ln1b)
	}
	sq := math.Sqrt(float64(d))
	for p, id := range ids {
		ge := g.emb[int(id)*d : (int(id)+1)*d]
		for j := 0; j < d; j++ {
			ge[j] += dx[p*d+j] * sq
		}
	}
}

// linearBwdT is backward of y = x·wᵀ + b with w stored [out, in] (the output
// head): dw += dyᵀ·x, db += Σ dy, dx = dy·w.
func linearBwdT(x, dy []float64, n, in, out int, w, dx, dw, db []float64) {
	gemm(true, false, out, in, n, 1, dy, out, x, in, 1, dw, in)
	for r := 0; r < n; r++ {
		for j, v := range dy[r*out : (r+1)*out] {
			db[j] += v
		}
	}
	gemm(false, false, n, in, out, 1, dy, out, w, in, 0, dx, in)
}
