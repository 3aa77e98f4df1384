// Package modelstore keeps lognats models in NATS JetStream Object Store:
// immutable, digest-checked versions KIND/SCOPE@vN, a "current" pointer per
// model in a KV bucket moved by compare-and-set only after a version is fully
// written and checked, retention, garbage collection of interrupted puts, and
// change notifications for hot reload. See docs/architecture.md.
package modelstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults follow Opni's proposal for bucket names.
const (
	DefaultModelBucket   = "opnilogmodelbucket"
	DefaultDrainBucket   = "drainmodelbucket"
	DefaultPointerBucket = "lognats-models"
	DefaultKeep          = 5
	DefaultChunkSize     = 1 << 20
	DefaultGCGrace       = 5 * time.Minute
)

// sysPrefix marks metadata keys owned by lognats; user keys may not use it.
const sysPrefix = "lognats-"

const (
	metaKind          = sysPrefix + "kind"
	metaScope         = sysPrefix + "scope"
	metaVersion       = sysPrefix + "version"
	metaFormat        = sysPrefix + "format"
	metaFormatVersion = sysPrefix + "format-version"
	metaCreated       = sysPrefix + "created"
	metaParent        = sysPrefix + "parent"
)

// Config says where models live. Zero values take the defaults.
type Config struct {
	ModelBucket   string // deep-learning and other non-DRAIN models
	DrainBucket   string // kind "drain"
	PointerBucket string // KV bucket with current pointers and version counters
	Replicas      int    // 1 on one server, 3 on a cluster
	// Keep is how many versions per model retention keeps (the current one is
	// always kept on top). Negative keeps everything.
	Keep      int
	ChunkSize uint32
	Logger    *slog.Logger
}

// Validate checks the configuration as Open would, without connecting.
func (c Config) Validate() error { return c.defaults() }

func (c *Config) defaults() error {
	if c.ModelBucket == "" {
		c.ModelBucket = DefaultModelBucket
	}
	if c.DrainBucket == "" {
		c.DrainBucket = DefaultDrainBucket
	}
	if c.PointerBucket == "" {
		c.PointerBucket = DefaultPointerBucket
	}
	for _, b := range []string{c.ModelBucket, c.DrainBucket, c.PointerBucket} {
		if err := ValidateBucket(b); err != nil {
			return err
		}
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("replicas %d: must be between 1 and 5", c.Replicas)
	}
	if c.Keep == 0 {
		c.Keep = DefaultKeep
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// retireTimeout bounds retention after a put.
const retireTimeout = 10 * time.Second

// ChunkAckTimeout bounds the wait for the server's acknowledgement of one
// chunk of a put.
const ChunkAckTimeout = 30 * time.Second

// Store is a handle on the model buckets. It is safe for concurrent use.
type Store struct {
	cfg     Config
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	buckets map[string]jetstream.ObjectStore
	chunk   uint32
	logger  *slog.Logger
}

// Open binds to (creating if needed) the object store buckets and the pointer KV bucket.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	// A chunk acknowledgement lost when a stream leader dies would
	// otherwise hold a put until its context ends; fail it and let the
	// caller retry.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ChunkAckTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	s := &Store{cfg: cfg, js: js, buckets: map[string]jetstream.ObjectStore{}, logger: cfg.Logger}
	ctx, cancel := withRequestTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, b := range []string{cfg.ModelBucket, cfg.DrainBucket} {
		obs, err := js.ObjectStore(ctx, b)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
				Bucket:      b,
				Description: "lognats model versions",
				Storage:     jetstream.FileStorage,
				Replicas:    cfg.Replicas,
			})
			if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				obs, err = js.ObjectStore(ctx, b)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("open object store bucket %s: %w", b, err)
		}
		s.buckets[b] = obs
	}
	kv, err := js.KeyValue(ctx, cfg.PointerBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      cfg.PointerBucket,
			Description: "lognats current model pointers and version counters",
			History:     8,
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = js.KeyValue(ctx, cfg.PointerBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", cfg.PointerBucket, err)
	}
	s.kv = kv
	s.chunk = cfg.ChunkSize
	// A chunk plus its headers must fit the server's max_payload.
	if mp := nc.MaxPayload(); mp > 0 && int64(s.chunk) > mp-4096 {
		s.chunk = uint32(mp - 4096)
	}
	return s, nil
}

// Config returns the effective configuration.
func (s *Store) Config() Config { return s.cfg }

// BucketFor is the object store bucket that holds models of a kind.
func (s *Store) BucketFor(kind string) string {
	if kind == "drain" {
		return s.cfg.DrainBucket
	}
	return s.cfg.ModelBucket
}

