package modelstore

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidName is returned for a kind, scope, bucket or reference that
	// cannot be used; names are checked before they reach NATS.
	ErrInvalidName = errors.New("invalid name")
	// ErrNotFound is returned when a model or version does not exist.
	ErrNotFound = errors.New("model not found")
	// ErrCurrentVersion is returned when asked to delete the current version.
	ErrCurrentVersion = errors.New("version is the current one")
	// ErrDigestMismatch is returned (inside *DigestError) when the bytes read
	// back do not hash to the digest recorded at put time.
	ErrDigestMismatch = errors.New("model digest mismatch")
	// ErrCorrupt is returned when an object's metadata is missing or inconsistent.
	ErrCorrupt = errors.New("model object is corrupt")
)

// DigestError names the object whose content failed its check.
type DigestError struct {
	Bucket, Object string
	Want, Got      string // hex SHA-256
	WantSize       uint64
	GotSize        uint64
}

func (e *DigestError) Error() string {
	if e.WantSize != e.GotSize {
		return fmt.Sprintf("object %s/%s: read %d bytes, expected %d (sha256 %s, expected %s): the stored model is damaged",
			e.Bucket, e.Object, e.GotSize, e.WantSize, short(e.Got), short(e.Want))
	}
	return fmt.Sprintf("object %s/%s: sha256 %s, expected %s: the stored model is damaged",
		e.Bucket, e.Object, short(e.Got), short(e.Want))
}

func (e *DigestError) Unwrap() error { return ErrDigestMismatch }

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
