package drain

import (
	"fmt"
	"strings"
)

// Config holds Drain's options. The json names follow Drain3's where Drain3
// has the option.
type Config struct {
	// Depth of the prefix tree, counting the root and the leaf level as
	// Drain3 does: Depth-3 leading tokens route a line (at least 3).
	Depth int `json:"depth"`
	// SimTh is the similarity (share of equal constant tokens) a line needs
	// to join a cluster while mining.
	SimTh float64 `json:"sim_th"`
	// MaxChildren caps the children of a tree node; tokens past the cap go
	// to the wildcard child.
	MaxChildren int `json:"max_children"`
	// MaxClusters caps the number of clusters (0: no cap). Past it the least
	// recently matched cluster is evicted; only Add's matched cluster is
	// touched.
	MaxClusters int `json:"max_clusters"`
	// ExtraDelimiters split tokens like white space does; unlike Drain3 they
	// are kept in templates.
	ExtraDelimiters []string `json:"extra_delimiters,omitempty"`
	// ParametrizeNumericTokens routes tokens holding a digit through the
	// wildcard branch of the tree (Drain3's parametrize_numeric_tokens).
	ParametrizeNumericTokens bool `json:"parametrize_numeric_tokens"`
	// ParamString is the wildcard token, "<*>" by default.
	ParamString string `json:"param_str"`
	// MergeLengths lets a line join a cluster whose token count differs when
	// they share a prefix and a suffix and the differing middle lines up
	// with a single wildcard of the template (so "Invalid user a b from
	// <IP>" joins "Invalid user <*> from <IP>"). Off in Drain3.
	MergeLengths bool `json:"merge_lengths,omitempty"`
	// StableWords (0: off, as in Drain3) keeps a line out of a cluster of at
	// least this many lines when they differ at a position where both hold
	// a plain word (letters only, maybe ending in . , ; or :). Such a
	// word has then been constant over every line of the cluster, which is
	// strong evidence that it is part of the message ("Starting X
	// initialization." vs "Starting X finalization."), while a variable
	// such as a user name varies early. The line goes to another cluster or
	// starts one.
	StableWords int `json:"stable_words,omitempty"`
}

// DefaultConfig is lognats's general-purpose configuration: Drain3's
// structure with settings chosen for logs in general rather than for one
// benchmark dataset.
func DefaultConfig() Config {
	return Config{
		// Two routing tokens instead of Drain3's one: with masked
		// variables, the first two tokens of a line are almost always
		// constant, and two keep leaves small (fast) and unrelated
		// messages apart.
		Depth: 5,
		// 0.7: a line joins a template only when most of its constant
		// words agree. Masking has already removed most variables, so the
		// words that still differ are usually part of the message. GA is
		// flat for 0.65-0.8 on Loghub-2k; 0.7 sits in the middle.
		SimTh:                    0.7,
		MaxChildren:              100,
		MaxClusters:              0,
		ParametrizeNumericTokens: true,
		ParamString:              "<*>",
		// A word constant over 8 lines is taken as part of the message.
		StableWords: 8,
	}
}

// Drain3Config is Drain3's example configuration (drain3.ini of its
// examples), which made the Opni snapshots.
func Drain3Config() Config {
	return Config{
		Depth:                    4,
		SimTh:                    0.4,
		MaxChildren:              100,
		MaxClusters:              1024,
		ParametrizeNumericTokens: true,
		ParamString:              "<:*:>",
	}
}

// Validate reports the first problem with c, wrapping ErrConfig.
func (c Config) Validate() error {
	switch {
	case c.Depth < 3 || c.Depth > 64:
		return fmt.Errorf("depth %d: must be in [3,64]: %w", c.Depth, ErrConfig)
	case !(c.SimTh >= 0 && c.SimTh <= 1):
		return fmt.Errorf("sim_th %v: must be in [0,1]: %w", c.SimTh, ErrConfig)
	case c.MaxChildren < 2:
		return fmt.Errorf("max_children %d: must be at least 2: %w", c.MaxChildren, ErrConfig)
	case c.StableWords < 0:
		return fmt.Errorf("stable_words %d: must not be negative: %w", c.StableWords, ErrConfig)
	case c.MaxClusters < 0:
		return fmt.Errorf("max_clusters %d: must not be negative: %w", c.MaxClusters, ErrConfig)
	case c.ParamString == "" || strings.ContainsAny(c.ParamString, " \t\r\n"):
		return fmt.Errorf("param_str %q: must be non-empty without white space: %w", c.ParamString, ErrConfig)
	}
	for _, d := range c.ExtraDelimiters {
		if d == "" {
			return fmt.Errorf("extra_delimiters: empty delimiter: %w", ErrConfig)
		}
	}
	return nil
}
