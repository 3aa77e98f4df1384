package drain

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// Snapshot format identifiers; docs/formats/drain-snapshot.md describes
// the format.
const (
	SnapshotFormat  = "lognats-drain-snapshot"
	SnapshotVersion = 1
)

// maxSnapshotBytes bounds the decompressed size Load accepts, so a small
// corrupt or hostile file cannot make it allocate without limit.
const maxSnapshotBytes = 1 << 30

type snapshot struct {
	Format   string        `json:"format"`
	Version  int           `json:"version"`
	Config   Config        `json:"config"`
	LastID   int64         `json:"last_id"`
	Clusters []snapCluster `json:"clusters"`
	Tree     []snapLenNode `json:"tree"`
}

type snapCluster struct {
	ID     int64            `json:"id"`
	Tokens []string         `json:"tokens"`
	Seps   []string         `json:"seps"`
	Size   int64            `json:"size"`
	Label  string           `json:"label,omitempty"`
	Counts map[string]int64 `json:"counts,omitempty"`
	Multi  []int            `json:"multi,omitempty"`
}

type snapLenNode struct {
	Tokens int      `json:"tokens"`
	Root   snapNode `json:"root"`
}

type snapNode struct {
	Keys     []string   `json:"keys,omitempty"`
	Children []snapNode `json:"children,omitempty"`
	Clusters []int64    `json:"clusters,omitempty"`
}

// Save writes the model as a gzip-compressed JSON snapshot: configuration,
// clusters in least-recently-used order (most recent first) and the prefix
// tree, so that Load restores a model that behaves identically.
func (d *Drain) Save(w io.Writer) error {
	s := snapshot{Format: SnapshotFormat, Version: SnapshotVersion, Config: d.Config(), LastID: d.lastID}
	for c := d.head; c != nil; c = c.next {
		sc := snapCluster{ID: c.id, Tokens: c.tokens, Seps: c.seps, Size: c.size, Label: c.label, Counts: c.counts}
		for i, m := range c.multi {
			if m {
				sc.Multi = append(sc.Multi, i)
			}
		}
		s.Clusters = append(s.Clusters, sc)
	}
	for _, n := range slices.Sorted(maps.Keys(d.byLen)) {
		s.Tree = append(s.Tree, snapLenNode{Tokens: n, Root: exportNode(d.byLen[n])})
	}
	zw := gzip.NewWriter(w)
	if err := json.NewEncoder(zw).Encode(&s); err != nil {
		return fmt.Errorf("save drain snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("save drain snapshot: %w", err)
	}
	return nil
}

func exportNode(nd *node) snapNode {
	var s snapNode
	for _, k := range slices.Sorted(maps.Keys(nd.children)) {
		s.Keys = append(s.Keys, k)
		s.Children = append(s.Children, exportNode(nd.children[k]))
	}
	for _, c := range nd.clusters {
		s.Clusters = append(s.Clusters, c.id)
	}
	return s
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("load drain snapshot: "+format+": %w", append(args, ErrSnapshot)...)
}

// Load reads a snapshot written by Save. Every inconsistency (bad gzip or
// JSON, unknown format or version, invalid config, duplicate or dangling
// cluster ids, clusters in the wrong leaf) is an error wrapping ErrSnapshot;
// Load never returns a partly built model.
func Load(r io.Reader) (*Drain, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, corrupt("open gzip: %v", err)
	}
	dec := json.NewDecoder(io.LimitReader(zr, maxSnapshotBytes))
	var s snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, corrupt("decode json: %v", err)
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(zr, 1)); err != nil && !errors.Is(err, io.EOF) {
		return nil, corrupt("read gzip: %v", err)
	}
	if s.Format != SnapshotFormat {
		return nil, corrupt("format %q, want %q", s.Format, SnapshotFormat)
	}
	if s.Version != SnapshotVersion {
		return nil, corrupt("version %d not supported (want %d)", s.Version, SnapshotVersion)
	}
	d, err := New(s.Config)
	if err != nil {
		return nil, corrupt("config: %v", err)
	}
	if s.LastID < 0 {
		return nil, corrupt("last_id %d", s.LastID)
	}
	d.lastID = s.LastID
	for i := len(s.Clusters) - 1; i >= 0; i-- { // oldest first, so the head ends up most recent
		sc := s.Clusters[i]
		if sc.ID <= 0 || sc.ID > s.LastID {
			return nil, corrupt("cluster id %d outside 1..%d", sc.ID, s.LastID)
		}
		if d.byID[sc.ID] != nil {
			return nil, corrupt("duplicate cluster id %d", sc.ID)
		}
		if len(sc.Tokens) != len(sc.Seps) || sc.Size < 1 {
			return nil, corrupt("cluster %d: %d tokens, %d separators, size %d", sc.ID, len(sc.Tokens), len(sc.Seps), sc.Size)
		}
		c := &cluster{id: sc.ID, tokens: sc.Tokens, seps: sc.Seps, size: sc.Size, label: sc.Label, counts: sc.Counts}
		for _, m := range sc.Multi {
			if m < 0 || m >= len(c.tokens) || c.tokens[m] != d.cfg.ParamString {
				return nil, corrupt("cluster %d: bad multi-token position %d", sc.ID, m)
			}
			if c.multi == nil {
				c.multi = make([]bool, len(c.tokens))
			}
			c.multi[m] = true
			d.multiLen[c.id] = c
		}
		c.template = render(c.tokens, c.seps)
		d.countConsts(c)
		d.byID[c.id] = c
		d.pushFront(c)
	}
	if d.cfg.MaxClusters > 0 && len(d.byID) > d.cfg.MaxClusters {
		return nil, corrupt("%d clusters over max_clusters %d", len(d.byID), d.cfg.MaxClusters)
	}
	for _, ln := range s.Tree {
		if ln.Tokens < 0 || d.byLen[ln.Tokens] != nil {
			return nil, corrupt("tree: bad or repeated token count %d", ln.Tokens)
		}
		nd, err := d.importNode(ln.Root, ln.Tokens, 0)
		if err != nil {
			return nil, err
		}
		d.byLen[ln.Tokens] = nd
	}
	for _, c := range d.byID {
		if c.leaf == nil {
			return nil, corrupt("cluster %d is in no tree leaf", c.id)
		}
	}
	return d, nil
}