func (s *Store) obs(kind string) jetstream.ObjectStore { return s.buckets[s.BucketFor(kind)] }

// Version describes one stored model version.
type Version struct {
	Ref
	Bucket        string            `json:"bucket"`
	Object        string            `json:"object"`
	Format        string            `json:"format,omitempty"`
	FormatVersion int               `json:"format_version,omitempty"`
	Created       time.Time         `json:"created"`
	Size          uint64            `json:"size"`
	SHA256        string            `json:"sha256"`
	Parent        uint64            `json:"parent,omitempty"`
	Chunks        uint32            `json:"chunks"`
	Meta          map[string]string `json:"meta,omitempty"`
	Current       bool              `json:"current"`
}

// pointer is the value of current.KIND.SCOPE in the KV bucket.
type pointer struct {
	Version uint64    `json:"version"`
	Bucket  string    `json:"bucket"`
	Object  string    `json:"object"`
	SHA256  string    `json:"sha256"`
	Size    uint64    `json:"size"`
	Moved   time.Time `json:"moved"`
}

func currentKey(m Model) string { return "current." + m.Kind + "." + m.Scope }
func seqKey(m Model) string     { return "seq." + m.Kind + "." + m.Scope }

// PutOptions describe a new version.
type PutOptions struct {
	Format        string
	FormatVersion int
	Meta          map[string]string
	// NoPromote leaves the current pointer where it is.
	NoPromote bool
	// Progress, if set, is called with the bytes sent so far.
	Progress func(sent int64)
}

// Put stores r as a new version of m and, unless opts.NoPromote, makes it
// current if no newer version became current meanwhile. The pointer moves
// only after the object is completely written and the server's digest equals
// the one computed here. A put that fails leaves no visible version.
func (s *Store) Put(ctx context.Context, m Model, r io.Reader, opts PutOptions) (Version, error) {
	if err := m.Validate(); err != nil {
		return Version{}, err
	}
	if err := validateMeta(opts.Meta); err != nil {
		return Version{}, err
	}
	if opts.Format != "" {
		if err := validToken("format", opts.Format, 64); err != nil {
			return Version{}, err
		}
	}
	cur, _, err := s.current(ctx, m)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Version{}, err
	}
	v, err := s.nextVersion(ctx, m)
	if err != nil {
		return Version{}, err
	}
	ref := Ref{Model: m, Version: v}
	name := ref.ObjectName()
	created := time.Now().UTC()
	md := map[string]string{
		metaKind:    m.Kind,
		metaScope:   m.Scope,
		metaVersion: strconv.FormatUint(v, 10),
		metaCreated: created.Format(time.RFC3339Nano),
	}
	if opts.Format != "" {
		md[metaFormat] = opts.Format
		md[metaFormatVersion] = strconv.Itoa(opts.FormatVersion)
	}
	if cur.Version > 0 {
		md[metaParent] = strconv.FormatUint(cur.Version, 10)
	}
	for k, val := range opts.Meta {
		md[k] = val
	}
	// The client hashes every byte as it sends it (the object's SHA-256
	// digest); hashing again here would only halve put throughput.
	src := r
	if opts.Progress != nil {
		src = &progressReader{r: src, fn: opts.Progress}
	}
	obs := s.obs(m.Kind)
	bucket := s.BucketFor(m.Kind)
	info, err := obs.Put(ctx, jetstream.ObjectMeta{
		Name:        name,
		Description: fmt.Sprintf("lognats model %s", ref),
		Metadata:    md,
		Opts:        &jetstream.ObjectMetaOptions{ChunkSize: s.chunk},
	}, src)
	if err != nil {
		// The put may have failed after its metadata was stored (e.g. the
		// caller gave up while acknowledgements were in flight): remove
		// whatever is there, so a failed put never leaves a version behind.
		// Chunks without metadata are left to GC.
		wait := 10 * time.Second
		if !s.js.Conn().IsConnected() {
			wait = 2 * time.Second // do not hold an interrupted user long for a cleanup GC also does
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
		if derr := obs.Delete(cctx, name); derr == nil {
			_ = s.purgeMeta(cctx, bucket, name)
		}
		cancel()
		return Version{}, fmt.Errorf("put object %s/%s: %w", bucket, name, err)
	}
	// Ask the server what it holds rather than trusting our own bookkeeping:
	// the metadata it stored, and that every chunk we sent is in the stream.
	ver, err := s.checkStored(ctx, bucket, name, info)
	if err != nil {
		return Version{}, err
	}
	ver.Created = created
	if !opts.NoPromote {
		moved, err := s.advance(ctx, ver)
		if err != nil {
			return ver, fmt.Errorf("stored %s but could not make it current: %w", ref, err)
		}
		ver.Current = moved
	}
	if err := s.retire(ctx, ver); err != nil {
		s.logger.Warn("retention failed", "model", m.String(), "err", err)
	}
	return ver, nil
}

