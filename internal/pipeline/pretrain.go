package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/mask"
	"github.com/lognats/lognats/internal/modelstore"
)

// PretrainStats says what a pretrained DRAIN model was built from.
type PretrainStats struct {
	NormalLines  int64 `json:"normal_lines"`
	AnomalyLines int64 `json:"anomaly_lines"`
	Templates    int   `json:"templates"`
	Normal       int   `json:"normal_templates"`
	Anomalous    int   `json:"anomalous_templates"`
	Mixed        int   `json:"mixed_templates"` // seen in both; left unlabelled, so inference decides
}

// Pretrainer builds a labelled DRAIN model from files of normal and of
// anomalous lines. A template seen only in normal lines is labelled normal,
// only in anomalous lines anomaly; a template seen in both stays unlabelled.
type Pretrainer struct {
	d      *drain.Drain
	masker *mask.Masker
	stats  PretrainStats
	buf    []byte
}

// NewPretrainer starts an empty model.
func NewPretrainer(cfg drain.Config, m *mask.Masker) (*Pretrainer, error) {
	if m == nil {
		m = mask.Default()
	}
	d, err := drain.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Pretrainer{d: d, masker: m}, nil
}

// Add mines every line of r with the given label (LabelNormal or LabelAnomaly).
func (p *Pretrainer) Add(r io.Reader, label string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		p.buf = p.masker.Mask(p.buf[:0], line)
		res := p.d.AddBytes(p.buf)
		if err := p.d.AddCount(res.ClusterID, label, 1); err != nil {
			return err
		}
		if label == LabelAnomaly {
			p.stats.AnomalyLines++
		} else {
			p.stats.NormalLines++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read training lines: %w", err)
	}
	return nil
}

// Finish labels the clusters and returns the model.
func (p *Pretrainer) Finish() (*drain.Drain, PretrainStats, error) {
	for _, c := range p.d.Clusters() {
		n, a := c.Counts[LabelNormal], c.Counts[LabelAnomaly]
		label := ""
		switch {
		case a == 0:
			label = LabelNormal
			p.stats.Normal++
		case n == 0:
			label = LabelAnomaly
			p.stats.Anomalous++
		default:
			p.stats.Mixed++
			continue
		}
		if err := p.d.SetLabel(c.ID, label); err != nil {
			return nil, p.stats, err
		}
	}
	p.stats.Templates = p.d.Len()
	return p.d, p.stats, nil
}

// StorePretrained saves a pretrained model as the current drain/pretrained-<source>.
func StorePretrained(ctx context.Context, store *modelstore.Store, source string, d *drain.Drain, st PretrainStats) (modelstore.Version, error) {
	var buf bytes.Buffer
	if err := d.Save(&buf); err != nil {
		return modelstore.Version{}, fmt.Errorf("save pretrained DRAIN: %w", err)
	}
	return store.Put(ctx, PretrainedModel(source), &buf, modelstore.PutOptions{
		Format: drain.SnapshotFormat, FormatVersion: drain.SnapshotVersion,
		Meta: map[string]string{
			"normal_lines": strconv.FormatInt(st.NormalLines, 10), "anomaly_lines": strconv.FormatInt(st.AnomalyLines, 10),
			MetaTemplates: strconv.Itoa(st.Templates), "normal_templates": strconv.Itoa(st.Normal), "anomalous_templates": strconv.Itoa(st.Anomalous),
		},
	})
}
