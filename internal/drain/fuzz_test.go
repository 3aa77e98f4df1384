package drain

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzTokenize checks that tokens and separators rebuild the line (less
// leading and trailing delimiters) and that mining the line never panics.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", " ", "a", " a  b\t", "pam_unix(x)", "a_=_b", "\xff\xfe", strings.Repeat("x ", 100), strings.Repeat("ab_c ", 200000)} {
		f.Add(s)
	}
	tok := SpaceTokenizer{Extra: []string{"_", "=="}}
	d, err := New(Config{Depth: 4, SimTh: 0.5, MaxChildren: 3, MaxClusters: 8, ExtraDelimiters: []string{"_", "=="}, ParametrizeNumericTokens: true, MergeLengths: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		toks := tok.Tokenize(nil, line)
		var b strings.Builder
		for _, tk := range toks {
			if tk.Text == "" {
				t.Fatalf("empty token in %q", line)
			}
			b.WriteString(tk.Text)
			b.WriteString(tk.Sep)
		}
		if !strings.Contains(line, b.String()) {
			t.Fatalf("tokens of %q rebuild %q", line, b.String())
		}
		r := d.Add(line)
		if _, ok := d.Match(line, SearchFallback); !ok && r.ClusterID != 0 && d.Len() > 0 {
			// The line's cluster may have been evicted only if it was not the newest.
			if _, still := d.Cluster(r.ClusterID); still {
				t.Fatalf("line %q not matched after Add", line)
			}
		}
		if _, err := d.ExtractParameters(r.Template, line); err != nil {
			t.Fatalf("ExtractParameters(%q, %q): %v", r.Template, line, err)
		}
	})
}

// FuzzLoad checks that arbitrary bytes either load into a usable model or
// give an error, never a panic.
func FuzzLoad(f *testing.F) {
	d, _ := New(DefaultConfig())
	for _, l := range []string{"a b c", "a b d", "x", "disk <NUM> full"} {
		d.Add(l)
	}
	var good bytes.Buffer
	d.Save(&good)
	f.Add(good.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(bytes.NewReader(b))
		if err != nil {
			if m != nil {
				t.Fatal("model returned with error")
			}
			return
		}
		m.Add("a b c")
		m.Match("a b e", SearchAlways)
		var out bytes.Buffer
		if err := m.Save(&out); err != nil {
			t.Fatal(err)
		}
	})
}
