package nulog

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// The float64 building blocks of training. Matrices are row-major slices;
// every backward function is checked against finite differences in
// ops_test.go.

const lnEps = 1e-5

func tr(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gemm computes c = alpha·op(a)·op(b) + beta·c for an m×n result.
func gemm(ta, tb bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	blas64.Implementation().Dgemm(tr(ta), tr(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// linearFwd: y[n×out] = x[n×in]·w[in×out] + b.
func linearFwd(x []float64, n, in int, w, b []float64, out int, y []float64) {
	for r := 0; r < n; r++ {
		copy(y[r*out:(r+1)*out], b)
	}
	gemm(false, false, n, out, in, 1, x, in, w, out, 1, y, out)
}

// linearBwd accumulates dw += xᵀ·dy, db += Σ dy and, when dx is not nil,
// dx += dy·wᵀ (accumulating lets Q, K and V share one input gradient).
func linearBwd(x, dy []float64, n, in, out int, w, dx, dw, db []float64) {
	gemm(true, false, in, out, n, 1, x, in, dy, out, 1, dw, out)
	for r := 0; r < n; r++ {
		row := dy[r*out : (r+1)*out]
		for j, v := range row {
			db[j] += v
		}
	}
	if dx != nil {
		gemm(false, true, n, in, out, 1, dy, out, w, out, 1, dx, in)
	}
}

// layerNormFwd normalises each row of x, keeping x̂ and 1/σ for backward.
func layerNormFwd(x []float64, n, d int, g, b, y, xhat, rstd []float64) {
	for r := 0; r < n; r++ {
		row := x[r*d : (r+1)*d]
		mean, rs := meanRstd(row)
		rstd[r] = rs
		xh, yr := xhat[r*d:(r+1)*d], y[r*d:(r+1)*d]
		for j, v := range row {
			xh[j] = (v - mean) * rs
			yr[j] = xh[j]*g[j] + b[j]
		}
	}
}

// meanRstd returns a row's mean and 1/σ (σ including lnEps), in the row's
// own precision so float32 inference matches itself across processes.
func meanRstd[T float32 | float64](row []T) (mean, rstd T) {
	for _, v := range row {
		mean += v
	}
	mean /= T(len(row))
	var vr T
	for _, v := range row {
		vr += (v - mean) * (v - mean)
	}
	return mean, T(1 / math.Sqrt(float64(vr/T(len(row)))+lnEps))
}

// layerNormBwd accumulates dg, db and adds the input gradient to dx.
func layerNormBwd(dy, xhat, rstd []float64, n, d int, g, dx, dg, db []float64) {
	for r := 0; r < n; r++ {
		dyr, xh, dxr := dy[r*d:(r+1)*d], xhat[r*d:(r+1)*d], dx[r*d:(r+1)*d]
		var s1, s2 float64
		for j := range dyr {
			dg[j] += dyr[j] * xh[j]
			db[j] += dyr[j]
			t := dyr[j] * g[j]
			s1 += t
			s2 += t * xh[j]
		}
		inv := 1 / float64(d)
		for j := range dyr {
			t := dyr[j] * g[j]
			dxr[j] += rstd[r] * (t - inv*s1 - xh[j]*inv*s2)
		}
	}
}

// softmaxRow turns row into probabilities in place.
func softmaxRow(row []float64) {
	mx := math.Inf(-1)
	for _, v := range row {
		if v > mx {
			mx = v
		}
	}
	var s float64
	for j, v := range row {
		e := math.Exp(v - mx)
		row[j] = e
		s += e
	}
	for j := range row {
		row[j] /= s
	}
}

// attentionFwd computes multi-head scaled dot-product self-attention over
// L positions: ctx = concatₕ softmax(QₕKₕᵀ/√dₕ)Vₕ. probs ([heads, L, L])
// is kept for backward. No padding mask is needed because every sequence is
// processed at its own length.
func attentionFwd(q, k, v []float64, L, d, heads int, probs, ctx []float64) {
	dh := d / heads
	scale := 1 / math.Sqrt(float64(dh))
	for h := 0; h < heads; h++ {
		p := probs[h*L*L : (h+1)*L*L]
		gemm(false, true, L, L, dh, scale, q[h*dh:], d, k[h*dh:], d, 0, p, L)
		for r := 0; r < L; r++ {
			softmaxRow(p[r*L : (r+1)*L])
		}
		gemm(false, false, L, dh, L, 1, p, L, v[h*dh:], d, 0, ctx[h*dh:], d)
	}
}

// attentionBwd sets dq, dk, dv from dctx. scratch needs L·L values.
func attentionBwd(q, k, v, probs, dctx []float64, L, d, heads int, dq, dk, dv, scratch []float64) {
	dh := d / heads
	scale := 1 / math.Sqrt(float64(dh))
	dp := scratch[:L*L]
	for h := 0; h < heads; h++ {
		p := probs[h*L*L : (h+1)*L*L]
		// dP = dctxₕ·Vₕᵀ ; dVₕ = Pᵀ·dctxₕ
		gemm(false, true, L, L, dh, 1, dctx[h*dh:], d, v[h*dh:], d, 0, dp, L)
		gemm(true, false, L, dh, L, 1, p, L, dctx[h*dh:], d, 0, dv[h*dh:], d)
		// softmax backward: dS = P ⊙ (dP − rowsum(dP ⊙ P)), then the scale.
		for r := 0; r < L; r++ {
			pr, dr := p[r*L:(r+1)*L], dp[r*L:(r+1)*L]
			var s float64
			for j := range pr {
				s += pr[j] * dr[j]
			}
			for j := range pr {
				dr[j] = pr[j] * (dr[j] - s) * scale
			}
		}
		// dQₕ = dS·Kₕ ; dKₕ = dSᵀ·Qₕ
		gemm(false, false, L, dh, L, 1, dp, L, k[h*dh:], d, 0, dq[h*dh:], d)
		gemm(true, false, L, dh, L, 1, dp, L, q[h*dh:], d, 0, dk[h*dh:], d)
	}
}

// positional returns the sinusoidal position encodings [maxLen, d] of
// "Attention is all you need".
func positional(maxLen, d int) []float64 {
	pe := make([]float64, maxLen*d)
	for p := 0; p < maxLen; p++ {
		for i := 0; i < d; i += 2 {
			freq := math.Pow(10000, -float64(i)/float64(d))
			pe[p*d+i] = math.Sin(float64(p) * freq)
			pe[p*d+i+1] = math.Cos(float64(p) * freq)
		}
	}
	return pe
}
