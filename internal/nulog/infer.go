package nulog

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Inference runs in float32 on the stored weights. For the usual one-layer
// model it exploits the structure of NuLog scoring: each variant of a line
// differs from the line only at the masked position, and only that
// position's output is needed. So keys and values of the unmasked tokens are
// computed once per line, the masked position's query, key and value depend
// only on its index and are precomputed per model (maskTables), and each
// variant costs one attention row, one feed-forward row and one row of
// output logits. Deeper models fall back to a full forward per variant.

// maskTables holds, per position p, the first layer's input, query, key and
// value for <MASK> at p.
type maskTables struct {
	x, q, k, v []float32 // [maxLen, d]
	pe         []float32 // [maxLen, d]
	// outWT is the output head transposed to [d, vocab]: the logits product
	// then runs as long axpy strides over the vocabulary, about twice as
	// fast in gonum as one short dot product per vocabulary entry.
	outWT []float32
}

func newMaskTables(m *Model) *maskTables {
	c := m.cfg
	L, d := c.MaxLen, c.Dim
	t := &maskTables{x: make([]float32, L*d), q: make([]float32, L*d), k: make([]float32, L*d), v: make([]float32, L*d), pe: make([]float32, L*d)}
	for i, v := range positional(L, d) {
		t.pe[i] = float32(v)
	}
	sq := float32(math.Sqrt(float64(d)))
	e := m.w.emb[idMASK*d : (idMASK+1)*d]
	for p := 0; p < L; p++ {
		for j := 0; j < d; j++ {
			t.x[p*d+j] = e[j]*sq + t.pe[p*d+j]
		}
	}
	V := len(m.tok.vocab)
	t.outWT = make([]float32, d*V)
	for i := 0; i < V; i++ {
		for j := 0; j < d; j++ {
			t.outWT[j*V+i] = m.w.outW[i*d+j]
		}
	}
	lw := &m.w.layers[0]
	z := make([]float32, L*d)
	layerNorm32(t.x, L, d, lw.ln1g, lw.ln1b, z)
	linear32(z, L, d, lw.wq, lw.bq, d, t.q)
	linear32(z, L, d, lw.wk, lw.bk, d, t.k)
	linear32(z, L, d, lw.wv, lw.bv, d, t.v)
	return t
}

// scoreWS is one goroutine's float32 scratch.
type scoreWS struct {
	x, z, k, v     []float32 // [maxLen, d]
	ctx, x2, z2, h []float32 // [maxLen, d], one row per variant
	f1             []float32 // [maxLen, ff]
	logits         []float32 // [maxLen, vocab]
	att            []float32 // [maxLen]
	slow           *workspace
	slowIDs        []int32
}

func newScoreWS(m *Model) *scoreWS {
	c := m.cfg
	L, d, V := c.MaxLen, c.Dim, len(m.tok.vocab)
	mk := func(n int) []float32 { return make([]float32, n) }
	return &scoreWS{
		x: mk(L * d), z: mk(L * d), k: mk(L * d), v: mk(L * d),
		ctx: mk(L * d), x2: mk(L * d), z2: mk(L * d), h: mk(L * d),
		f1: mk(L * c.FF), logits: mk(L * V), att: mk(L),
	}
}

func (ws *scoreWS) score(m *Model, line string) Score {
	ids := m.tok.Encode(line)
	slots := countable(ids)
	if len(slots) == 0 {
		return Score{Value: 1}
	}
	var V = len(m.tok.vocab)
	if m.cfg.Layers == 1 {
		ws.fast(m, ids, slots)
	} else {
		ws.full(m, ids, slots)
	}
	correct := 0
	k := m.cfg.TopK
	for r, p := range slots {
		row := ws.logits[r*V : (r+1)*V]
		if inTopK(row, int(ids[p]), k) {
			correct++
		}
	}
	return Score{Correct: correct, Counted: len(slots), Value: float64(correct) / float64(len(slots))}
}

// inTopK reports whether fewer than k ids score strictly higher than id.
func inTopK(row []float32, id, k int) bool {
	t := row[id]
	above := 0
	for _, v := range row {
		if v > t {
			above++
			if above >= k {
				return false
			}
		}
	}
	return true
}

