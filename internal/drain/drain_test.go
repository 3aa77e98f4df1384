package drain

import (
	"bytes"
	"testing"
)

func newT(t *testing.T, cfg Config) *Drain {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAddBasic(t *testing.T) {
	d := newT(t, testConfig())
	r := d.Add("user alice logged in")
	if r.Change != ChangeCreated || r.ClusterID != 1 || r.Size != 1 {
		t.Fatalf("first add: %+v", r)
	}
	r = d.Add("user bob logged in")
	if r.Change != ChangeTemplateChanged || r.Template != "user <*> logged in" || r.Size != 2 {
		t.Fatalf("second add: %+v", r)
	}
	r = d.Add("user carol logged in")
	if r.Change != ChangeNone || r.ClusterID != 1 || r.Size != 3 {
		t.Fatalf("third add: %+v", r)
	}
	if d.Len() != 1 {
		t.Fatalf("Len = %d", d.Len())
	}
	if got := ChangeTemplateChanged.String(); got != "template_changed" {
		t.Errorf("String = %q", got)
	}
}

// Drain3 failure: a line whose cluster sits in the wildcard branch while an
// exact-token child exists for its first token.
func TestMatchFallsBackToWildcardBranch(t *testing.T) {
	d := newT(t, testConfig())
	d.Add("training4Model start")
	d.Add("loadModel start")
	d.Add("loadModel stop")
	d.Add("<*> start")
	for _, l := range []string{"loadModel start", "training4Model start", "loadModel stop"} {
		if _, ok := d.Match(l, SearchNever); !ok {
			t.Fatalf("match %q after training on it: no match", l)
		}
	}
	d2 := newT(t, testConfig())
	d2.Add("x1 start")
	d2.Add("y2 start") // both route through the wildcard branch: "<*> start"
	d2.Add("loadModel stop")
	r, ok := d2.Match("loadModel start", SearchNever)
	if !ok || r.Template != "<*> start" {
		t.Fatalf("want <*> start from the wildcard branch, got %+v %v", r, ok)
	}
}

func TestMatchStrategies(t *testing.T) {
	cfg := testConfig()
	cfg.MaxChildren = 2 // second distinct first token overflows into the wildcard child
	d := newT(t, cfg)
	d.Add("alpha one two")
	d.Add("beta one two")
	for _, s := range []Strategy{SearchNever, SearchFallback, SearchAlways} {
		if _, ok := d.Match("alpha one two", s); !ok {
			t.Errorf("strategy %d: no match", s)
		}
	}
	if _, ok := d.Match("gamma delta epsilon", SearchAlways); ok {
		t.Error("unexpected match")
	}
	if _, err := ParseStrategy("bogus"); err == nil {
		t.Error("ParseStrategy: want error")
	}
}

func TestMatchDoesNotChangeModel(t *testing.T) {
	d := newT(t, testConfig())
	d.Add("a b c")
	before := d.Clusters()
	d.Match("a x c", SearchAlways)
	d.Match("q r s", SearchFallback)
	after := d.Clusters()
	if len(before) != len(after) || before[0].Template != after[0].Template || before[0].Size != after[0].Size {
		t.Fatalf("model changed: %+v -> %+v", before, after)
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	d := newT(t, testConfig())
	for _, l := range []string{"connect from <IP> port <NUM>", "connect from <IP> port <NUM>", "disk full on /dev/sda"} {
		d.Add(l)
	}
	line := []byte("connect from <IP> port <NUM>")
	for _, s := range []Strategy{SearchNever, SearchFallback} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, ok := d.MatchBytes(line, s); !ok {
				t.Fatal("no match")
			}
		})
		if allocs != 0 {
			t.Errorf("strategy %d: %v allocs per Match", s, allocs)
		}
	}
	allocs := testing.AllocsPerRun(100, func() { d.AddBytes(line) })
	if allocs != 0 {
		t.Errorf("Add on a known template: %v allocs", allocs)
	}
}

