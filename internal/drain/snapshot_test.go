package drain

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var vocab = strings.Fields("a b c d e f g user login failed ok <NUM> <IP> x1 y2 = : start stop node disk")

func randomLine(r *rand.Rand) string {
	n := 1 + r.IntN(7)
	w := make([]string, n)
	for i := range w {
		w[i] = vocab[r.IntN(len(vocab))]
	}
	return strings.Join(w, " ")
}

func saveLoad(t *testing.T, d *Drain) *Drain {
	t.Helper()
	var buf bytes.Buffer
	if err := d.Save(&buf); err != nil {
		t.Fatal(err)
	}
	d2, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return d2
}

// Property: load(save(m)) behaves like m for any later sequence of calls.
func TestSnapshotRoundTripProperty(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 7))
		cfg := DefaultConfig()
		cfg.MaxClusters = 5 + r.IntN(30)
		cfg.MaxChildren = 2 + r.IntN(4)
		cfg.MergeLengths = seed%2 == 0
		if seed%3 == 0 {
			cfg.ExtraDelimiters = []string{"=", ":"}
		}
		d := newT(t, cfg)
		for range 300 {
			d.Add(randomLine(r))
		}
		d.SetLabel(d.head.id, "anomaly")
		d.AddCount(d.head.id, "anomaly", 2)
		d2 := saveLoad(t, d)
		if !reflect.DeepEqual(d.Clusters(), d2.Clusters()) {
			t.Fatalf("seed %d: clusters differ after load", seed)
		}
		for range 300 {
			l := randomLine(r)
			if r.IntN(2) == 0 {
				a, b := d.Add(l), d2.Add(l)
				if a != b {
					t.Fatalf("seed %d: Add(%q) = %+v vs %+v", seed, l, a, b)
				}
			} else {
				s := Strategy(r.IntN(3))
				a, oka := d.Match(l, s)
				b, okb := d2.Match(l, s)
				if a != b || oka != okb {
					t.Fatalf("seed %d: Match(%q) = %+v vs %+v", seed, l, a, b)
				}
			}
		}
		if !reflect.DeepEqual(d.Clusters(), d2.Clusters()) {
			t.Fatalf("seed %d: clusters differ after more lines", seed)
		}
	}
}

// Drain3 failure: reloading a snapshot and re-feeding the same lines must
// not duplicate clusters.
func TestReloadRefeedNoDuplicates(t *testing.T) {
	lines := []string{"user a login", "user b login", "disk <NUM> full", "disk <NUM> full", "x"}
	d := newT(t, DefaultConfig())
	for _, l := range lines {
		d.Add(l)
	}
	n := d.Len()
	d2 := saveLoad(t, d)
	for _, l := range lines {
		if r := d2.Add(l); r.Change == ChangeCreated {
			t.Fatalf("re-fed %q created cluster %d", l, r.ClusterID)
		}
	}
	if d2.Len() != n {
		t.Fatalf("clusters %d -> %d", n, d2.Len())
	}
}

func TestLoadRejectsCorrupt(t *testing.T) {
	d := newT(t, DefaultConfig())
	d.Add("a b c")
	d.Add("a b d")
	var good bytes.Buffer
	if err := d.Save(&good); err != nil {
		t.Fatal(err)
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	cases := map[string][]byte{
		"empty":       nil,
		"not gzip":    []byte("hello"),
		"truncated":   good.Bytes()[:good.Len()/2],
		"bad json":    gz("{"),
		"wrong fmt":   gz(`{"format":"x","version":1}`),
		"wrong ver":   gz(`{"format":"lognats-drain-snapshot","version":9}`),
		"bad config":  gz(`{"format":"lognats-drain-snapshot","version":1,"config":{"depth":1}}`),
		"dangling id": gz(`{"format":"lognats-drain-snapshot","version":1,"config":{"depth":4,"sim_th":0.5,"max_children":100,"param_str":"<*>"},"last_id":1,"clusters":[{"id":1,"tokens":["a"],"seps":[""],"size":1}],"tree":[{"tokens":1,"root":{"keys":["a"],"children":[{"clusters":[2]}]}}]}`),
		"no leaf":     gz(`{"format":"lognats-drain-snapshot","version":1,"config":{"depth":4,"sim_th":0.5,"max_children":100,"param_str":"<*>"},"last_id":1,"clusters":[{"id":1,"tokens":["a"],"seps":[""],"size":1}],"tree":[]}`),
		"wrong len":   gz(`{"format":"lognats-drain-snapshot","version":1,"config":{"depth":4,"sim_th":0.5,"max_children":100,"param_str":"<*>"},"last_id":1,"clusters":[{"id":1,"tokens":["a","b"],"seps":[" ",""],"size":1}],"tree":[{"tokens":1,"root":{"keys":["a"],"children":[{"clusters":[1]}]}}]}`),
	}
	for name, b := range cases {
		if m, err := Load(bytes.NewReader(b)); err == nil || m != nil || !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: Load = %v, %v; want ErrSnapshot", name, m, err)
		}
	}
}