func (s *Store) checkStored(ctx context.Context, bucket, name string, sent *jetstream.ObjectInfo) (Version, error) {
	ctx, cancel := withRequestTimeout(ctx, 30*time.Second)
	defer cancel()
	stored, err := s.buckets[bucket].GetInfo(ctx, name)
	// On a replicated bucket the read may be answered by a follower that
	// has not applied the metadata yet (direct get): give it a moment.
	for wait := 50 * time.Millisecond; errors.Is(err, jetstream.ErrObjectNotFound) && wait < 5*time.Second && ctx.Err() == nil; wait *= 2 {
		time.Sleep(wait)
		stored, err = s.buckets[bucket].GetInfo(ctx, name)
	}
	if err != nil {
		return Version{}, fmt.Errorf("check object %s/%s after put: %w", bucket, name, err)
	}
	ver, err := versionFromInfo(stored)
	if err != nil {
		return Version{}, err
	}
	if stored.Digest != sent.Digest || stored.Size != sent.Size || stored.NUID != sent.NUID {
		return Version{}, fmt.Errorf("%w: object %s/%s: server holds digest %s size %d, sent %s size %d", ErrCorrupt, bucket, name, stored.Digest, stored.Size, sent.Digest, sent.Size)
	}
	if sent.Chunks > 0 {
		st, err := s.stream(ctx, bucket)
		if err != nil {
			return Version{}, err
		}
		subj := "$O." + bucket + ".C." + sent.NUID
		si, err := st.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			return Version{}, fmt.Errorf("count chunks of %s/%s: %w", bucket, name, err)
		}
		if got := si.State.Subjects[subj]; got != uint64(sent.Chunks) {
			return Version{}, fmt.Errorf("%w: object %s/%s: server holds %d chunks, sent %d", ErrCorrupt, bucket, name, got, sent.Chunks)
		}
	}
	return ver, nil
}

type progressReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	p.fn(p.n)
	return n, err
}

// nextVersion allocates a version number with compare-and-set on a counter
// key, so concurrent writers never get the same number.
func (s *Store) nextVersion(ctx context.Context, m Model) (uint64, error) {
	key := seqKey(m)
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		cctx, cancel := withRequestTimeout(ctx, 10*time.Second)
		e, err := s.kv.Get(cctx, key)
		var next uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			next = 1
			_, err = s.kv.Create(cctx, key, []byte("1"))
		case err != nil:
			cancel()
			return 0, fmt.Errorf("read version counter %s: %w", key, err)
		default:
			last, perr := strconv.ParseUint(string(e.Value()), 10, 64)
			if perr != nil {
				cancel()
				return 0, fmt.Errorf("%w: version counter %s holds %q", ErrCorrupt, key, e.Value())
			}
			next = last + 1
			_, err = s.kv.Update(cctx, key, []byte(strconv.FormatUint(next, 10)), e.Revision())
		}
		cancel()
		if err == nil {
			return next, nil
		}
		if !isConflict(err) || attempt > 1000 {
			return 0, fmt.Errorf("allocate version for %s: %w", m, err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(5*time.Millisecond) + int64(attempt)*int64(time.Millisecond))))
	}
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// current reads the pointer of m; ErrNotFound if m has none.
func (s *Store) current(ctx context.Context, m Model) (pointer, uint64, error) {
	ctx, cancel := withRequestTimeout(ctx, 10*time.Second)
	defer cancel()
	e, err := s.kv.Get(ctx, currentKey(m))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return pointer{}, 0, fmt.Errorf("%w: %s has no current version", ErrNotFound, m)
	}
	if err != nil {
		return pointer{}, 0, fmt.Errorf("read current pointer of %s: %w", m, err)
	}
	var p pointer
	if err := json.Unmarshal(e.Value(), &p); err != nil || p.Version == 0 {
		return pointer{}, 0, fmt.Errorf("%w: current pointer of %s is unreadable", ErrCorrupt, m)
	}
	return p, e.Revision(), nil
}

// advance moves the pointer to v unless it already points at v or newer.
func (s *Store) advance(ctx context.Context, v Version) (bool, error) {
	return s.setPointer(ctx, v, func(cur uint64) bool { return cur < v.Version })
}