// Drain3 failure: lines of different token counts that are one template.
func TestMergeLengths(t *testing.T) {
	cfg := testConfig()
	cfg.MergeLengths = true
	d := newT(t, cfg)
	a := d.Add("Invalid user test9 from <IP>")
	b := d.Add("Invalid user boris zhang from <IP>")
	if a.ClusterID != b.ClusterID || b.Template != "Invalid user <*> from <IP>" {
		t.Fatalf("not merged: %+v %+v", a, b)
	}
	if r, ok := d.Match("Invalid user a b c from <IP>", SearchNever); !ok || r.ClusterID != a.ClusterID {
		t.Fatalf("match longer line: %+v %v", r, ok)
	}
	off := newT(t, testConfig())
	a = off.Add("Invalid user test9 from <IP>")
	b = off.Add("Invalid user boris zhang from <IP>")
	if a.ClusterID == b.ClusterID {
		t.Fatal("merged without MergeLengths")
	}
}

// Drain3 failure: key=value tokens keep their key.
func TestKeyValueTokens(t *testing.T) {
	d := newT(t, testConfig())
	d.Add("session opened uid=<NUM> user=root")
	r := d.Add("session opened uid=<NUM> user=admin")
	if r.Template != "session opened uid=<NUM> <*>" || r.ClusterID != 1 {
		t.Fatalf("got %+v", r)
	}
	p, err := d.ExtractParameters(r.Template, "session opened uid=0 user=admin")
	if err != nil || len(p) != 2 || p[0].Value != "0" || p[0].Mask != "NUM" || p[1].Value != "user=admin" || p[1].Mask != "*" {
		t.Fatalf("params %+v %v", p, err)
	}
}

// Drain3 failure: single-token lines must not all land in one leaf.
func TestSingleTokenLinesGetOwnLeaves(t *testing.T) {
	d := newT(t, testConfig())
	for i := range 1000 {
		d.Add(string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + "x")
	}
	for _, c := range d.byID {
		if n := len(c.leaf.clusters); n > 1 {
			t.Fatalf("leaf of %q holds %d clusters", c.template, n)
		}
	}
	if r, ok := d.Match("abx", SearchNever); !ok || r.Template != "abx" {
		t.Fatalf("match single token: %+v %v", r, ok)
	}
}

// Drain3 failure: an extra delimiter must stay in the template.
func TestExtraDelimiterKept(t *testing.T) {
	cfg := testConfig()
	cfg.ExtraDelimiters = []string{"_"}
	d := newT(t, cfg)
	d.Add("pam_unix(sshd:auth): check pass; user unknown")
	r := d.Add("pam_unix(sshd:auth): check pass; user known")
	if r.Template != "pam_unix(sshd:auth): check pass; user <*>" {
		t.Fatalf("template %q", r.Template)
	}
	p, err := d.ExtractParameters(r.Template, "pam_unix(sshd:auth): check pass; user known")
	if err != nil || len(p) != 1 || p[0].Value != "known" {
		t.Fatalf("params %+v %v", p, err)
	}
}

func TestMaxClustersLRU(t *testing.T) {
	cfg := testConfig()
	cfg.MaxClusters = 2
	d := newT(t, cfg)
	a := d.Add("alpha one")
	d.Add("beta two three")
	d.Add("alpha one") // touch a: b becomes least recently used
	c := d.Add("gamma four five six")
	if d.Len() != 2 {
		t.Fatalf("Len = %d", d.Len())
	}
	if _, ok := d.Cluster(a.ClusterID); !ok {
		t.Error("recently used cluster evicted")
	}
	if _, ok := d.Cluster(2); ok {
		t.Error("LRU cluster kept")
	}
	if c.ClusterID != 3 {
		t.Errorf("id %d, want 3", c.ClusterID)
	}
	if _, ok := d.Match("beta two three", SearchAlways); ok {
		t.Error("evicted cluster still matches")
	}
}

