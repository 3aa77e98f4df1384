package drain

import (
	"fmt"
	"strings"
)

// ImportCluster is one cluster handed to FromClusters.
type ImportCluster struct {
	ID     int64
	Tokens []string
	Size   int64
	Label  string
}

// FromClusters builds a model from clusters mined elsewhere (for example a
// Drain3 snapshot), given least recently used first. Tokens are joined by
// single spaces in templates. lastID is the highest id handed out so far; it
// is raised to the highest cluster id when lower. Invalid input is an error
// wrapping ErrSnapshot.
func FromClusters(cfg Config, lastID int64, clusters []ImportCluster) (*Drain, error) {
	d, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("import clusters: %w", err)
	}
	for _, ic := range clusters {
		if ic.ID <= 0 || d.byID[ic.ID] != nil {
			return nil, fmt.Errorf("import clusters: bad or repeated id %d: %w", ic.ID, ErrSnapshot)
		}
		if ic.Size < 1 {
			return nil, fmt.Errorf("import clusters: cluster %d has size %d: %w", ic.ID, ic.Size, ErrSnapshot)
		}
		c := &cluster{id: ic.ID, size: ic.Size, label: ic.Label, tokens: make([]string, len(ic.Tokens)), seps: make([]string, len(ic.Tokens))}
		for i, t := range ic.Tokens {
			if t == "" || strings.ContainsAny(t, " \t\r\n\v\f") {
				return nil, fmt.Errorf("import clusters: cluster %d token %d %q: %w", ic.ID, i, t, ErrSnapshot)
			}
			c.tokens[i] = t
			if i < len(ic.Tokens)-1 {
				c.seps[i] = " "
			}
		}
		c.template = render(c.tokens, c.seps)
		d.insert(c)
		lastID = max(lastID, ic.ID)
	}
	d.lastID = lastID
	return d, nil
}