// setPointer is a compare-and-set loop on the current key.
func (s *Store) setPointer(ctx context.Context, v Version, should func(cur uint64) bool) (bool, error) {
	p := pointer{Version: v.Version, Bucket: v.Bucket, Object: v.Object, SHA256: v.SHA256, Size: v.Size}
	key := currentKey(v.Model)
	for attempt := 0; ; attempt++ {
		cur, rev, err := s.current(ctx, v.Model)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		if !should(cur.Version) {
			return false, nil
		}
		p.Moved = time.Now().UTC()
		b, _ := json.Marshal(p)
		cctx, cancel := withRequestTimeout(ctx, 10*time.Second)
		if rev == 0 {
			_, err = s.kv.Create(cctx, key, b)
		} else {
			_, err = s.kv.Update(cctx, key, b, rev)
		}
		cancel()
		if err == nil {
			return true, nil
		}
		if !isConflict(err) || attempt > 1000 {
			return false, fmt.Errorf("move current pointer of %s to v%d: %w", v.Model, v.Version, err)
		}
	}
}

func versionFromInfo(info *jetstream.ObjectInfo) (Version, error) {
	md := info.Metadata
	bad := func(what string) (Version, error) {
		return Version{}, fmt.Errorf("%w: object %s/%s: %s", ErrCorrupt, info.Bucket, info.Name, what)
	}
	if md == nil || md[metaKind] == "" {
		return bad("no lognats metadata")
	}
	ver, err := strconv.ParseUint(md[metaVersion], 10, 64)
	if err != nil {
		return bad("bad version metadata")
	}
	sum, err := jetstream.DecodeObjectDigest(info.Digest)
	if err != nil || len(sum) != sha256.Size {
		return bad("bad digest " + info.Digest)
	}
	v := Version{
		Ref:    Ref{Model: Model{Kind: md[metaKind], Scope: md[metaScope]}, Version: ver},
		Bucket: info.Bucket,
		Object: info.Name,
		Format: md[metaFormat],
		Size:   info.Size,
		SHA256: hex.EncodeToString(sum),
		Chunks: info.Chunks,
	}
	if v.Object != v.ObjectName() {
		return bad("metadata names " + v.ObjectName())
	}
	v.FormatVersion, _ = strconv.Atoi(md[metaFormatVersion])
	v.Parent, _ = strconv.ParseUint(md[metaParent], 10, 64)
	if t, err := time.Parse(time.RFC3339Nano, md[metaCreated]); err == nil {
		v.Created = t
	} else {
		v.Created = info.ModTime
	}
	for k, val := range md {
		if !strings.HasPrefix(k, sysPrefix) {
			if v.Meta == nil {
				v.Meta = map[string]string{}
			}
			v.Meta[k] = val
		}
	}
	return v, nil
}

// resolve turns a ref with version 0 into the current version.
func (s *Store) resolve(ctx context.Context, r Ref) (Ref, uint64, error) {
	if err := r.Validate(); err != nil {
		return Ref{}, 0, err
	}
	p, _, err := s.current(ctx, r.Model)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Ref{}, 0, err
	}
	if r.Version == 0 {
		if p.Version == 0 {
			return Ref{}, 0, err
		}
		r.Version = p.Version
	}
	return r, p.Version, nil
}

// Info describes one version (the current one when r.Version is 0).
func (s *Store) Info(ctx context.Context, r Ref) (Version, error) {
	r, cur, err := s.resolve(ctx, r)
	if err != nil {
		return Version{}, err
	}
	ictx, cancel := withRequestTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := s.obs(r.Kind).GetInfo(ictx, r.ObjectName())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return Version{}, fmt.Errorf("%w: %s (object %s/%s)", ErrNotFound, r, s.BucketFor(r.Kind), r.ObjectName())
	}
	if err != nil {
		return Version{}, fmt.Errorf("read info of %s/%s: %w", s.BucketFor(r.Kind), r.ObjectName(), err)
	}
	v, err := versionFromInfo(info)
	if err != nil {
		return Version{}, err
	}
	v.Current = v.Version == cur
	return v, nil
}

// Reader streams one version and checks its digest at the end: the final
// Read returns a *DigestError instead of io.EOF when the bytes are wrong.
type Reader struct {
	Version Version
	res     jetstream.ObjectResult
	ctx     context.Context // the whole read's deadline
	cancel  context.CancelFunc
	n       uint64
	err     error
}

