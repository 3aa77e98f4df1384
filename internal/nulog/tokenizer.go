package nulog

import (
	"sort"
	"strings"
	"unicode"
)

// Special token ids. They occupy the first slots of every vocabulary so a
// model file never needs to spell them out by id.
const (
	idPAD  = 0
	idCLS  = 1
	idMASK = 2
	idUNK  = 3
	idNUM  = 4
	// numSpecial is the number of reserved ids.
	numSpecial = 5
)

// specialTokens lists the reserved tokens in id order.
var specialTokens = [numSpecial]string{"<PAD>", "<CLS>", "<MASK>", "<UNK>", "<NUM>"}

// splitTokens cuts a masked line into lower-case tokens. Whitespace and the
// punctuation that separates keys from values in klog, logfmt and JSON lines
// are separators; masker placeholders such as <IP> survive intact because
// '<' and '>' are not separators.
func splitTokens(line string, max int) []string {
	out := make([]string, 0, 16)
	start := -1
	for i, r := range line {
		if isSep(r) {
			if start >= 0 {
				out = append(out, strings.ToLower(line[start:i]))
				if len(out) >= max {
					return out
				}
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 && len(out) < max {
		out = append(out, strings.ToLower(line[start:]))
	}
	return out
}

func isSep(r rune) bool {
	switch r {
	case '=', ',', ':', '"', '\'', '(', ')', '[', ']', '{', '}', ';', '`', '|', '/':
		return true
	}
	return unicode.IsSpace(r)
}

// isNumeric reports whether a token stands for a number: any digit makes it
// one, because counters, ids and durations carry no template information.
func isNumeric(tok string) bool {
	if strings.Contains(tok, "<num>") {
		return true
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] >= '0' && tok[i] <= '9' {
			return true
		}
	}
	return false
}

// tokenizer maps masked lines to token ids over a fixed vocabulary.
type tokenizer struct {
	vocab  []string
	index  map[string]int32
	maxLen int // including the leading <CLS>
}

func newTokenizer(vocab []string, maxLen int) *tokenizer {
	t := &tokenizer{vocab: vocab, index: make(map[string]int32, len(vocab)), maxLen: maxLen}
	for i, w := range vocab {
		t.index[w] = int32(i)
	}
	return t
}

// buildVocab keeps the most frequent non-numeric tokens seen in at least
// minCount lines (weighted by occurrences), at most cap entries in total
// including the special tokens. Ties break lexically so the result is
// deterministic.
func buildVocab(lines []weightedLine, maxLen, cap, minCount int) []string {
	counts := make(map[string]int)
	for _, l := range lines {
		for _, tok := range splitTokens(l.text, maxLen-1) {
			if !isNumeric(tok) {
				counts[tok] += l.count
			}
		}
	}
	words := make([]string, 0, len(counts))
	for w, c := range counts {
		if c >= minCount {
			if _, special := specialIndex(w); !special {
				words = append(words, w)
			}
		}
	}
	sort.Slice(words, func(i, j int) bool {
		ci, cj := counts[words[i]], counts[words[j]]
		if ci != cj {
			return ci > cj
		}
		return words[i] < words[j]
	})
	if len(words) > cap-numSpecial {
		words = words[:cap-numSpecial]
	}
	vocab := make([]string, 0, numSpecial+len(words))
	vocab = append(vocab, specialTokens[:]...)
	return append(vocab, words...)
}

func specialIndex(w string) (int, bool) {
	for i, s := range specialTokens {
		if strings.EqualFold(w, s) {
			return i, true
		}
	}
	return 0, false
}

// Encode returns <CLS> followed by the ids of at most maxLen-1 tokens.
// Tokens beyond that are dropped: the model only sees the head of very long
// lines, which is where log templates put their constant words.
func (t *tokenizer) Encode(line string) []int32 {
	toks := splitTokens(line, t.maxLen-1)
	ids := make([]int32, 0, len(toks)+1)
	ids = append(ids, idCLS)
	for _, tok := range toks {
		switch {
		case isNumeric(tok):
			ids = append(ids, idNUM)
		default:
			id, ok := t.index[tok]
			if !ok {
				id = idUNK
			}
			ids = append(ids, id)
		}
	}
	return ids
}

// Vocab returns a copy of the vocabulary in id order.
func (t *tokenizer) Vocab() []string { return append([]string(nil), t.vocab...) }
