package detecteval

import (
	"bytes"
	"context"
	"testing"
)

func TestStemWordFoldsInflections(t *testing.T) {
	for _, g := range [][]string{
		{"add", "adding", "added", "Adds"},
		{"remove", "removing", "removed", "Removes"},
		{"close", "closing", "closed"},
		{"stop", "stopping", "stopped"},
		{"delete", "deleted", "deleting"},
		{"fail", "failed", "failing", "fails"},
	} {
		for _, w := range g[1:] {
			if stemWord(w) != stemWord(g[0]) {
				t.Errorf("stem(%q) = %q, stem(%q) = %q", w, stemWord(w), g[0], stemWord(g[0]))
			}
		}
	}
}

func TestReversalNeedsAFamiliarMirror(t *testing.T) {
	train := []string{
		`<TS> [<ID>] time="<TS>" level=info msg="Adding backend: <URL>"`,
		`<TS> [<ID>] time="<TS>" level=info msg="Opening: <IP>"`,
		`<TS> level=info msg="Removing stale lock <PATH>"`,
		`<TS> level=info msg="Starting controller"`,
	}
	r := newReversals(collectFrames(train))
	for _, c := range []struct {
		line string
		want bool
	}{
		// A different envelope, the same message with the loss word.
		{`time="<TS>" level=info msg="Removing backend: <URL>"`, true},
		{`<TS> time="<TS>" level=info msg="Closing: <IP>"`, true},
		{`<TS> level=info msg="Stopped controller"`, true},
		// Recovery direction, unrelated lines, other context words.
		{`<TS> level=info msg="Adding stale lock <PATH>"`, false},
		{`time="<TS>" level=info msg="Removing frontend: <URL>"`, false},
		{`time="<TS>" level=info msg="Snapshot: <IP> <UUID>"`, false},
		{`<TS> level=info msg="Stopping the world"`, false},
		{``, false},
	} {
		if got := r.Reverses(c.line); got != c.want {
			t.Errorf("Reverses(%q) = %v, want %v", c.line, got, c.want)
		}
	}
	var nilRev *reversals
	if nilRev.Reverses(train[0]) {
		t.Error("a detector without frames found a reversal")
	}
}

func TestDetectorFlagsReversalAndKeepsItInTheBundle(t *testing.T) {
	var train []string
	for i := 0; i < 60; i++ {
		train = append(train,
			`time="2024-01-02T03:04:05Z" level=info msg="Adding backend: tcp://10.0.0.1:9502"`,
			`time="2024-01-02T03:04:05Z" level=info msg="Get backend tcp://10.0.0.1:9502 revision counter 7"`,
			`time="2024-01-02T03:04:05Z" level=info msg="Snapshot: 10.0.0.1:9502 created"`,
			`time="2024-01-02T03:04:05Z" level=info msg="volume pvc-1 attached to node n1"`,
		)
	}
	cfg := DefaultConfig()
	cfg.Model.Epochs = 2
	cfg.Model.MaxExamples = 2000
	det, err := Train(context.Background(), train, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		`time="2024-02-02T03:04:05Z" level=info msg="Removing backend: tcp://10.0.0.9:9502"`,
		`time="2024-02-02T03:04:05Z" level=info msg="Watching node labels for zone topology"`,
	}
	check := func(d *Detector) {
		t.Helper()
		v, err := d.Classify(context.Background(), lines)
		if err != nil {
			t.Fatal(err)
		}
		if !v[0].Reversal || !v[0].Flagged {
			t.Errorf("removing a familiar backend: %+v, want a flagged reversal", v[0])
		}
		if v[1].Reversal || v[1].Flagged {
			t.Errorf("a new benign info line: %+v, want not flagged", v[1])
		}
	}
	check(det)
	var b bytes.Buffer
	if err := det.Save(&b, "longhorn"); err != nil {
		t.Fatal(err)
	}
	back, err := Load(&b)
	if err != nil {
		t.Fatal(err)
	}
	check(back)
}
