package pipeline

import (
	"fmt"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
)

// HeaderEncoding marks a batch body compressed with S2 (block format).
// Log text compresses several times over, and every batch crosses NATS and
// the file store more than once, so compressing once at the producer saves
// more copying, disk and cache memory than it costs. Batches without the
// header are plain, so producers may skip compression.
const (
	HeaderEncoding = "Lognats-Encoding"
	encodingS2     = "s2"
	compressMin    = 2048 // smaller batches are sent as they are
)

// encodePayload compresses body into m when worthwhile.
func encodePayload(m *nats.Msg, body []byte) {
	if len(body) < compressMin {
		m.Data = body
		return
	}
	m.Data = s2.Encode(nil, body)
	m.Header.Set(HeaderEncoding, encodingS2)
}

// Payload returns the batch body of a message, decompressing into buf
// (reused when large enough). The result may alias buf.
func Payload(h nats.Header, data []byte, buf []byte) ([]byte, error) {
	switch enc := h.Get(HeaderEncoding); enc {
	case "":
		return data, nil
	case encodingS2:
		n, err := s2.DecodedLen(data)
		if err != nil {
			return nil, fmt.Errorf("s2 batch: %w", err)
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("s2 batch claims %d bytes, more than any batch holds", n)
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		out, err := s2.Decode(buf[:cap(buf)], data)
		if err != nil {
			return nil, fmt.Errorf("s2 batch: %w", err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unknown batch encoding %q", enc)
	}
}
