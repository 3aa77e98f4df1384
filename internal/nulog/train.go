package nulog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// weightedLine is a distinct masked line and how often it occurred.
type weightedLine struct {
	text  string
	count int
}

// Progress reports training progress to a callback (for a progress bar).
type Progress struct {
	Epoch, Epochs     int           // 1-based current epoch and planned epochs
	Example, Examples int           // examples done and planned in total
	Loss              float64       // mean masked-token cross-entropy of the current epoch so far
	Elapsed, ETA      time.Duration // time spent and estimated time left
}

// TrainStats records how a model was trained; it is stored with the model.
type TrainStats struct {
	Lines          int     `json:"lines"`           // input lines
	TrainLines     int     `json:"train_lines"`     // input lines used for training
	UniqueLines    int     `json:"unique_lines"`    // distinct training lines
	HeldOutLines   int     `json:"held_out_lines"`  // input lines used for calibration
	Vocab          int     `json:"vocab"`           // vocabulary size including specials
	Epochs         int     `json:"epochs"`          // epochs run
	Examples       int     `json:"examples"`        // examples (line passes) trained on
	FinalLoss      float64 `json:"final_loss"`      // mean loss of the last epoch
	Seconds        float64 `json:"seconds"`         // wall-clock training time
	HeldOutMean    float64 `json:"held_out_mean"`   // mean held-out score
	CalibratedFrom string  `json:"calibrated_from"` // "held-out" or "training" (too little held out)
}

// dedupe counts distinct lines, keeping first-seen order for determinism.
func dedupe(lines []string) []weightedLine {
	idx := make(map[string]int, len(lines)/4+1)
	var out []weightedLine
	for _, l := range lines {
		if i, ok := idx[l]; ok {
			out[i].count++
			continue
		}
		idx[l] = len(out)
		out = append(out, weightedLine{l, 1})
	}
	return out
}

// splitHoldOut keeps the lines of every tenth block of consecutive lines for
// calibration. Blocks are 100 lines, or n/50 lines for inputs under 5,000
// lines so that even a small input yields about five held-out blocks. Whole
// blocks rather than random lines are held out because logs are bursty: a
// block resembles the unseen future a deployed model meets, whereas random
// lines are mostly exact repeats of training lines and would make the
// threshold too strict.
func splitHoldOut(lines []string, share float64) (train, held []string) {
	if share <= 0 {
		return lines, nil
	}
	period := max(2, int(math.Round(1/share)))
	block := min(100, max(1, len(lines)/50))
	for i, l := range lines {
		if (i/block)%period == period-1 {
			held = append(held, l)
		} else {
			train = append(train, l)
		}
	}
	return train, held
}

type example struct {
	ids    []int32
	slots  []int // countable positions (non-numeric tokens)
	weight float64
}

