package nulog

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func savedTiny(t testing.TB) []byte {
	t.Helper()
	cfg := Config{Dim: 8, Heads: 2, FF: 8, MaxLen: 12, Epochs: 1, Seed: 3, MinFreq: 1}
	m, err := Train(context.Background(), synthLines(60, 1), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadRejectsCorruption(t *testing.T) {
	good := savedTiny(t)
	if _, err := Load(bytes.NewReader(good)); err != nil {
		t.Fatalf("good model: %v", err)
	}
	hl := int(binary.LittleEndian.Uint64(good))
	cases := map[string][]byte{
		"empty":          nil,
		"truncated head": good[:4],
		"truncated json": good[:8+hl/2],
		"truncated data": good[:len(good)-3],
		"trailing byte":  append(append([]byte(nil), good...), 0),
		"nan weight":     append(append([]byte(nil), good[:len(good)-4]...), 0x00, 0x00, 0xc0, 0x7f),
		"huge header":    append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, good[8:]...),
	}
	replace := func(old, new string) []byte {
		h := strings.Replace(string(good[8:8+hl]), old, new, 1)
		for len(h) < hl {
			h += " "
		}
		if len(h) != hl {
			t.Fatalf("replacement %q changes header length", new)
		}
		return append(append(append([]byte(nil), good[:8]...), h...), good[8+hl:]...)
	}
	cases["version"] = replace(`"format_version":1`, `"format_version":2`)
	cases["shape"] = replace(`"shape":[8]`, `"shape":[9]`)
	cases["dtype"] = replace(`"dtype":"F32"`, `"dtype":"F16"`)
	cases["special token"] = replace(`"<MASK>"`, `"<MASQ>"`)
	cases["unknown field"] = replace(`"threshold"`, `"thresh0ld"`)
	cases["heads"] = replace(`"heads":2`, `"heads":3`)
	for name, b := range cases {
		// Skip the checksum so each case reaches the check it targets.
		if _, err := load(bytes.NewReader(b), false); err == nil {
			t.Errorf("%s: corrupt model accepted", name)
		}
		if _, err := Load(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: corrupt model accepted", name)
		} else if !strings.HasPrefix(err.Error(), "load nulog model: ") {
			t.Errorf("%s: error %q does not name the object", name, err)
		}
	}
	// Every single-bit flip anywhere is refused, whether it breaks the
	// structure or only changes a weight (the checksum catches those).
	for i := 0; i < len(good); i += 1 + i/64 {
		b := append([]byte(nil), good...)
		b[i] ^= 1 << (i % 8)
		if _, err := Load(bytes.NewReader(b)); err == nil {
			t.Fatalf("bit flip at byte %d accepted", i)
		}
	}
}

func TestCacheRoundTrip(t *testing.T) {
	m, _ := trainTiny(t)
	c := NewCache(10000)
	lines := synthLines(50, 8)
	s, err := m.ScoreLines(context.Background(), lines, c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Save(&buf, m); err != nil {
		t.Fatal(err)
	}
	c2, err := LoadCache(bytes.NewReader(buf.Bytes()), m, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Len() != c.Len() {
		t.Fatalf("len %d, want %d", c2.Len(), c.Len())
	}
	for i, l := range lines {
		if got, ok := c2.Get(l); !ok || got != s[i] {
			t.Fatalf("%q: cached %+v %v, want %+v", l, got, ok, s[i])
		}
	}
	other, _ := Train(context.Background(), synthLines(100, 2), Config{Dim: 8, Heads: 2, FF: 8, Epochs: 1}, nil)
	if _, err := LoadCache(bytes.NewReader(buf.Bytes()), other, 100); err == nil {
		t.Fatal("cache for another model accepted")
	}
	if _, err := LoadCache(bytes.NewReader(buf.Bytes()[:buf.Len()-1]), m, 100); err == nil {
		t.Fatal("truncated cache accepted")
	}
}

func TestCacheBounded(t *testing.T) {
	c := NewCache(64)
	for i := 0; i < 10000; i++ {
		c.Put(strings.Repeat("x", i%97)+string(rune('a'+i%26))+string(rune(i)), Score{Value: 1})
	}
	if n := c.Len(); n > 64+cacheShards {
		t.Fatalf("cache holds %d lines, capacity 64", n)
	}
}

// FuzzLoad feeds arbitrary bytes to the reader: it must return a model or
// an error, never panic or hang. The seed corpus in testdata/fuzz/FuzzLoad
// holds a valid tiny model and corrupted variants.
func FuzzLoad(f *testing.F) {
	good := savedTiny(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		Load(bytes.NewReader(b))
		m, err := load(bytes.NewReader(b), false)
		if err == nil {
			// A model that loads must score without panicking.
			m.ScoreLine(`time="<TS>" level=info msg="Listening on <IP>:<NUM>"`)
		}
	})
}

// TestWriteFuzzSeeds regenerates the checked-in seed corpus when
// NULOG_WRITE_FUZZ_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("NULOG_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set NULOG_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz/FuzzLoad")
	}
	good := savedTiny(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)-10] ^= 0x40
	for name, b := range map[string][]byte{"valid": good, "truncated": good[:len(good)-7], "bitflip": flip, "header-only": good[:8+int(binary.LittleEndian.Uint64(good))]} {
		content := "go test fuzz v1\n[]byte(" + quoteBytes(b) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func quoteBytes(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			sb.WriteString("\\x")
			sb.WriteByte("0123456789abcdef"[c>>4])
			sb.WriteByte("0123456789abcdef"[c&15])
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
