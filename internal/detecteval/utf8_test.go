package detecteval

import (
	"bytes"
	"context"
	"testing"

	"github.com/lognats/lognats/internal/nulog"
)

// Training lines with invalid UTF-8 (binary junk in a log) give a detector
// that saves and loads: JSON headers cannot carry invalid UTF-8.
func TestInvalidUTF8DetectorLoads(t *testing.T) {
	var train []string
	for i := 0; i < 30; i++ {
		train = append(train, "level=info msg=\"abc \xff\xfe def\"", "level=info msg=\"abc \xfe\xff def\"", "\xff\xfe\xfd \xfc", "level=info msg=\"ok\"")
	}
	cfg := DefaultConfig()
	cfg.Model = nulog.Config{Dim: 16, Heads: 2, FF: 32, Epochs: 2, Seed: 1}
	det, err := Train(context.Background(), train, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := det.Save(&b, "junk"); err != nil {
		t.Fatal(err)
	}
	back, err := Load(&b)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	want, _ := det.Classify(context.Background(), train[:4])
	got, _ := back.Classify(context.Background(), train[:4])
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("line %d: loaded %+v, trained %+v", i, got[i], want[i])
		}
	}
}