// StallTimeout ends a read that waits this long for data. Chunks are
// at most a few MiB, so a healthy server never pauses this long; a chunk
// the server cannot read back (a damaged block file) is never delivered.
const StallTimeout = 15 * time.Second

// ReadTimeout sizes the deadline of a read to the object, so big models are
// not cut off by the client's default 5 s limit: 30 s plus 1 s per 4 MiB.
func ReadTimeout(size uint64) time.Duration {
	return 30*time.Second + time.Duration(size/(4<<20))*time.Second
}

// Open starts streaming a version. Close the reader when done.
func (s *Store) Open(ctx context.Context, r Ref) (*Reader, error) {
	v, err := s.Info(ctx, r)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, ReadTimeout(v.Size))
	dl, _ := rctx.Deadline()
	res, err := s.obs(v.Kind).Get(stallContext{Context: rctx, last: dl}, v.Object)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open object %s/%s: %w", v.Bucket, v.Object, err)
	}
	return &Reader{Version: v, res: res, ctx: rctx, cancel: cancel}, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// stallContext gives every Read of the object client a deadline of its
// own. The client reads its context's deadline at each Read and sets it
// on its pipe, so a Read that waits past it returns a timeout; a
// cancellation would not interrupt a Read in progress.
type stallContext struct {
	context.Context
	last time.Time // the whole read's deadline
}

func (c stallContext) Deadline() (time.Time, bool) {
	d := time.Now().Add(StallTimeout)
	if !c.last.IsZero() && c.last.Before(d) {
		d = c.last
	}
	return d, true
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	// The object store client hashes what it delivers and fails the final
	// read on a mismatch with the recorded digest; we add the size check and
	// an error that names the object.
	n, err := r.res.Read(p)
	r.n += uint64(n)
	switch {
	case n == 0 && len(p) > 0 && (err == nil || isTimeout(err)) && r.ctx.Err() == nil:
		// A Read reached its stall deadline (the client reports it as a
		// pipe timeout, or as nothing) while the whole read still had time.
		r.err = fmt.Errorf("read object %s/%s: the server sent nothing for %s at byte %d of %d: the stored object may be damaged (run `lognats models verify`) or the server is overloaded",
			r.Version.Bucket, r.Version.Object, StallTimeout, r.n, r.Version.Size)
	case err == io.EOF:
		if r.n != r.Version.Size {
			r.err = &DigestError{Bucket: r.Version.Bucket, Object: r.Version.Object, Want: r.Version.SHA256, Got: "(not computed)", WantSize: r.Version.Size, GotSize: r.n}
			return n, r.err
		}
		r.err = io.EOF
	case errors.Is(err, jetstream.ErrDigestMismatch):
		r.err = &DigestError{Bucket: r.Version.Bucket, Object: r.Version.Object, Want: r.Version.SHA256, Got: "(differs)", WantSize: r.Version.Size, GotSize: r.n}
	case err != nil:
		r.err = fmt.Errorf("read object %s/%s at byte %d of %d: %w", r.Version.Bucket, r.Version.Object, r.n, r.Version.Size, err)
	}
	return n, r.err
}

// Close releases the subscription behind the reader.
func (r *Reader) Close() error {
	err := r.res.Close()
	r.cancel()
	return err
}

// Get copies a version to w, checking its digest; on error w may hold a
// prefix of the object, so callers writing files should write to a temp file.
func (s *Store) Get(ctx context.Context, r Ref, w io.Writer) (Version, error) {
	rd, err := s.Open(ctx, r)
	if err != nil {
		return Version{}, err
	}
	defer rd.Close()
	if _, err := io.Copy(w, rd); err != nil {
		return rd.Version, err
	}
	return rd.Version, nil
}

