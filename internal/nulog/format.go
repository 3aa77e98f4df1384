package nulog

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
)

// The model file is one object in a safetensors-style layout, documented in
// docs/formats/nulog-model.md:
//
//	uint64 little-endian N | N bytes of JSON header (space padded) | float32 LE data
//
// Loading is strict: every size, offset, shape, name and value is checked
// before use, so a truncated or corrupted object is an error and never a
// panic or a huge allocation.

const (
	formatName    = "lognats-nulog"
	formatVersion = 1
	maxHeaderLen  = 64 << 20
	dtypeF32      = "F32"
	sumPrefix     = `{"sha256":"`
	zeroSum       = "0000000000000000000000000000000000000000000000000000000000000000"
	maxParams     = 64 << 20 // 256 MiB of float32, far above lognats models
)

type tensorHeader struct {
	Name        string   `json:"name"`
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

type fileHeader struct {
	// SHA256 must stay the first field: the checksum covers the header with
	// these 64 hex digits set to '0', then the data section.
	SHA256        string         `json:"sha256"`
	Format        string         `json:"format"`
	FormatVersion int            `json:"format_version"`
	Config        Config         `json:"config"`
	Vocab         []string       `json:"vocab"`
	Threshold     float64        `json:"threshold"`
	Stats         TrainStats     `json:"stats"`
	Tensors       []tensorHeader `json:"tensors"`
}

// Save writes the model as one object (see docs/formats/nulog-model.md).
func (m *Model) Save(w io.Writer) error {
	h := fileHeader{
		SHA256: zeroSum, Format: formatName, FormatVersion: formatVersion, Config: m.cfg,
		Vocab: m.tok.vocab, Threshold: m.threshold, Stats: m.stats,
	}
	var off int64
	for _, s := range m.specs {
		n := int64(s.size()) * 4
		h.Tensors = append(h.Tensors, tensorHeader{Name: s.name, DType: dtypeF32, Shape: s.shape, DataOffsets: [2]int64{off, off + n}})
		off += n
	}
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false) // keep <MASK> readable in the header
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("save nulog model: header: %w", err)
	}
	js := bytes.TrimRight(hb.Bytes(), "\n")
	// Pad to 8 bytes so the data starts aligned, as safetensors does.
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	data := make([]byte, 4*len(m.flat))
	for i, v := range m.flat {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	sum := sha256.New()
	sum.Write(js)
	sum.Write(data)
	copy(js[len(sumPrefix):], hex.EncodeToString(sum.Sum(nil)))
	bw := bufio.NewWriter(w)
	var n8 [8]byte
	binary.LittleEndian.PutUint64(n8[:], uint64(len(js)))
	bw.Write(n8[:])
	bw.Write(js)
	bw.Write(data)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("save nulog model: %w", err)
	}
	return nil
}

// Load reads a model written by Save. Anything that does not match the
// format exactly is an error.
func Load(r io.Reader) (*Model, error) {
	m, err := load(r, true)
	if err != nil {
		return nil, fmt.Errorf("load nulog model: %w", err)
	}
	return m, nil
}

