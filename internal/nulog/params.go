package nulog

import "fmt"

// tensorSpec names one weight tensor. decay says whether AdamW's weight
// decay applies: matrices yes, biases and layer-norm parameters no, as is
// usual for transformers.
type tensorSpec struct {
	name  string
	shape []int
	decay bool
}

func (s tensorSpec) size() int {
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	return n
}

// tensorSpecs lists the model's tensors in storage order for a config and
// vocabulary size. The order is part of the file format.
func tensorSpecs(c Config, vocab int) []tensorSpec {
	d, f := c.Dim, c.FF
	specs := []tensorSpec{{"embed", []int{vocab, d}, true}}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("layers.%d.", l)
		specs = append(specs,
			tensorSpec{p + "ln1.g", []int{d}, false},
			tensorSpec{p + "ln1.b", []int{d}, false},
			tensorSpec{p + "attn.wq", []int{d, d}, true},
			tensorSpec{p + "attn.bq", []int{d}, false},
			tensorSpec{p + "attn.wk", []int{d, d}, true},
			tensorSpec{p + "attn.bk", []int{d}, false},
			tensorSpec{p + "attn.wv", []int{d, d}, true},
			tensorSpec{p + "attn.bv", []int{d}, false},
			tensorSpec{p + "attn.wo", []int{d, d}, true},
			tensorSpec{p + "attn.bo", []int{d}, false},
			tensorSpec{p + "ln2.g", []int{d}, false},
			tensorSpec{p + "ln2.b", []int{d}, false},
			tensorSpec{p + "ff.w1", []int{d, f}, true},
			tensorSpec{p + "ff.b1", []int{f}, false},
			tensorSpec{p + "ff.w2", []int{f, d}, true},
			tensorSpec{p + "ff.b2", []int{d}, false},
		)
	}
	return append(specs,
		tensorSpec{"lnf.g", []int{d}, false},
		tensorSpec{"lnf.b", []int{d}, false},
		tensorSpec{"out.w", []int{vocab, d}, true},
		tensorSpec{"out.b", []int{vocab}, false},
	)
}

func totalSize(specs []tensorSpec) int {
	n := 0
	for _, s := range specs {
		n += s.size()
	}
	return n
}

// layerW holds one encoder layer's tensors as views into a flat buffer.
// Matrices are row-major [in, out] so a row vector times the matrix is the
// layer's output.
type layerW[T float32 | float64] struct {
	ln1g, ln1b, wq, bq, wk, bk, wv, bv, wo, bo, ln2g, ln2b, w1, b1, w2, b2 []T
}

// weights are named views into one flat parameter (or gradient) buffer, so
// optimisers and serialisation work on the flat slice and layers on names.
type weights[T float32 | float64] struct {
	flat       []T
	emb        []T // [vocab, d]
	layers     []layerW[T]
	lnfg, lnfb []T
	outW       []T // [vocab, d]
	outB       []T // [vocab]
}

// bindWeights slices flat according to specs (which must come from
// tensorSpecs for the same config).
func bindWeights[T float32 | float64](c Config, specs []tensorSpec, flat []T) *weights[T] {
	w := &weights[T]{flat: flat}
	off := 0
	next := func(i int) []T {
		n := specs[i].size()
		s := flat[off : off+n : off+n]
		off += n
		return s
	}
	i := 0
	take := func() []T { s := next(i); i++; return s }
	w.emb = take()
	w.layers = make([]layerW[T], c.Layers)
	for l := range w.layers {
		L := &w.layers[l]
		for _, p := range []*[]T{&L.ln1g, &L.ln1b, &L.wq, &L.bq, &L.wk, &L.bk, &L.wv, &L.bv, &L.wo, &L.bo, &L.ln2g, &L.ln2b, &L.w1, &L.b1, &L.w2, &L.b2} {
			*p = take()
		}
	}
	w.lnfg, w.lnfb, w.outW, w.outB = take(), take(), take(), take()
	return w
}