// History lists the stored versions of m, newest first.
func (s *Store) History(ctx context.Context, m Model) ([]Version, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	all, err := s.list(ctx, s.BucketFor(m.Kind))
	if err != nil {
		return nil, err
	}
	p, _, err := s.current(ctx, m)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var out []Version
	for _, v := range all {
		if v.Model == m {
			v.Current = v.Version == p.Version
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, nil
}

// list reads all live lognats versions in a bucket; objects that are not
// lognats versions are skipped with a warning rather than failing the listing.
func (s *Store) list(ctx context.Context, bucket string) ([]Version, error) {
	infos, err := s.listInfos(ctx, bucket, false)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(infos))
	for _, info := range infos {
		v, err := versionFromInfo(info)
		if err != nil {
			s.logger.Warn("skipping object", "bucket", bucket, "object", info.Name, "err", err)
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Store) listInfos(ctx context.Context, bucket string, deleted bool) ([]*jetstream.ObjectInfo, error) {
	ctx, cancel := withRequestTimeout(ctx, 60*time.Second)
	defer cancel()
	var opts []jetstream.ListObjectsOpt
	if deleted {
		opts = append(opts, jetstream.ListObjectsShowDeleted())
	}
	infos, err := s.buckets[bucket].List(ctx, opts...)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list bucket %s: %w", bucket, err)
	}
	return infos, nil
}

// Summary is one model in a listing.
type Summary struct {
	Model
	Bucket   string    `json:"bucket"`
	Current  uint64    `json:"current"`
	Latest   uint64    `json:"latest"`
	Versions int       `json:"versions"`
	Size     uint64    `json:"size"`
	Updated  time.Time `json:"updated"`
}

// List summarises every model in both buckets.
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	byModel := map[Model]*Summary{}
	for _, b := range []string{s.cfg.DrainBucket, s.cfg.ModelBucket} {
		vs, err := s.list(ctx, b)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			sm := byModel[v.Model]
			if sm == nil {
				sm = &Summary{Model: v.Model, Bucket: b}
				byModel[v.Model] = sm
			}
			sm.Versions++
			if v.Version > sm.Latest {
				sm.Latest = v.Version
			}
		}
	}
	out := make([]Summary, 0, len(byModel))
	for m, sm := range byModel {
		p, _, err := s.current(ctx, m)
		if err == nil {
			sm.Current, sm.Size, sm.Updated = p.Version, p.Size, p.Moved
		}
		out = append(out, *sm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model.String() < out[j].Model.String() })
	return out, nil
}

// Delete removes a version. The current version is refused unless force.
// The delete marker the object store writes is purged too, so deleted
// versions leave nothing behind.
func (s *Store) Delete(ctx context.Context, r Ref, force bool) error {
	if r.Version == 0 {
		return fmt.Errorf("%w: delete needs an explicit version, e.g. %s@v1", ErrInvalidName, r.Model)
	}
	_, cur, err := s.resolve(ctx, r)
	if err != nil {
		return err
	}
	if r.Version == cur && !force {
		return fmt.Errorf("%w: %s is current; promote another version first", ErrCurrentVersion, r)
	}
	dctx, cancel := withRequestTimeout(ctx, 30*time.Second)
	defer cancel()
	obs := s.obs(r.Kind)
	if r.Version == cur {
		// Forced delete of the current version: drop the pointer first, so
		// no reader is ever sent to a missing object.
		if err := s.kv.Delete(dctx, currentKey(r.Model)); err != nil {
			return fmt.Errorf("remove current pointer of %s: %w", r.Model, err)
		}
	}
	if err := obs.Delete(dctx, r.ObjectName()); err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("%w: %s", ErrNotFound, r)
		}
		return fmt.Errorf("delete object %s/%s: %w", s.BucketFor(r.Kind), r.ObjectName(), err)
	}
	return s.purgeMeta(dctx, s.BucketFor(r.Kind), r.ObjectName())
}

func (s *Store) stream(ctx context.Context, bucket string) (jetstream.Stream, error) {
	st, err := s.js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("open stream of bucket %s: %w", bucket, err)
	}
	return st, nil
}

func (s *Store) purgeMeta(ctx context.Context, bucket, name string) error {
	st, err := s.stream(ctx, bucket)
	if err != nil {
		return err
	}
	subj := metaSubject(bucket, name)
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		return fmt.Errorf("purge delete marker %s: %w", subj, err)
	}
	return nil
}

func metaSubject(bucket, name string) string {
	return "$O." + bucket + ".M." + encodeName(name)
}

// Promote makes an existing version current (a rollback or roll-forward).
// The version is read in full first, so a damaged version is never promoted.
func (s *Store) Promote(ctx context.Context, r Ref) (Version, error) {
	if r.Version == 0 {
		return Version{}, fmt.Errorf("%w: promote needs an explicit version, e.g. %s@v1", ErrInvalidName, r.Model)
	}
	v, err := s.Get(ctx, r, io.Discard)
	if err != nil {
		return Version{}, err
	}
	if _, err := s.setPointer(ctx, v, func(uint64) bool { return true }); err != nil {
		return Version{}, err
	}
	v.Current = true
	return v, nil
}

