package main

import (
	"os"
	"testing"
)

func TestZZProf(t *testing.T) {
	p := os.Getenv("CORPUS")
	if p == "" {
		t.Skip()
	}
	for range 3 {
		f, _ := os.Open(p)
		mn, _ := newMiner(defaultMiningConfig())
		n, err := mineReader(f, mn, nil)
		f.Close()
		t.Log(n, err, mn.d.Len())
	}
}
