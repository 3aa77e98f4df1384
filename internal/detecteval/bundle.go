package detecteval

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/mask"
	"github.com/lognats/lognats/internal/nulog"
)

// A detector is stored as one object, so that the model, the templates and
// the rule that together make a verdict can never be paired with the wrong
// partner:
//
//	"LNDETECT" | uint32 version | uint32 H | H bytes JSON header |
//	uint64 M | M bytes nulog model (docs/formats/nulog-model.md) |
//	uint64 D | D bytes DRAIN snapshot (docs/formats/drain-snapshot.md) |
//	32 bytes SHA-256 of everything before it
//
// all little-endian. The trailing digest makes any truncation or bit flip
// an error before a byte is parsed; each part is then loaded by its own
// strict reader. Version 2 adds the header's "frames" (the familiar lines
// reversals are looked up in); version 1 objects still load, without them.
const (
	BundleFormat  = "lognats-detector"
	BundleVersion = 2
	bundleMagic   = "LNDETECT"
	// maxBundle bounds what Load reads into memory; lognats detectors are a
	// few MiB.
	maxBundle       = 512 << 20
	maxBundleHeader = 32 << 20
)

// bundleHeader describes the parts; unknown fields are refused.
type bundleHeader struct {
	Format    string      `json:"format"`
	Source    string      `json:"source,omitempty"`
	Rule      Rule        `json:"rule"`
	Mask      mask.Config `json:"mask"`
	Templates int         `json:"templates"`
	// Frames: training lines (as words, envelope dropped) that hold a gain
	// word of a life-cycle pair; version 2 and later.
	Frames []string `json:"frames,omitempty"`
}

// LooksLikeBundle reports whether the first bytes of an object are a
// detector's magic, for a cheap warning before a full Load.
func LooksLikeBundle(head []byte) bool {
	return len(head) >= len(bundleMagic) && string(head[:len(bundleMagic)]) == bundleMagic
}

// ErrBundle is wrapped by every error Load returns for a damaged object.
var ErrBundle = errors.New("invalid detector object")

// Save writes the detector as one object (see the layout above). Only a
// detector built on DRAIN (Train, or TrainWith a DRAIN miner) can be saved.
func (d *Detector) Save(w io.Writer, source string) error {
	dm, ok := d.miner.(*drainMiner)
	if !ok {
		return errors.New("save detector: its template miner is not DRAIN")
	}
	var model, tmpl bytes.Buffer
	if err := d.model.Save(&model); err != nil {
		return fmt.Errorf("save detector: %w", err)
	}
	dm.mu.Lock()
	err := dm.d.Save(&tmpl)
	n := dm.d.Len()
	dm.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save detector: %w", err)
	}
	var frames []string
	if d.rev != nil {
		frames = d.rev.frames
	}
	hdr, err := json.Marshal(bundleHeader{Format: BundleFormat, Source: source, Rule: d.cfg.Rule, Mask: d.cfg.Mask, Templates: n, Frames: frames})
	if err != nil {
		return fmt.Errorf("save detector: %w", err)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString(bundleMagic)
	b.Write(le.AppendUint32(nil, BundleVersion))
	b.Write(le.AppendUint32(nil, uint32(len(hdr))))
	b.Write(hdr)
	b.Write(le.AppendUint64(nil, uint64(model.Len())))
	b.Write(model.Bytes())
	b.Write(le.AppendUint64(nil, uint64(tmpl.Len())))
	b.Write(tmpl.Bytes())
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("save detector: %w", err)
	}
	return nil
}

func bundleErr(format string, args ...any) error {
	return fmt.Errorf("load detector: "+format+": %w", append(args, ErrBundle)...)
}

// Load reads a detector written by Save. A truncated, bit-flipped or
// foreign object is an error wrapping ErrBundle (or the part reader's
// error), never a panic or a partly built detector.
func Load(r io.Reader) (*Detector, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxBundle+1))
	if err != nil {
		return nil, fmt.Errorf("load detector: %w", err)
	}
	if len(raw) > maxBundle {
		return nil, bundleErr("larger than %d bytes", maxBundle)
	}
	fixed := len(bundleMagic) + 4 + 4
	if len(raw) < fixed+8+8+sha256.Size {
		return nil, bundleErr("truncated: %d bytes", len(raw))
	}
	if string(raw[:len(bundleMagic)]) != bundleMagic {
		return nil, bundleErr("not a detector object (bad magic)")
	}
	le := binary.LittleEndian
	version := le.Uint32(raw[8:12])
	if version < 1 || version > BundleVersion {
		return nil, bundleErr("version %d not supported (want 1 to %d)", version, BundleVersion)
	}
	body, tail := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], tail) {
		return nil, bundleErr("checksum mismatch (truncated or corrupted)")
	}
	rest := body[fixed:]
	hl := uint64(le.Uint32(raw[12:16]))
	if hl > maxBundleHeader || hl > uint64(len(rest)) {
		return nil, bundleErr("header length %d out of range", hl)
	}
	var h bundleHeader
	dec := json.NewDecoder(bytes.NewReader(rest[:hl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, bundleErr("header: %v", err)
	}
	if h.Format != BundleFormat {
		return nil, bundleErr("format %q, want %q", h.Format, BundleFormat)
	}
	if _, err := ParseRule(string(h.Rule)); err != nil {
		return nil, bundleErr("%v", err)
	}
	if version < 2 && h.Frames != nil {
		return nil, bundleErr("version %d header has frames", version)
	}
	if len(h.Frames) > maxFrames {
		return nil, bundleErr("%d frames, at most %d", len(h.Frames), maxFrames)
	}
	rest = rest[hl:]
	part := func(what string) ([]byte, error) {
		if len(rest) < 8 {
			return nil, bundleErr("%s: length missing", what)
		}
		n := le.Uint64(rest[:8])
		if n > uint64(len(rest)-8) {
			return nil, bundleErr("%s: length %d exceeds the object", what, n)
		}
		p := rest[8 : 8+n]
		rest = rest[8+n:]
		return p, nil
	}
	mb, err := part("model")
	if err != nil {
		return nil, err
	}
	db, err := part("templates")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, bundleErr("%d bytes after the templates", len(rest))
	}
	model, err := nulog.Load(bytes.NewReader(mb))
	if err != nil {
		return nil, fmt.Errorf("load detector: %w", err)
	}
	dr, err := drain.Load(bytes.NewReader(db))
	if err != nil {
		return nil, fmt.Errorf("load detector: %w", err)
	}
	mk, err := mask.New(h.Mask)
	if err != nil {
		return nil, bundleErr("mask config: %v", err)
	}
	cfg := Config{Model: model.Config(), Drain: dr.Config(), Mask: h.Mask, Rule: h.Rule}
	return newDetector(cfg, mk, &drainMiner{d: dr}, model, newReversals(h.Frames)), nil
}