// retire applies retention after putting v: the newest Keep versions of
// its model and the current one stay. It lists the bucket, which holds
// about Keep objects per model.
func (s *Store) retire(ctx context.Context, v Version) error {
	if s.cfg.Keep < 0 || v.Version <= uint64(s.cfg.Keep) {
		return nil // fewer versions than Keep were ever written
	}
	// Count the versions that exist, not version numbers: after an rm the
	// numbers have gaps, and v-Keep would be one of the versions to keep.
	// Bounded tightly: retention is housekeeping that GC repeats, and a
	// listing stalled by a cluster's leader change must not hold the put
	// (the workload DRAIN waits on its snapshots).
	ctx, cancel := withRequestTimeout(ctx, retireTimeout)
	defer cancel()
	return s.Prune(ctx, v.Model)
}

// Prune applies retention to m: the newest Keep versions and the current one stay.
func (s *Store) Prune(ctx context.Context, m Model) error {
	if s.cfg.Keep < 0 {
		return nil
	}
	vs, err := s.History(ctx, m)
	if err != nil {
		return err
	}
	var errs []error
	for i, v := range vs {
		if i < s.cfg.Keep || v.Current {
			continue
		}
		if err := s.Delete(ctx, v.Ref, false); err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCurrentVersion) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Event reports that the current version of a model moved.
type Event struct {
	Model   Model  `json:"model"`
	Version uint64 `json:"version"`
	SHA256  string `json:"sha256"`
	Initial bool   `json:"initial"` // the value at the time Watch started
}

// Watch reports current-pointer moves of m, or of every model when m is nil.
// The first events carry the pointers as they are when Watch starts, so a
// service can load and then follow without a gap. The channel closes when
// ctx ends.
func (s *Store) Watch(ctx context.Context, m *Model) (<-chan Event, error) {
	key := "current.>"
	if m != nil {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		key = currentKey(*m)
	}
	w, err := s.kv.Watch(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", key, err)
	}
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		defer w.Stop()
		initial := true
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					initial = false
					continue
				}
				if e.Operation() != jetstream.KeyValuePut {
					continue
				}
				parts := strings.SplitN(e.Key(), ".", 3)
				var p pointer
				if len(parts) != 3 || json.Unmarshal(e.Value(), &p) != nil {
					continue
				}
				ev := Event{Model: Model{Kind: parts[1], Scope: parts[2]}, Version: p.Version, SHA256: p.SHA256, Initial: initial}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Problem is one damaged version or pointer found by Verify.
type Problem struct {
	Ref    string `json:"ref"`
	Object string `json:"object"`
	Err    string `json:"error"`
}

// unlisted compares the bucket's metadata subjects, as the stream counts
// them, with the entries a listing could read: a damaged metadata message
// would otherwise just be missing from the listing, and the store would
// look clean.
func (s *Store) unlisted(ctx context.Context, bucket string) *Problem {
	all, err := s.listInfos(ctx, bucket, true)
	if err != nil {
		return &Problem{Ref: "?", Object: bucket, Err: err.Error()}
	}
	st, err := s.stream(ctx, bucket)
	if err != nil {
		return &Problem{Ref: "?", Object: bucket, Err: err.Error()}
	}
	ictx, cancel := withRequestTimeout(ctx, 30*time.Second)
	defer cancel()
	subj := "$O." + bucket + ".M.>"
	si, err := st.Info(ictx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return &Problem{Ref: "?", Object: bucket, Err: fmt.Sprintf("count metadata entries: %v", err)}
	}
	if n := len(si.State.Subjects); n > len(all) {
		return &Problem{Ref: "?", Object: bucket, Err: fmt.Sprintf("%d of %d metadata entries could not be read: the bucket's stream is damaged; versions may be missing from ls and history", n-len(all), n)}
	}
	return nil
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Checked  int       `json:"checked"`
	Bytes    uint64    `json:"bytes"`
	Problems []Problem `json:"problems"`
}

// Verify reads every version in both buckets and checks its digest, and
// checks that every current pointer names a readable version.
func (s *Store) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	for _, b := range []string{s.cfg.DrainBucket, s.cfg.ModelBucket} {
		infos, err := s.listInfos(ctx, b, false)
		if err != nil {
			return rep, err
		}
		if p := s.unlisted(ctx, b); p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
		for _, info := range infos {
			v, err := versionFromInfo(info)
			if err != nil {
				rep.Problems = append(rep.Problems, Problem{Ref: "?", Object: b + "/" + info.Name, Err: err.Error()})
				continue
			}
			rep.Checked++
			if _, err := s.Get(ctx, v.Ref, io.Discard); err != nil {
				rep.Problems = append(rep.Problems, Problem{Ref: v.Ref.String(), Object: b + "/" + v.Object, Err: err.Error()})
				continue
			}
			rep.Bytes += v.Size
		}
	}
	keys, err := s.kv.ListKeysFiltered(ctx, "current.>")
	if err != nil {
		return rep, fmt.Errorf("list current pointers: %w", err)
	}
	for k := range keys.Keys() {
		parts := strings.SplitN(k, ".", 3)
		if len(parts) != 3 {
			continue
		}
		m := Model{Kind: parts[1], Scope: parts[2]}
		if _, err := s.Info(ctx, Ref{Model: m}); err != nil {
			rep.Problems = append(rep.Problems, Problem{Ref: m.String(), Object: "pointer " + k, Err: err.Error()})
		}
	}
	return rep, nil
}