// Train trains a model on masked log lines (one per element, in log order)
// and calibrates its threshold on the held-out share. progress, if not nil,
// is called after each epoch and at most a few times a second in between.
// Training stops with ctx's error when ctx is done.
func Train(ctx context.Context, lines []string, cfg Config, progress func(Progress)) (*Model, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if err := cfg.validateShape(); err != nil {
		return nil, fmt.Errorf("nulog config: %w", err)
	}
	if err := cfg.validateTraining(); err != nil {
		return nil, fmt.Errorf("nulog config: %w", err)
	}
	trainLines, heldLines := splitHoldOut(lines, cfg.HoldOut)
	uniq := dedupe(trainLines)
	vocab := buildVocab(uniq, cfg.MaxLen, cfg.MaxVoc, cfg.MinFreq)
	tok := newTokenizer(vocab, cfg.MaxLen)
	var exs []example
	for _, u := range uniq {
		ids := tok.Encode(u.text)
		slots := countable(ids)
		if len(slots) == 0 {
			continue
		}
		exs = append(exs, example{ids: ids, slots: slots, weight: math.Sqrt(float64(u.count))})
	}
	if len(exs) == 0 {
		return nil, errors.New("nulog train: no line has a non-numeric token to learn from")
	}
	V := len(vocab)
	specs := tensorSpecs(cfg, V)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6e756c6f67))
	params := initParams(cfg, specs, rng)
	w := bindWeights(cfg, specs, params)

	epochs := cfg.MaxExamples / len(exs)
	epochs = max(1, min(epochs, cfg.Epochs))
	total := epochs * len(exs)
	steps := epochs * ((len(exs) + cfg.BatchSize - 1) / cfg.BatchSize)
	opt := newAdamW(len(params), specs, cfg)

	nw := max(1, cfg.Workers)
	grads := make([][]float64, nw)
	gw := make([]*weights[float64], nw)
	wss := make([]*workspace, nw)
	for i := range nw {
		grads[i] = make([]float64, len(params))
		gw[i] = bindWeights(cfg, specs, grads[i])
		wss[i] = newWorkspace(cfg, V)
	}
	losses := make([]float64, nw)
	order := make([]int, len(exs))
	for i := range order {
		order[i] = i
	}
	type job struct {
		ids    []int32
		masked []int
		tgt    []int32
		scale  float64
	}
	jobs := make([]job, cfg.BatchSize)
	done, step := 0, 0
	var lastLoss float64
	lastReport := time.Now()
	for ep := 1; ep <= epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var epLoss, epWeight float64
		for b := 0; b < len(order); b += cfg.BatchSize {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("nulog train: %w", err)
			}
			batch := order[b:min(b+cfg.BatchSize, len(order))]
			// Masks are drawn here, in one goroutine, so the result does
			// not depend on how the workers are scheduled.
			var z float64
			for i, ei := range batch {
				ex := &exs[ei]
				m := max(1, int(math.Round(cfg.MaskRate*float64(len(ex.slots)))))
				perm := rng.Perm(len(ex.slots))[:m]
				j := &jobs[i]
				j.ids = append(j.ids[:0], ex.ids...)
				j.masked, j.tgt = j.masked[:0], j.tgt[:0]
				for _, pi := range perm {
					p := ex.slots[pi]
					j.masked = append(j.masked, p)
					j.tgt = append(j.tgt, ex.ids[p])
					j.ids[p] = idMASK
				}
				z += ex.weight * float64(m)
			}
			for i, ei := range batch {
				jobs[i].scale = exs[ei].weight / z
			}
			var wg sync.WaitGroup
			per := (len(batch) + nw - 1) / nw
			for wi := 0; wi < nw; wi++ {
				lo, hi := wi*per, min((wi+1)*per, len(batch))
				clear(grads[wi])
				losses[wi] = 0
				if lo >= hi {
					continue
				}
				wg.Add(1)
				go func(wi, lo, hi int) {
					defer wg.Done()
					ws := wss[wi]
					for _, j := range jobs[lo:hi] {
						ws.forward(w, j.ids, j.masked)
						losses[wi] += j.scale * ws.lossAndGrad(j.tgt, j.scale)
						ws.backward(w, gw[wi], j.ids, j.masked)
					}
				}(wi, lo, hi)
			}
			wg.Wait()
			var bl float64
			for wi := 1; wi < nw; wi++ {
				for i, v := range grads[wi] {
					grads[0][i] += v
				}
			}
			for _, l := range losses {
				bl += l
			}
			clipNorm(grads[0], cfg.ClipNorm)
			opt.step(params, grads[0], lrAt(cfg.LR, step, steps))
			step++
			epLoss += bl * z
			epWeight += z
			done += len(batch)
			lastLoss = epLoss / epWeight
			if progress != nil && time.Since(lastReport) > 250*time.Millisecond {
				lastReport = time.Now()
				progress(makeProgress(ep, epochs, done, total, lastLoss, start))
			}
		}
		if progress != nil {
			progress(makeProgress(ep, epochs, done, total, lastLoss, start))
		}
	}
	m, err := newModel(cfg, tok, float32s(params))
	if err != nil {
		return nil, fmt.Errorf("nulog train: %w", err)
	}
	m.stats = TrainStats{
		Lines: len(lines), TrainLines: len(trainLines), UniqueLines: len(uniq),
		HeldOutLines: len(heldLines), Vocab: V, Epochs: epochs, Examples: done, FinalLoss: lastLoss,
	}
	if err := m.calibrate(ctx, heldLines, trainLines); err != nil {
		return nil, fmt.Errorf("nulog train: %w", err)
	}
	m.stats.Seconds = time.Since(start).Seconds()
	return m, nil
}