// load reads a model; verify=false skips only the checksum, so tests and
// the fuzzer can reach the structural checks behind it.
func load(r io.Reader, verify bool) (*Model, error) {
	br := bufio.NewReader(r)
	var n8 [8]byte
	if _, err := io.ReadFull(br, n8[:]); err != nil {
		return nil, fmt.Errorf("header length: %w", err)
	}
	hl := binary.LittleEndian.Uint64(n8[:])
	if hl < 2 || hl > maxHeaderLen {
		return nil, fmt.Errorf("header length %d out of range", hl)
	}
	hb := make([]byte, hl)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("header (%d bytes): %w", hl, err)
	}
	// The checksum comes first in the header (see fileHeader).
	if len(hb) < len(sumPrefix)+64+1 || string(hb[:len(sumPrefix)]) != sumPrefix || hb[len(sumPrefix)+64] != '"' {
		return nil, errors.New(`header does not start with {"sha256":"<64 hex digits>"`)
	}
	want := string(hb[len(sumPrefix) : len(sumPrefix)+64])
	sum := sha256.New()
	sum.Write(hb[:len(sumPrefix)])
	sum.Write([]byte(zeroSum))
	sum.Write(hb[len(sumPrefix)+64:])
	var h fileHeader
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("header json: %w", err)
	}
	if rest := strings.TrimRight(string(hb[dec.InputOffset():]), " "); rest != "" {
		return nil, errors.New("header json: trailing data")
	}
	if h.Format != formatName {
		return nil, fmt.Errorf("format %q, want %q", h.Format, formatName)
	}
	if h.FormatVersion != formatVersion {
		return nil, fmt.Errorf("format version %d not supported (want %d)", h.FormatVersion, formatVersion)
	}
	cfg := h.Config
	if err := cfg.validateShape(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg.Workers = runtime.GOMAXPROCS(0)
	if err := checkVocab(h.Vocab, cfg); err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	if math.IsNaN(h.Threshold) || h.Threshold < 0 || h.Threshold > 1 {
		return nil, fmt.Errorf("threshold %v out of [0,1]", h.Threshold)
	}
	specs := tensorSpecs(cfg, len(h.Vocab))
	if len(h.Tensors) != len(specs) {
		return nil, fmt.Errorf("%d tensors, config needs %d", len(h.Tensors), len(specs))
	}
	var off int64
	for i, s := range specs {
		t := h.Tensors[i]
		if t.Name != s.name {
			return nil, fmt.Errorf("tensor %d is %q, want %q", i, t.Name, s.name)
		}
		if t.DType != dtypeF32 {
			return nil, fmt.Errorf("tensor %s: dtype %q, want %s", s.name, t.DType, dtypeF32)
		}
		if !equalInts(t.Shape, s.shape) {
			return nil, fmt.Errorf("tensor %s: shape %v, want %v", s.name, t.Shape, s.shape)
		}
		n := int64(s.size()) * 4
		if t.DataOffsets != [2]int64{off, off + n} {
			return nil, fmt.Errorf("tensor %s: data offsets %v, want %v", s.name, t.DataOffsets, [2]int64{off, off + n})
		}
		off += n
	}
	if off/4 > maxParams {
		return nil, fmt.Errorf("%d parameters exceed the limit of %d", off/4, maxParams)
	}
	// Read in chunks so a truncated object with a large claimed size fails
	// before much memory is committed.
	flat := make([]float32, 0, min(off/4, 1<<16))
	chunk := make([]byte, 1<<18)
	for done := int64(0); done < off; {
		b := chunk[:min(int64(len(chunk)), off-done)]
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("tensor data truncated at byte %d of %d: %w", done, off, err)
		}
		sum.Write(b)
		for i := 0; i < len(b); i += 4 {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("tensor data: non-finite value at byte %d", done+int64(i))
			}
			flat = append(flat, v)
		}
		done += int64(len(b))
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, errors.New("trailing data after the last tensor")
	}
	if got := hex.EncodeToString(sum.Sum(nil)); verify && got != want {
		return nil, fmt.Errorf("checksum mismatch (header says %s, content hashes to %s): object corrupt", want, got)
	}
	m, err := newModel(cfg, newTokenizer(h.Vocab, cfg.MaxLen), flat)
	if err != nil {
		return nil, err
	}
	m.threshold, m.stats = h.Threshold, h.Stats
	return m, nil
}

func checkVocab(v []string, c Config) error {
	if len(v) <= numSpecial || len(v) > c.MaxVoc {
		return fmt.Errorf("size %d out of range %d..%d", len(v), numSpecial+1, c.MaxVoc)
	}
	seen := make(map[string]bool, len(v))
	for i, w := range v {
		if i < numSpecial && w != specialTokens[i] {
			return fmt.Errorf("id %d is %q, want %q", i, w, specialTokens[i])
		}
		if w == "" || seen[w] {
			return fmt.Errorf("id %d: empty or duplicate token %q", i, w)
		}
		seen[w] = true
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Fingerprint identifies what determines a model's scores: sizes, top-k,
// vocabulary and weights (not the threshold, which only decides what a
// score means). Score caches are bound to it.
func (m *Model) Fingerprint() [32]byte {
	h := sha256.New()
	c := m.cfg
	fmt.Fprintf(h, "%s/%d/%d/%d/%d/%d/%d/%d/%d\x00", formatName, c.Layers, c.Dim, c.Heads, c.FF, c.MaxLen, c.MaxVoc, c.TopK, len(m.tok.vocab))
	for _, w := range m.tok.vocab {
		h.Write([]byte(w))
		h.Write([]byte{0})
	}
	var b4 [4]byte
	for _, v := range m.flat {
		binary.LittleEndian.PutUint32(b4[:], math.Float32bits(v))
		h.Write(b4[:])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