// GCReport says what GC removed.
type GCReport struct {
	OrphanPuts  int    `json:"orphan_puts"`   // interrupted puts whose chunks were purged
	Chunks      uint64 `json:"chunks"`        // chunk messages purged
	Tombstones  int    `json:"tombstones"`    // delete markers purged
	Pruned      int    `json:"pruned"`        // versions removed by retention
	BytesBefore uint64 `json:"bytes_before"`  // stream bytes of both buckets before
	BytesAfter  uint64 `json:"bytes_after"`   // and after
	Skipped     int    `json:"skipped_young"` // orphans younger than the grace period
}

// GC purges chunks that no object metadata refers to (a put killed midway),
// delete markers, and versions past retention. Chunks written less than
// grace ago are left alone: they may belong to a put still in progress.
func (s *Store) GC(ctx context.Context, grace time.Duration) (GCReport, error) {
	var rep GCReport
	for _, b := range []string{s.cfg.DrainBucket, s.cfg.ModelBucket} {
		st, err := s.stream(ctx, b)
		if err != nil {
			return rep, err
		}
		before, err := st.Info(ctx)
		if err != nil {
			return rep, fmt.Errorf("stream info of bucket %s: %w", b, err)
		}
		rep.BytesBefore += before.State.Bytes
		infos, err := s.listInfos(ctx, b, true)
		if err != nil {
			return rep, err
		}
		live := map[string]bool{}
		for _, info := range infos {
			if info.Deleted {
				if time.Since(info.ModTime) >= grace {
					if err := s.purgeMeta(ctx, b, info.Name); err != nil {
						return rep, err
					}
					rep.Tombstones++
				}
				continue
			}
			live[info.NUID] = true
		}
		chunkPrefix := "$O." + b + ".C."
		si, err := st.Info(ctx, jetstream.WithSubjectFilter(chunkPrefix+">"))
		if err != nil {
			return rep, fmt.Errorf("list chunk subjects of bucket %s: %w", b, err)
		}
		for subj, count := range si.State.Subjects {
			nuid := strings.TrimPrefix(subj, chunkPrefix)
			if live[nuid] {
				continue
			}
			last, err := st.GetLastMsgForSubject(ctx, subj)
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgNotFound) {
					continue
				}
				return rep, fmt.Errorf("read last chunk of %s: %w", subj, err)
			}
			if time.Since(last.Time) < grace {
				rep.Skipped++
				continue
			}
			if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
				return rep, fmt.Errorf("purge orphan chunks %s: %w", subj, err)
			}
			rep.OrphanPuts++
			rep.Chunks += count
		}
	}
	sums, err := s.List(ctx)
	if err != nil {
		return rep, err
	}
	for _, sm := range sums {
		if s.cfg.Keep >= 0 && sm.Versions > s.cfg.Keep {
			rep.Pruned += sm.Versions - s.cfg.Keep
			if err := s.Prune(ctx, sm.Model); err != nil {
				return rep, err
			}
		}
	}
	for _, b := range []string{s.cfg.DrainBucket, s.cfg.ModelBucket} {
		st, err := s.stream(ctx, b)
		if err != nil {
			return rep, err
		}
		after, err := st.Info(ctx)
		if err != nil {
			return rep, fmt.Errorf("stream info of bucket %s: %w", b, err)
		}
		rep.BytesAfter += after.State.Bytes
	}
	return rep, nil
}

// StreamBytes is the total size of both buckets' streams.
func (s *Store) StreamBytes(ctx context.Context) (uint64, error) {
	var total uint64
	for _, b := range []string{s.cfg.DrainBucket, s.cfg.ModelBucket} {
		st, err := s.stream(ctx, b)
		if err != nil {
			return 0, err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("stream info of bucket %s: %w", b, err)
		}
		total += info.State.Bytes
	}
	return total, nil
}

// withRequestTimeout bounds one request to the server by d, even when the
// caller's context allows longer: on a cluster a request can go unanswered
// (a node died with it), and only a timeout lets the caller retry.
func withRequestTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