// fast fills ws.logits for the one-layer model (see the file comment).
func (ws *scoreWS) fast(m *Model, ids []int32, slots []int) {
	c, t, w := m.cfg, m.tables, m.w
	L, d, f, V, n := len(ids), c.Dim, c.FF, len(m.tok.vocab), len(slots)
	lw := &w.layers[0]
	sq := float32(math.Sqrt(float64(d)))
	for p, id := range ids {
		e := w.emb[int(id)*d : (int(id)+1)*d]
		xr, pe := ws.x[p*d:(p+1)*d], t.pe[p*d:(p+1)*d]
		for j := range xr {
			xr[j] = e[j]*sq + pe[j]
		}
	}
	layerNorm32(ws.x, L, d, lw.ln1g, lw.ln1b, ws.z)
	linear32(ws.z, L, d, lw.wk, lw.bk, d, ws.k)
	linear32(ws.z, L, d, lw.wv, lw.bv, d, ws.v)
	heads := c.Heads
	dh := d / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	att := ws.att[:L]
	for r, p := range slots {
		q := t.q[p*d : (p+1)*d]
		cr := ws.ctx[r*d : (r+1)*d]
		for h := 0; h < heads; h++ {
			lo, hi := h*dh, (h+1)*dh
			qh := q[lo:hi]
			mx := float32(math.Inf(-1))
			for j := 0; j < L; j++ {
				kr := ws.k[j*d+lo : j*d+hi]
				if j == p {
					kr = t.k[p*d+lo : p*d+hi]
				}
				var s float32
				for u, qv := range qh {
					s += qv * kr[u]
				}
				s *= scale
				att[j] = s
				mx = max(mx, s)
			}
			var sum float32
			for j := range att {
				e := float32(math.Exp(float64(att[j] - mx)))
				att[j] = e
				sum += e
			}
			ch := cr[lo:hi]
			clear(ch)
			for j, a := range att {
				vr := ws.v[j*d+lo : j*d+hi]
				if j == p {
					vr = t.v[p*d+lo : p*d+hi]
				}
				a /= sum
				for u := range ch {
					ch[u] += a * vr[u]
				}
			}
		}
		copy(ws.x2[r*d:(r+1)*d], t.x[p*d:(p+1)*d])
	}
	// x2 = x_mask + ctx·wo + bo
	addBias32(ws.x2, n, d, lw.bo)
	sgemm(false, false, n, d, d, ws.ctx, d, lw.wo, d, 1, ws.x2, d)
	layerNorm32(ws.x2, n, d, lw.ln2g, lw.ln2b, ws.z2)
	linear32(ws.z2, n, d, lw.w1, lw.b1, f, ws.f1)
	for i, v := range ws.f1[:n*f] {
		if v < 0 {
			ws.f1[i] = 0
		}
	}
	addBias32(ws.x2, n, d, lw.b2)
	sgemm(false, false, n, d, f, ws.f1, f, lw.w2, d, 1, ws.x2, d)
	layerNorm32(ws.x2, n, d, w.lnfg, w.lnfb, ws.h)
	for r := 0; r < n; r++ {
		copy(ws.logits[r*V:(r+1)*V], w.outB)
	}
	sgemm(false, false, n, V, d, ws.h, d, t.outWT, V, 1, ws.logits, V)
}

// full fills ws.logits for deeper models by running the float64 training
// forward once per masked variant on a float64 copy of the weights.
func (ws *scoreWS) full(m *Model, ids []int32, slots []int) {
	m.slowOnce.Do(func() {
		p := make([]float64, len(m.flat))
		for i, v := range m.flat {
			p[i] = float64(v)
		}
		m.slowW = bindWeights(m.cfg, m.specs, p)
	})
	V := len(m.tok.vocab)
	if ws.slow == nil {
		ws.slow = newWorkspace(m.cfg, V)
	}
	for r, p := range slots {
		ws.slowIDs = append(ws.slowIDs[:0], ids...)
		ws.slowIDs[p] = idMASK
		ws.slow.forward(m.slowW, ws.slowIDs, []int{p})
		for j, v := range ws.slow.logits[:V] {
			ws.logits[r*V+j] = float32(v)
		}
	}
}

func sgemm(ta, tb bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if ta {
		tA = blas.Trans
	}
	if tb {
		tB = blas.Trans
	}
	blas32.Implementation().Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

func addBias32(y []float32, n, d int, b []float32) {
	for r := 0; r < n; r++ {
		row := y[r*d : (r+1)*d]
		for j := range row {
			row[j] += b[j]
		}
	}
}

func linear32(x []float32, n, in int, w, b []float32, out int, y []float32) {
	for r := 0; r < n; r++ {
		copy(y[r*out:(r+1)*out], b)
	}
	sgemm(false, false, n, out, in, x, in, w, out, 1, y, out)
}

func layerNorm32(x []float32, n, d int, g, b, y []float32) {
	for r := 0; r < n; r++ {
		row, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		mean, rs := meanRstd(row)
		for j, v := range row {
			yr[j] = (v-mean)*rs*g[j] + b[j]
		}
	}
}