func TestLabelsAndCounts(t *testing.T) {
	d := newT(t, testConfig())
	r := d.Add("disk failure on node")
	if err := d.SetLabel(r.ClusterID, "anomaly"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddCount(r.ClusterID, "anomaly", 3); err != nil {
		t.Fatal(err)
	}
	c, _ := d.Cluster(r.ClusterID)
	if c.Label != "anomaly" || c.Counts["anomaly"] != 3 {
		t.Fatalf("cluster %+v", c)
	}
	if err := d.SetLabel(99, "x"); err == nil {
		t.Error("unknown id: want error")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Depth = 2 },
		func(c *Config) { c.SimTh = 1.5 },
		func(c *Config) { c.MaxChildren = 1 },
		func(c *Config) { c.MaxClusters = -1 },
		func(c *Config) { c.ParamString = "a b" },
		func(c *Config) { c.ExtraDelimiters = []string{""} },
	}
	for i, f := range bad {
		c := testConfig()
		f(&c)
		if _, err := New(c); err == nil {
			t.Errorf("case %d: want error", i)
		}
	}
}

// testConfig is Drain3's structure (one routing token, sim_th 0.4) without
// its cluster cap, so small examples merge the way Drain3 users expect.
func testConfig() Config {
	c := Drain3Config()
	c.MaxClusters = 0
	c.ParamString = "<*>"
	return c
}

// StableWords keeps a word that was constant over many lines out of the
// wildcard, while early variation still makes a wildcard.
func TestStableWords(t *testing.T) {
	cfg := testConfig()
	cfg.SimTh = 0.7
	cfg.StableWords = 3
	d := newT(t, cfg)
	for range 3 {
		d.Add("Starting TrustedInstaller initialization.")
	}
	if r := d.Add("Starting TrustedInstaller finalization."); r.Change != ChangeCreated {
		t.Fatalf("stable word became a wildcard: %+v", r)
	}
	d.Add("Invalid user admin from <IP>")
	if r := d.Add("Invalid user oracle from <IP>"); r.Template != "Invalid user <*> from <IP>" {
		t.Fatalf("early variation did not make a wildcard: %+v", r)
	}
	cfg.StableWords = -1
	if _, err := New(cfg); err == nil {
		t.Error("negative stable_words: want error")
	}
}

// A key whose value masks to different names early in the line (vis=<HEX>
// vs vis=<NUM>) must still reach the same leaf, so one template forms.
func TestMaskedValuesRouteAsVariables(t *testing.T) {
	d := newT(t, DefaultConfig())
	d.Add("setVisibility vis=<NUM> mask=<NUM> old=<NUM> new=<NUM> diff=<NUM> stack=<NUM> docked=<NUM>")
	r := d.Add("setVisibility vis=<HEX> mask=<NUM> old=<NUM> new=<NUM> diff=<NUM> stack=<NUM> docked=<NUM>")
	if r.ClusterID != 1 || r.Template != "setVisibility <*> mask=<NUM> old=<NUM> new=<NUM> diff=<NUM> stack=<NUM> docked=<NUM>" {
		t.Fatalf("got %+v", r)
	}
	for tok, want := range map[string]bool{"vis=<NUM>": true, "<IP>,<IP>": true, "a1": true, "vis=on": false, "<b>": false} {
		if got := hasDigit(tok); got != want {
			t.Errorf("hasDigit(%q) = %v", tok, got)
		}
	}
}

// Lines with invalid UTF-8 must not make a snapshot that cannot be loaded:
// JSON would write both tokens below as the same replacement character.
func TestInvalidUTF8SnapshotLoads(t *testing.T) {
	d, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	d.Add("abc \xff\xfe def")
	d.Add("abc \xfe\xff def")
	d.Add("\xff\xff\xff")
	var b bytes.Buffer
	if err := d.Save(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Load(&b)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if back.Len() != d.Len() {
		t.Fatalf("%d templates after load, %d before", back.Len(), d.Len())
	}
	if _, ok := back.Match("abc \xfe\xff def", SearchFallback); !ok {
		t.Error("a line with invalid bytes does not match its own template after load")
	}
}