func makeProgress(ep, epochs, done, total int, loss float64, start time.Time) Progress {
	el := time.Since(start)
	var eta time.Duration
	if done > 0 {
		eta = time.Duration(float64(el) * float64(total-done) / float64(done))
	}
	return Progress{Epoch: ep, Epochs: epochs, Example: done, Examples: total, Loss: loss, Elapsed: el, ETA: eta}
}

// countable returns the positions a score or a training mask may use: every
// token except <CLS> and numbers.
func countable(ids []int32) []int {
	var s []int
	for p := 1; p < len(ids); p++ {
		if ids[p] != idNUM && ids[p] != idPAD {
			s = append(s, p)
		}
	}
	return s
}

// initParams draws Glorot-uniform matrices, embeddings with standard
// deviation 1/√d (so embedding×√d has unit scale), unit layer-norm gains and
// zero biases.
func initParams(c Config, specs []tensorSpec, rng *rand.Rand) []float64 {
	p := make([]float64, totalSize(specs))
	off := 0
	for _, s := range specs {
		n := s.size()
		t := p[off : off+n]
		switch {
		case s.name == "embed":
			sd := 1 / math.Sqrt(float64(c.Dim))
			for i := range t {
				t[i] = rng.NormFloat64() * sd
			}
		case len(s.shape) == 2:
			lim := math.Sqrt(6 / float64(s.shape[0]+s.shape[1]))
			for i := range t {
				t[i] = (rng.Float64()*2 - 1) * lim
			}
		case len(s.name) > 2 && s.name[len(s.name)-2:] == ".g":
			for i := range t {
				t[i] = 1
			}
		}
		off += n
	}
	return p
}

// lrAt warms the learning rate up linearly over the first 5% of steps (at
// most 100), then decays it linearly to a tenth, which keeps Adam stable at
// the start without a hand-tuned schedule per data set.
func lrAt(base float64, step, steps int) float64 {
	warm := min(100, max(1, steps/20))
	if step < warm {
		return base * float64(step+1) / float64(warm)
	}
	frac := float64(step-warm) / float64(max(1, steps-warm))
	return base * (1 - 0.9*frac)
}

func clipNorm(g []float64, maxNorm float64) {
	var s float64
	for _, v := range g {
		s += v * v
	}
	n := math.Sqrt(s)
	if n > maxNorm {
		f := maxNorm / n
		for i := range g {
			g[i] *= f
		}
	}
}

// adamW is Adam with decoupled weight decay (Loshchilov & Hutter).
type adamW struct {
	m, v, decay []float64
	t           int
	wd          float64
}

func newAdamW(n int, specs []tensorSpec, c Config) *adamW {
	a := &adamW{m: make([]float64, n), v: make([]float64, n), decay: make([]float64, n), wd: c.WeightDecay}
	off := 0
	for _, s := range specs {
		if s.decay {
			for i := off; i < off+s.size(); i++ {
				a.decay[i] = 1
			}
		}
		off += s.size()
	}
	return a
}

func (a *adamW) step(p, g []float64, lr float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	for i := range p {
		a.m[i] = b1*a.m[i] + (1-b1)*g[i]
		a.v[i] = b2*a.v[i] + (1-b2)*g[i]*g[i]
		p[i] -= lr * (a.m[i]/c1/(math.Sqrt(a.v[i]/c2)+eps) + a.wd*a.decay[i]*p[i])
	}
}

func float32s(p []float64) []float32 {
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = float32(v)
	}
	return out
}
