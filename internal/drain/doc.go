// Package drain mines log templates with the Drain algorithm (He et al.,
// ICWS'17) using the semantics and options of Drain3: a fixed-depth prefix
// tree routes a tokenized line by its token count and first tokens to a few
// candidate clusters; the most similar one above a threshold absorbs the
// line, turning differing positions into wildcards, or a new cluster starts.
//
// On top of Drain3 it fixes Drain3's known failure modes: search falls back
// from an exact-token branch to the wildcard branch, single-token lines get
// their own leaves, extra delimiters survive in templates, parameters are
// extracted with the mining tokenizer, and an optional merge lets one
// wildcard stand for several tokens (Config.MergeLengths).
//
// Models are saved and loaded in a versioned, documented format (see
// docs/formats/drain-snapshot.md); cluster ids are stable across save and
// load. Package drain3compat imports Drain3's own snapshots.
//
// # Concurrency
//
// A *Drain is not safe for concurrent use: Add changes the model, and Match,
// although it never changes the model, reuses scratch buffers. Callers that
// share a model guard it with a mutex or give each goroutine its own copy
// (Save/Load).
//
// The package does no I/O beyond the io.Reader/io.Writer handed to it and
// never logs.
package drain
