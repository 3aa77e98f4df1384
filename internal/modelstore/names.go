package modelstore

import (
	"fmt"
	"strconv"
	"strings"
)

// Name limits keep every derived NATS subject (object meta subjects carry the
// base64 of the object name) far below the server's 4 KiB control line, so a
// long name fails here instead of dropping the connection.
const (
	MaxKindLen   = 32
	MaxScopeLen  = 128
	MaxBucketLen = 64
	maxMetaKey   = 64
	maxMetaValue = 4096
	maxMetaTotal = 32 << 10
)

// Model names one KIND/SCOPE, e.g. drain/workload or nulog/rancher.
type Model struct {
	Kind  string `json:"kind"`
	Scope string `json:"scope"`
}

func (m Model) String() string { return m.Kind + "/" + m.Scope }

// Ref is a model and a version; Version 0 means "the current version".
type Ref struct {
	Model
	Version uint64 `json:"version"`
}

func (r Ref) String() string {
	if r.Version == 0 {
		return r.Model.String()
	}
	return fmt.Sprintf("%s@v%d", r.Model, r.Version)
}

// ObjectName is the object store name of a version: KIND/SCOPE/vN.
func (r Ref) ObjectName() string { return fmt.Sprintf("%s/%s/v%d", r.Kind, r.Scope, r.Version) }

// ParseModel parses KIND/SCOPE.
func ParseModel(s string) (Model, error) {
	kind, scope, ok := strings.Cut(s, "/")
	if !ok {
		return Model{}, fmt.Errorf("%w: %q: want KIND/SCOPE, e.g. drain/workload", ErrInvalidName, clip(s))
	}
	m := Model{Kind: kind, Scope: scope}
	return m, m.Validate()
}

// ParseRef parses KIND/SCOPE, KIND/SCOPE@vN or KIND/SCOPE@N.
func ParseRef(s string) (Ref, error) {
	name, ver, hasVer := strings.Cut(s, "@")
	m, err := ParseModel(name)
	if err != nil {
		return Ref{}, err
	}
	r := Ref{Model: m}
	if hasVer {
		v, err := strconv.ParseUint(strings.TrimPrefix(ver, "v"), 10, 63)
		if err != nil || v == 0 {
			return Ref{}, fmt.Errorf("%w: %q: version must be v1, v2, ...", ErrInvalidName, clip(s))
		}
		r.Version = v
	}
	return r, nil
}

// Validate checks kind and scope: lower-case letters, digits, '-' and '_',
// starting with a letter or digit. These are also valid KV key tokens.
func (m Model) Validate() error {
	if err := validToken("kind", m.Kind, MaxKindLen); err != nil {
		return err
	}
	return validToken("scope", m.Scope, MaxScopeLen)
}

func validToken(what, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidName, what)
	}
	if len(s) > max {
		return fmt.Errorf("%w: %s %q is %d characters, at most %d allowed", ErrInvalidName, what, clip(s), len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_'))
		if !ok {
			return fmt.Errorf("%w: %s %q: only a-z, 0-9, '-' and '_' are allowed, starting with a letter or digit", ErrInvalidName, what, clip(s))
		}
	}
	return nil
}

// ValidateBucket checks an object store or KV bucket name.
func ValidateBucket(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty bucket name", ErrInvalidName)
	}
	if len(s) > MaxBucketLen {
		return fmt.Errorf("%w: bucket %q is %d characters, at most %d allowed", ErrInvalidName, clip(s), len(s), MaxBucketLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: bucket %q: only letters, digits, '-' and '_' are allowed", ErrInvalidName, clip(s))
		}
	}
	return nil
}

func validateMeta(meta map[string]string) error {
	total := 0
	for k, v := range meta {
		if k == "" || len(k) > maxMetaKey || strings.HasPrefix(k, sysPrefix) {
			return fmt.Errorf("%w: metadata key %q: 1..%d characters, not starting with %q", ErrInvalidName, clip(k), maxMetaKey, sysPrefix)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return fmt.Errorf("%w: metadata key %q: only letters, digits, '-', '_' and '.'", ErrInvalidName, clip(k))
			}
		}
		if len(v) > maxMetaValue {
			return fmt.Errorf("%w: metadata %q value is %d bytes, at most %d", ErrInvalidName, k, len(v), maxMetaValue)
		}
		total += len(k) + len(v)
	}
	if total > maxMetaTotal {
		return fmt.Errorf("%w: metadata totals %d bytes, at most %d", ErrInvalidName, total, maxMetaTotal)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
