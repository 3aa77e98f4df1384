package drain

import "strings"

// Token is one token of a line and the delimiter run that follows it (empty
// after the last token). Both are substrings of the tokenized line.
type Token struct {
	Text string
	Sep  string
}

// Tokenizer splits a line into tokens. Implementations append to dst and
// return it, keep no state between calls, and must not panic on any input.
type Tokenizer interface {
	Tokenize(dst []Token, line string) []Token
}

// SpaceTokenizer splits on ASCII white space and on each of Extra, the way
// Drain3 splits after replacing its extra delimiters by spaces, but it
// keeps every delimiter in Token.Sep so templates can show them.
type SpaceTokenizer struct {
	Extra []string
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// delimAt returns the length of the delimiter starting at line[i], or 0.
func (t SpaceTokenizer) delimAt(line string, i int) int {
	if isSpace(line[i]) {
		return 1
	}
	for _, d := range t.Extra {
		if strings.HasPrefix(line[i:], d) {
			return len(d)
		}
	}
	return 0
}

// skipDelims returns the index after the run of delimiters at line[i:].
func (t SpaceTokenizer) skipDelims(line string, i int) int {
	for i < len(line) {
		k := t.delimAt(line, i)
		if k == 0 {
			break
		}
		i += k
	}
	return i
}

// Tokenize implements Tokenizer. Leading delimiters are dropped.
func (t SpaceTokenizer) Tokenize(dst []Token, line string) []Token {
	if len(t.Extra) == 0 {
		return spaceTokens(dst, line)
	}
	i, n := t.skipDelims(line, 0), len(line)
	for i < n {
		start := i
		for i < n && t.delimAt(line, i) == 0 {
			i++
		}
		text := line[start:i]
		sepStart := i
		i = t.skipDelims(line, i)
		sep := line[sepStart:i]
		if i == n {
			sep = ""
		}
		dst = append(dst, Token{Text: text, Sep: sep})
	}
	return dst
}

// spaceTokens is Tokenize without extra delimiters, the common case, in one
// pass over the bytes. Every white-space byte is at most ' ', so one
// comparison tells the bytes inside a token, the vast majority, apart.
func spaceTokens(dst []Token, line string) []Token {
	i, n := 0, len(line)
	for i < n && isSpace(line[i]) {
		i++
	}
	for i < n {
		start := i
		for i < n && (line[i] > ' ' || !isSpace(line[i])) {
			i++
		}
		end := i
		for i < n && line[i] <= ' ' && isSpace(line[i]) {
			i++
		}
		if i == n {
			return append(dst, Token{Text: line[start:end]})
		}
		dst = append(dst, Token{Text: line[start:end], Sep: line[end:i]})
	}
	return dst
}
