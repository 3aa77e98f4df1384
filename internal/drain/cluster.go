package drain

import (
	"fmt"
	"maps"
	"slices"
)

// Cluster is a copy of one cluster's state.
type Cluster struct {
	ID       int64
	Template string
	Tokens   []string
	Size     int64
	// Label is free text such as "normal" or "anomaly"; empty when unset.
	Label string
	// Counts are named counters (e.g. lines seen per label); nil when none.
	Counts map[string]int64
}

func (c *cluster) export() Cluster {
	return Cluster{
		ID:       c.id,
		Template: c.template,
		Tokens:   slices.Clone(c.tokens),
		Size:     c.size,
		Label:    c.label,
		Counts:   maps.Clone(c.counts),
	}
}

// Clusters returns every cluster, ordered by id.
func (d *Drain) Clusters() []Cluster {
	out := make([]Cluster, 0, len(d.byID))
	for _, id := range slices.Sorted(maps.Keys(d.byID)) {
		out = append(out, d.byID[id].export())
	}
	return out
}

// Cluster returns the cluster with the given id.
func (d *Drain) Cluster(id int64) (Cluster, bool) {
	c, ok := d.byID[id]
	if !ok {
		return Cluster{}, false
	}
	return c.export(), true
}

// SetLabel sets a cluster's label. It returns ErrNoCluster for an unknown id.
func (d *Drain) SetLabel(id int64, label string) error {
	c, ok := d.byID[id]
	if !ok {
		return fmt.Errorf("set label of cluster %d: %w", id, ErrNoCluster)
	}
	c.label = label
	return nil
}

// AddCount adds n to a cluster's named counter. It returns ErrNoCluster for
// an unknown id.
func (d *Drain) AddCount(id int64, name string, n int64) error {
	c, ok := d.byID[id]
	if !ok {
		return fmt.Errorf("add count to cluster %d: %w", id, ErrNoCluster)
	}
	if c.counts == nil {
		c.counts = make(map[string]int64)
	}
	c.counts[name] += n
	return nil
}
