package parseeval

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEvaluatePerfect(t *testing.T) {
	truth := []string{"A <*>", "A <*>", "B"}
	m, err := Evaluate(truth, truth)
	if err != nil {
		t.Fatal(err)
	}
	if m.GA != 1 || m.PA != 1 || m.FGA != 1 || m.FTA != 1 {
		t.Fatalf("%+v", m)
	}
}

// Truth groups: A = lines 0,1,2; B = line 3; C = lines 4,5.
// Parsed: lines 0,1,2 together but named differently (grouped right, template
// wrong); line 3 right; C split in two.
func TestEvaluateHandExample(t *testing.T) {
	truth := []string{"a <*>", "a <*>", "a <*>", "b", "c <*>", "c <*>"}
	parsed := []string{"a x", "a x", "a x", "b", "c 1", "c 2"}
	m, err := Evaluate(truth, parsed)
	if err != nil {
		t.Fatal(err)
	}
	// GA: groups A and B correct -> 4/6. PA: only line 3 -> 1/6.
	if !near(m.GA, 4.0/6) || !near(m.PA, 1.0/6) {
		t.Fatalf("GA %v PA %v", m.GA, m.PA)
	}
	// 4 parsed templates, 3 truth templates, 2 correct groups.
	if !near(m.PGA, 2.0/4) || !near(m.RGA, 2.0/3) || !near(m.FGA, 2*(0.5*2.0/3)/(0.5+2.0/3)) {
		t.Fatalf("PGA %v RGA %v FGA %v", m.PGA, m.RGA, m.FGA)
	}
	// Only group B also has the right template.
	if !near(m.PTA, 1.0/4) || !near(m.RTA, 1.0/3) || !near(m.FTA, 2*(0.25/3)/(0.25+1.0/3)) {
		t.Fatalf("PTA %v RTA %v FTA %v", m.PTA, m.RTA, m.FTA)
	}
}

// A parsed template that merges two truth groups makes both wrong.
func TestEvaluateMerged(t *testing.T) {
	m, _ := Evaluate([]string{"a", "b", "c"}, []string{"x", "x", "c"})
	if !near(m.GA, 1.0/3) || !near(m.FTA, 2*(0.5*(1.0/3))/(0.5+1.0/3)) {
		t.Fatalf("%+v", m)
	}
}

func TestEvaluateErrors(t *testing.T) {
	if _, err := Evaluate([]string{"a"}, nil); err == nil {
		t.Error("length mismatch: want error")
	}
	if _, err := Evaluate(nil, nil); err == nil {
		t.Error("empty: want error")
	}
}

func TestAverage(t *testing.T) {
	a := Average([]Metrics{{GA: 1, Lines: 2}, {GA: 0.5, Lines: 3}})
	if !near(a.GA, 0.75) || a.Lines != 5 {
		t.Fatalf("%+v", a)
	}
}

func TestNormalizeTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"from <IP> port <NUM>": "from <*> port <*>",
		"<:NUM:> x <*>":        "<*> x <*>",
		"a <b> <> <ABORT code": "a <b> <> <ABORT code",
		"no masks":             "no masks",
	} {
		if got := NormalizeTemplate(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

func TestReadStructured(t *testing.T) {
	in := "LineId,Content,EventId,EventTemplate\r\n1,\"a, b\",E1,\"a, <*>\"\r\n2,c,E2,c\r\n"
	c, tm, err := ReadStructured(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 2 || c[0] != "a, b" || tm[0] != "a, <*>" || tm[1] != "c" {
		t.Fatalf("%q %q", c, tm)
	}
	if _, _, err := ReadStructured(strings.NewReader("x,y\n1,2\n")); err == nil {
		t.Error("missing columns: want error")
	}
}

func TestLoadLoghub(t *testing.T) {
	data, ok := SharedDataDir(".")
	if !ok {
		t.Skip("shared data not found")
	}
	names, err := Datasets(data+"/loghub-2k", false)
	if err != nil {
		t.Skip(err)
	}
	ds, err := LoadDataset(data+"/loghub-2k", names[0], false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Contents) != 2000 {
		t.Fatalf("%s: %d lines", ds.Name, len(ds.Contents))
	}
}
