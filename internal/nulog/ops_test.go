package nulog

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Finite-difference checks of every backward pass. Each op is wrapped in a
// scalar loss Σ rᵢ·yᵢ with fixed random r, so dL/dy = r.

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// checkGrad compares analytic gradient g of f with respect to x against
// central differences.
func checkGrad(t *testing.T, name string, x, g []float64, f func() float64) {
	t.Helper()
	const h = 1e-5
	for i := range x {
		old := x[i]
		x[i] = old + h
		fp := f()
		x[i] = old - h
		fm := f()
		x[i] = old
		num := (fp - fm) / (2 * h)
		if diff := math.Abs(num - g[i]); diff > 1e-6+1e-4*math.Abs(num) {
			t.Fatalf("%s[%d]: analytic %.8g, numeric %.8g", name, i, g[i], num)
		}
	}
}

func TestLinearBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, in, out := 3, 4, 5
	x, w, b := randVec(rng, n*in), randVec(rng, in*out), randVec(rng, out)
	r := randVec(rng, n*out)
	y := make([]float64, n*out)
	f := func() float64 { linearFwd(x, n, in, w, b, out, y); return dot(r, y) }
	dx, dw, db := make([]float64, n*in), make([]float64, in*out), make([]float64, out)
	f()
	linearBwd(x, r, n, in, out, w, dx, dw, db)
	checkGrad(t, "x", x, dx, f)
	checkGrad(t, "w", w, dw, f)
	checkGrad(t, "b", b, db, f)
}

func TestLinearTBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, in, out := 2, 4, 6
	x, w, b := randVec(rng, n*in), randVec(rng, out*in), randVec(rng, out)
	r := randVec(rng, n*out)
	y := make([]float64, n*out)
	f := func() float64 {
		for i := 0; i < n; i++ {
			copy(y[i*out:], b)
		}
		gemm(false, true, n, out, in, 1, x, in, w, in, 1, y, out)
		return dot(r, y)
	}
	dx, dw, db := make([]float64, n*in), make([]float64, out*in), make([]float64, out)
	linearBwdT(x, r, n, in, out, w, dx, dw, db)
	checkGrad(t, "x", x, dx, f)
	checkGrad(t, "w", w, dw, f)
	checkGrad(t, "b", b, db, f)
}

func TestLayerNormBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n, d := 3, 6
	x, g, b := randVec(rng, n*d), randVec(rng, d), randVec(rng, d)
	r := randVec(rng, n*d)
	y, xh, rs := make([]float64, n*d), make([]float64, n*d), make([]float64, n)
	f := func() float64 { layerNormFwd(x, n, d, g, b, y, xh, rs); return dot(r, y) }
	f()
	dx, dg, db := make([]float64, n*d), make([]float64, d), make([]float64, d)
	layerNormBwd(r, xh, rs, n, d, g, dx, dg, db)
	checkGrad(t, "x", x, dx, f)
	checkGrad(t, "g", g, dg, f)
	checkGrad(t, "b", b, db, f)
}

func TestAttentionBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	L, d, heads := 4, 6, 2
	q, k, v := randVec(rng, L*d), randVec(rng, L*d), randVec(rng, L*d)
	r := randVec(rng, L*d)
	probs, ctx := make([]float64, heads*L*L), make([]float64, L*d)
	f := func() float64 { attentionFwd(q, k, v, L, d, heads, probs, ctx); return dot(r, ctx) }
	f()
	dq, dk, dv := make([]float64, L*d), make([]float64, L*d), make([]float64, L*d)
	attentionBwd(q, k, v, probs, r, L, d, heads, dq, dk, dv, make([]float64, L*L))
	checkGrad(t, "q", q, dq, f)
	checkGrad(t, "k", k, dk, f)
	checkGrad(t, "v", v, dv, f)
}

// TestModelBackward checks the whole encoder (embedding, positions, two
// layers, output head and cross-entropy) parameter by parameter.
func TestModelBackward(t *testing.T) {
	cfg := Config{Layers: 2, Dim: 8, Heads: 2, FF: 12, MaxLen: 8, MaxVoc: 12, Workers: 1}.withDefaults()
	V := 12
	specs := tensorSpecs(cfg, V)
	rng := rand.New(rand.NewPCG(9, 10))
	p := initParams(cfg, specs, rng)
	for i := range p {
		p[i] += 0.1 * rng.NormFloat64() // break the symmetry of unit gains and zero biases
	}
	w := bindWeights(cfg, specs, p)
	g := make([]float64, len(p))
	gw := bindWeights(cfg, specs, g)
	ws := newWorkspace(cfg, V)
	ids := []int32{idCLS, 7, idMASK, 9, idNUM, idMASK}
	masked := []int{2, 5}
	tgt := []int32{8, 11}
	const scale = 0.7
	f := func() float64 {
		ws.forward(w, ids, masked)
		return scale * ws.lossAndGrad(tgt, scale)
	}
	f()
	ws.backward(w, gw, ids, masked)
	checkGrad(t, "params", p, g, f)
}
