package detecteval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/lognats/lognats/internal/nulog"
)

// A saved and loaded detector gives every line the verdict of the one
// that was trained, and Flag agrees with Classify.
func TestBundleRoundTrip(t *testing.T) {
	normal, failures, _ := writeSample(t)
	train, err := ReadLines(normal)
	if err != nil {
		t.Fatal(err)
	}
	test, err := ReadLines(failures)
	if err != nil {
		t.Fatal(err)
	}
	test = append(test, train[:50]...)
	cfg := DefaultConfig()
	cfg.Model = nulog.Config{Dim: 16, Heads: 2, FF: 32, Epochs: 10, Seed: 1}
	det, err := Train(context.Background(), train, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := det.Save(&b, "sample"); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	back, err := Load(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := det.Classify(context.Background(), test)
	got, _ := back.Classify(context.Background(), test)
	flagged := 0
	for i := range test {
		if got[i] != want[i] {
			t.Errorf("line %d: loaded %+v, trained %+v", i, got[i], want[i])
		}
		if f := back.Flag(test[i], back.Familiarity(back.Mask(test[i]))); f != want[i].Flagged {
			t.Errorf("line %d: Flag %v, Classify %v", i, f, want[i].Flagged)
		}
		if want[i].Flagged {
			flagged++
		}
	}
	if flagged == 0 {
		t.Error("nothing flagged")
	}
	// Every truncation and a flip of any byte is refused, never a panic.
	for n := 0; n < len(data); n += max(1, len(data)/97) {
		if _, err := Load(bytes.NewReader(data[:n])); err == nil {
			t.Fatalf("truncated to %d bytes: loaded", n)
		}
		bad := bytes.Clone(data)
		bad[n] ^= 0x01
		if _, err := Load(bytes.NewReader(bad)); !errors.Is(err, ErrBundle) {
			t.Fatalf("flip at %d: %v", n, err)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(bundleMagic + "\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Load(bytes.NewReader(data))
		if err == nil && d == nil || err != nil && !strings.Contains(err.Error(), "load detector") {
			t.Fatalf("Load: %v, %v", d, err)
		}
	})
}

// Version 1 objects (before reversal frames) still load; a version 1
// header that carries frames is refused.
func TestBundleVersion1StillLoads(t *testing.T) {
	var train []string
	for i := 0; i < 40; i++ {
		train = append(train, "level=info msg=\"Adding backend: tcp://10.0.0.1:9502\"", "level=info msg=\"heartbeat ok\"")
	}
	cfg := DefaultConfig()
	cfg.Model = nulog.Config{Dim: 16, Heads: 2, FF: 32, Epochs: 2, Seed: 1}
	det, err := Train(context.Background(), train, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	asV1 := func(d *Detector) []byte {
		var b bytes.Buffer
		if err := d.Save(&b, "v1"); err != nil {
			t.Fatal(err)
		}
		raw := b.Bytes()[:b.Len()-sha256.Size]
		binary.LittleEndian.PutUint32(raw[8:12], 1)
		sum := sha256.Sum256(raw)
		return append(bytes.Clone(raw), sum[:]...)
	}
	if _, err := Load(bytes.NewReader(asV1(det))); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "frames") {
		t.Fatalf("version 1 with frames: %v, want refused", err)
	}
	noFrames := *det
	noFrames.rev = nil
	back, err := Load(bytes.NewReader(asV1(&noFrames)))
	if err != nil {
		t.Fatalf("version 1 object: %v", err)
	}
	v, err := back.Classify(context.Background(), []string{"level=info msg=\"Removing backend: tcp://10.0.0.1:9502\""})
	if err != nil {
		t.Fatal(err)
	}
	if v[0].Reversal {
		t.Error("a version 1 detector reported a reversal")
	}
}
