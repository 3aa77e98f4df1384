// Package drain3compat imports Drain3 snapshots (what Drain3's
// TemplateMiner persists and Opni's DRAIN services stored as
// workload_drain_model.bin: base64 of zlib of jsonpickle JSON) into lognats
// drain models, keeping Drain3's cluster ids, templates, sizes, LRU order and
// configuration.
package drain3compat

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/lognats/lognats/internal/drain"
)

// ErrFormat is wrapped by every error about input that is not a usable
// Drain3 snapshot.
var ErrFormat = errors.New("not a valid Drain3 snapshot")

// maxJSON bounds the decompressed snapshot size.
const maxJSON = 1 << 30

type state struct {
	Depth       int             `json:"log_cluster_depth"`
	SimTh       float64         `json:"sim_th"`
	MaxChildren int             `json:"max_children"`
	MaxClusters *int            `json:"max_clusters"`
	Extra       []string        `json:"extra_delimiters"`
	ParamStr    string          `json:"param_str"`
	Parametrize *bool           `json:"parametrize_numeric_tokens"`
	Clusters    json.RawMessage `json:"id_to_cluster"`
	Counter     int64           `json:"clusters_counter"`
}

type pyCluster struct {
	Tokens json.RawMessage `json:"log_template_tokens"`
	ID     int64           `json:"cluster_id"`
	Size   int64           `json:"size"`
}

// Decode turns the stored bytes (base64 of zlib of JSON; surrounding white
// space allowed) into the jsonpickle JSON.
func Decode(b []byte) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("decode drain3 snapshot base64: %w: %w", ErrFormat, err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode drain3 snapshot zlib: %w: %w", ErrFormat, err)
	}
	defer zr.Close()
	js, err := io.ReadAll(io.LimitReader(zr, maxJSON))
	if err != nil {
		return nil, fmt.Errorf("decode drain3 snapshot zlib: %w: %w", ErrFormat, err)
	}
	return js, nil
}

// Import reads a stored Drain3 snapshot and returns the equivalent model.
// The model keeps Drain3's parameter string (e.g. <:*:>) so templates read
// exactly as Drain3 reports them.
func Import(r io.Reader) (*drain.Drain, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxJSON))
	if err != nil {
		return nil, fmt.Errorf("read drain3 snapshot: %w", err)
	}
	js, err := Decode(b)
	if err != nil {
		return nil, err
	}
	return ImportJSON(js)
}

// ImportJSON is Import for already decoded jsonpickle JSON.
func ImportJSON(js []byte) (*drain.Drain, error) {
	var st state
	if err := json.Unmarshal(js, &st); err != nil {
		return nil, fmt.Errorf("parse drain3 snapshot: %w: %w", ErrFormat, err)
	}
	cfg := drain.Config{
		Depth:                    st.Depth,
		SimTh:                    st.SimTh,
		MaxChildren:              st.MaxChildren,
		ExtraDelimiters:          st.Extra,
		ParametrizeNumericTokens: st.Parametrize == nil || *st.Parametrize,
		ParamString:              st.ParamStr,
	}
	if st.MaxClusters != nil {
		cfg.MaxClusters = *st.MaxClusters
	}
	if cfg.ParamString == "" {
		cfg.ParamString = "<*>"
	}
	clusters, order, err := parseClusters(st.Clusters)
	if err != nil {
		return nil, err
	}
	if cfg.MaxClusters > 0 && len(clusters) > cfg.MaxClusters {
		return nil, fmt.Errorf("parse drain3 snapshot: %d clusters over max_clusters %d: %w", len(clusters), cfg.MaxClusters, ErrFormat)
	}
	list := make([]drain.ImportCluster, 0, len(clusters))
	seen := make(map[int64]bool)
	add := func(id int64) {
		if c, ok := clusters[id]; ok && !seen[id] {
			seen[id] = true
			list = append(list, c)
		}
	}
	for _, id := range order {
		add(id)
	}
	ids := make([]int64, 0, len(clusters))
	for id := range clusters {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids { // clusters missing from the LRU order: oldest
		if !seen[id] {
			list = slices.Insert(list, 0, clusters[id])
			seen[id] = true
		}
	}
	d, err := drain.FromClusters(cfg, st.Counter, list)
	if err != nil {
		return nil, fmt.Errorf("import drain3 snapshot: %w: %w", ErrFormat, err)
	}
	return d, nil
}

// parseClusters reads id_to_cluster: either a plain dict (max_clusters
// unset) or a LogClusterCache (cachetools LRUCache) with its LRU order.
func parseClusters(raw json.RawMessage) (map[int64]drain.ImportCluster, []int64, error) {
	if len(raw) == 0 {
		return nil, nil, fmt.Errorf("parse drain3 snapshot: no id_to_cluster: %w", ErrFormat)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, nil, fmt.Errorf("parse drain3 id_to_cluster: %w: %w", ErrFormat, err)
	}
	entries := obj
	var order []int64
	if data, ok := obj["_Cache__data"]; ok {
		entries = nil // Unmarshal would merge into obj otherwise
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil, nil, fmt.Errorf("parse drain3 cache data: %w: %w", ErrFormat, err)
		}
		order = parseOrder(obj["_LRUCache__order"])
	}
	out := make(map[int64]drain.ImportCluster, len(entries))
	for k, v := range entries {
		if strings.HasPrefix(k, "py/") {
			continue
		}
		key, err := strconv.ParseInt(strings.TrimPrefix(k, "json://"), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("parse drain3 cluster key %q: %w", k, ErrFormat)
		}
		var pc pyCluster
		if err := json.Unmarshal(v, &pc); err != nil {
			return nil, nil, fmt.Errorf("parse drain3 cluster %q: %w: %w", k, ErrFormat, err)
		}
		if pc.ID != key {
			return nil, nil, fmt.Errorf("parse drain3 cluster %q: id %d: %w", k, pc.ID, ErrFormat)
		}
		toks, err := parseTokens(pc.Tokens)
		if err != nil {
			return nil, nil, fmt.Errorf("parse drain3 cluster %d tokens: %w", pc.ID, err)
		}
		out[pc.ID] = drain.ImportCluster{ID: pc.ID, Tokens: toks, Size: pc.Size}
	}
	return out, order, nil
}

// parseTokens accepts a jsonpickle tuple {"py/tuple": [...]} or a list.
func parseTokens(raw json.RawMessage) ([]string, error) {
	var tup struct {
		Tuple []string `json:"py/tuple"`
	}
	if err := json.Unmarshal(raw, &tup); err == nil && tup.Tuple != nil {
		return tup.Tuple, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return list, nil
}

// parseOrder reads the OrderedDict jsonpickle writes for the LRU order
// (least recently used first); on any surprise it returns nil and the
// import falls back to id order.
func parseOrder(raw json.RawMessage) []int64 {
	var red struct {
		Reduce []json.RawMessage `json:"py/reduce"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &red) != nil || len(red.Reduce) < 5 {
		return nil
	}
	var items struct {
		Tuple []struct {
			Tuple []json.RawMessage `json:"py/tuple"`
		} `json:"py/tuple"`
	}
	if json.Unmarshal(red.Reduce[4], &items) != nil {
		return nil
	}
	var ids []int64
	for _, it := range items.Tuple {
		if len(it.Tuple) == 0 {
			continue
		}
		var id int64
		if json.Unmarshal(it.Tuple[0], &id) == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
