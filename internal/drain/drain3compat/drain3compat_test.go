package drain3compat

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/parseeval"
)

func golden(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Importing the real Opni/Drain3 snapshots yields the clusters Drain3 reports.
func TestImportOpniSnapshots(t *testing.T) {
	data, ok := parseeval.SharedDataDir(".")
	if !ok {
		t.Skip("shared data not found")
	}
	for _, tc := range []struct{ file, golden, delim string }{
		{"hdfs_drain3_state.bin", "hdfs.golden", "_"},
		{"openssh_drain3_state.bin", "openssh.golden", "_"},
	} {
		f, err := os.Open(filepath.Join(data, "opni-compat", tc.file))
		if err != nil {
			t.Skipf("snapshot missing: %v", err)
		}
		d, err := Import(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		want := golden(t, tc.golden)
		cs := d.Clusters()
		if len(cs) != len(want) {
			t.Fatalf("%s: %d clusters, Drain3 reports %d", tc.file, len(cs), len(want))
		}
		for i, c := range cs {
			if got := fmt.Sprintf("%d\t%d\t%s", c.ID, c.Size, c.Template); got != want[i] {
				t.Errorf("%s cluster %d:\n got %s\nwant %s", tc.file, i, got, want[i])
			}
		}
		cfg := d.Config()
		if cfg.Depth != 4 || cfg.SimTh != 0.4 || cfg.MaxChildren != 100 || cfg.MaxClusters != 1024 || strings.Join(cfg.ExtraDelimiters, "") != tc.delim {
			t.Errorf("%s: config %+v", tc.file, cfg)
		}
		// The imported model matches lines of its clusters.
		if _, ok := d.Match(cs[0].Template, drain.SearchNever); !ok {
			t.Errorf("%s: template %q does not match itself", tc.file, cs[0].Template)
		}
	}
}

func encode(js string) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(js))
	w.Close()
	return []byte(base64.StdEncoding.EncodeToString(b.Bytes()))
}

func TestImportPlainDictAndErrors(t *testing.T) {
	js := `{"log_cluster_depth":4,"sim_th":0.4,"max_children":100,"max_clusters":null,"extra_delimiters":[],"param_str":"<*>","clusters_counter":2,
	"id_to_cluster":{"1":{"log_template_tokens":["a","<*>"],"cluster_id":1,"size":3},"2":{"log_template_tokens":{"py/tuple":["b"]},"cluster_id":2,"size":1}}}`
	d, err := Import(bytes.NewReader(encode(js)))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 {
		t.Fatalf("Len %d", d.Len())
	}
	if r := d.Add("a z"); r.ClusterID != 1 || r.Size != 4 {
		t.Fatalf("Add after import: %+v", r)
	}
	if r := d.Add("new line here"); r.ClusterID != 3 {
		t.Fatalf("new cluster id %d, want 3", r.ClusterID)
	}
	for name, in := range map[string][]byte{
		"not base64":  []byte("!!!"),
		"not zlib":    []byte(base64.StdEncoding.EncodeToString([]byte("plain"))),
		"not json":    encode("{"),
		"no clusters": encode(`{"log_cluster_depth":4,"sim_th":0.4,"max_children":100}`),
		"bad depth":   encode(`{"log_cluster_depth":1,"sim_th":0.4,"max_children":100,"id_to_cluster":{}}`),
		"bad id":      encode(`{"log_cluster_depth":4,"sim_th":0.4,"max_children":100,"id_to_cluster":{"x":{}}}`),
		"bad token":   encode(`{"log_cluster_depth":4,"sim_th":0.4,"max_children":100,"id_to_cluster":{"1":{"log_template_tokens":["a b"],"cluster_id":1,"size":1}}}`),
	} {
		if _, err := Import(bytes.NewReader(in)); err == nil || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", name, err)
		}
	}
}