func (d *Drain) importNode(s snapNode, n, lvl int) (*node, error) {
	nd := &node{}
	if len(s.Keys) != len(s.Children) {
		return nil, corrupt("tree: %d keys for %d children", len(s.Keys), len(s.Children))
	}
	if lvl == d.levels(n) {
		if len(s.Children) > 0 {
			return nil, corrupt("tree: leaf at depth %d has children", lvl)
		}
	} else if len(s.Clusters) > 0 {
		return nil, corrupt("tree: inner node at depth %d holds clusters", lvl)
	}
	for i, k := range s.Keys {
		if nd.children == nil {
			nd.children = make(map[string]*node, len(s.Keys))
		}
		if nd.children[k] != nil {
			return nil, corrupt("tree: repeated key %q", k)
		}
		ch, err := d.importNode(s.Children[i], n, lvl+1)
		if err != nil {
			return nil, err
		}
		nd.children[k] = ch
	}
	for _, id := range s.Clusters {
		c := d.byID[id]
		if c == nil {
			return nil, corrupt("tree: unknown cluster id %d", id)
		}
		if c.leaf != nil {
			return nil, corrupt("tree: cluster %d in two leaves", id)
		}
		if len(c.tokens) != n {
			return nil, corrupt("tree: cluster %d has %d tokens under %d", id, len(c.tokens), n)
		}
		c.leaf = nd
		nd.clusters = append(nd.clusters, c)
	}
	return nd, nil
}
