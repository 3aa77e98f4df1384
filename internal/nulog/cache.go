package nulog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sync"
)

// Cache remembers the score of each masked line it has seen, up to a fixed
// number of lines. Real logs repeat the same masked lines over and over, so
// a deployed scorer answers most lines from here. It is safe for concurrent
// use. Eviction is first-in first-out per shard: a hit then needs only a
// read lock, which is what keeps cached scoring in the millions of lines a
// second.
type Cache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

const cacheShards = 32

type cacheShard struct {
	mu   sync.RWMutex
	m    map[string]Score
	ring []string // insertion order, for eviction
	next int
}

// NewCache returns a cache holding at most capacity lines (at least one per
// shard).
func NewCache(capacity int) *Cache {
	per := max(1, (capacity+cacheShards-1)/cacheShards)
	c := &Cache{seed: maphash.MakeSeed(), perShard: per}
	for i := range c.shards {
		c.shards[i].m = make(map[string]Score)
	}
	return c
}

func (c *Cache) shard(line string) *cacheShard {
	return &c.shards[maphash.String(c.seed, line)%cacheShards]
}

// Get returns the cached score of a masked line.
func (c *Cache) Get(line string) (Score, bool) {
	s := c.shard(line)
	s.mu.RLock()
	v, ok := s.m[line]
	s.mu.RUnlock()
	return v, ok
}

// Put stores the score of a masked line, evicting the shard's oldest entry
// when it is full.
func (c *Cache) Put(line string, v Score) {
	s := c.shard(line)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[line]; ok {
		s.m[line] = v
		return
	}
	if len(s.ring) < c.perShard {
		s.ring = append(s.ring, line)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = line
		s.next = (s.next + 1) % c.perShard
	}
	s.m[line] = v
}

// Len returns the number of cached lines.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// cacheMagic starts a serialised cache; the version follows it.
const (
	cacheMagic   = "LNNLCACH"
	cacheVersion = 1
	maxCacheLine = 1 << 16
)

// Save writes the cache beside its model: magic, version, the model's
// fingerprint (scores are only valid for the weights that made them),
// entry count and entries (uint32 length, line bytes, uint16 correct,
// uint16 counted), all little-endian.
func (c *Cache) Save(w io.Writer, m *Model) error {
	bw := bufio.NewWriter(w)
	var entries []struct {
		line string
		s    Score
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		for _, l := range s.ring {
			if v, ok := s.m[l]; ok && len(l) <= maxCacheLine && v.Counted < 1<<16 {
				entries = append(entries, struct {
					line string
					s    Score
				}{l, v})
			}
		}
		s.mu.RUnlock()
	}
	bw.WriteString(cacheMagic)
	le := binary.LittleEndian
	var b [8]byte
	le.PutUint32(b[:4], cacheVersion)
	bw.Write(b[:4])
	fp := m.Fingerprint()
	bw.Write(fp[:])
	le.PutUint32(b[:4], uint32(len(entries)))
	bw.Write(b[:4])
	for _, e := range entries {
		le.PutUint32(b[:4], uint32(len(e.line)))
		bw.Write(b[:4])
		bw.WriteString(e.line)
		le.PutUint16(b[:2], uint16(e.s.Correct))
		le.PutUint16(b[2:4], uint16(e.s.Counted))
		bw.Write(b[:4])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write nulog score cache: %w", err)
	}
	return nil
}

// LoadCache reads a cache written by Cache.Save for model m into a new
// cache of the given capacity. A cache written for other weights, or a
// corrupt one, is an error.
func LoadCache(r io.Reader, m *Model, capacity int) (*Cache, error) {
	br := bufio.NewReader(r)
	fail := func(err error) (*Cache, error) { return nil, fmt.Errorf("read nulog score cache: %w", err) }
	head := make([]byte, len(cacheMagic)+4+32+4)
	if _, err := io.ReadFull(br, head); err != nil {
		return fail(err)
	}
	le := binary.LittleEndian
	if string(head[:8]) != cacheMagic {
		return fail(errors.New("not a score cache (bad magic)"))
	}
	if v := le.Uint32(head[8:12]); v != cacheVersion {
		return fail(fmt.Errorf("unsupported version %d", v))
	}
	if fp := m.Fingerprint(); string(head[12:44]) != string(fp[:]) {
		return fail(errors.New("written for a different model"))
	}
	n := le.Uint32(head[44:48])
	c := NewCache(capacity)
	var b [4]byte
	for i := uint32(0); i < n; i++ {
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return fail(fmt.Errorf("entry %d: %w", i, err))
		}
		ln := le.Uint32(b[:])
		if ln > maxCacheLine {
			return fail(fmt.Errorf("entry %d: line length %d too long", i, ln))
		}
		line := make([]byte, ln)
		if _, err := io.ReadFull(br, line); err != nil {
			return fail(fmt.Errorf("entry %d: %w", i, err))
		}
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return fail(fmt.Errorf("entry %d: %w", i, err))
		}
		s := Score{Correct: int(le.Uint16(b[:2])), Counted: int(le.Uint16(b[2:]))}
		if s.Correct > s.Counted {
			return fail(fmt.Errorf("entry %d: correct %d > counted %d", i, s.Correct, s.Counted))
		}
		s.Value = 1
		if s.Counted > 0 {
			s.Value = float64(s.Correct) / float64(s.Counted)
		}
		c.Put(string(line), s)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fail(errors.New("trailing data after the last entry"))
	}
	return c, nil
}
