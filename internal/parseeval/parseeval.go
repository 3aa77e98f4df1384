// Package parseeval scores log template mining against LogPAI-style ground
// truth (Loghub-2k, Loghub-2.0): grouping accuracy (GA), parsing accuracy
// (PA), F1 grouping accuracy (FGA) and F1 template accuracy (FTA), and reads
// the benchmark's structured CSV files.
//
// Definitions (Zhu et al. ICSE-SEIP'19 for GA; Khan et al. ICSE'22 and Jiang
// et al. ISSTA'24 for the others), over the lines of one dataset:
//
//   - A ground-truth template's group is correctly grouped when all its lines
//     got one parsed template and no other line got that parsed template.
//   - GA  = lines in correctly grouped groups / lines.
//   - PA  = lines whose parsed template equals the ground truth string / lines.
//   - PGA = correct groups / parsed templates, RGA = correct groups / ground
//     truth templates, FGA = their harmonic mean.
//   - PTA, RTA, FTA: as PGA, RGA, FGA, counting only correct groups whose
//     parsed template also equals the ground truth string.
//
// Template strings are compared after NormalizeTemplate, which turns mask
// tokens such as <IP> into the benchmark's <*>.
package parseeval

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInput is wrapped by errors about unusable evaluation input.
var ErrInput = errors.New("invalid evaluation input")

// Metrics holds the scores of one dataset (or their average).
type Metrics struct {
	GA  float64 `json:"ga"`
	PA  float64 `json:"pa"`
	FGA float64 `json:"fga"`
	FTA float64 `json:"fta"`
	PGA float64 `json:"pga"`
	RGA float64 `json:"rga"`
	PTA float64 `json:"pta"`
	RTA float64 `json:"rta"`
	// Lines, TruthTemplates and ParsedTemplates are the counts behind the scores.
	Lines           int `json:"lines"`
	TruthTemplates  int `json:"truth_templates"`
	ParsedTemplates int `json:"parsed_templates"`
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Evaluate scores parsed templates against ground truth templates, one of
// each per line in the same order. Templates are compared as given; callers
// normalize them first (see NormalizeTemplate).
func Evaluate(truth, parsed []string) (Metrics, error) {
	if len(truth) != len(parsed) {
		return Metrics{}, fmt.Errorf("evaluate: %d truth lines but %d parsed lines: %w", len(truth), len(parsed), ErrInput)
	}
	if len(truth) == 0 {
		return Metrics{}, fmt.Errorf("evaluate: no lines: %w", ErrInput)
	}
	parsedCount := make(map[string]int)
	for _, p := range parsed {
		parsedCount[p]++
	}
	type group struct {
		size   int
		parsed string
		mixed  bool
	}
	groups := make(map[string]*group)
	correctLines := 0
	for i, t := range truth {
		if parsed[i] == t {
			correctLines++
		}
		g := groups[t]
		if g == nil {
			groups[t] = &group{size: 1, parsed: parsed[i]}
			continue
		}
		g.size++
		if g.parsed != parsed[i] {
			g.mixed = true
		}
	}
	groupedLines, correctGroups, correctTemplates := 0, 0, 0
	for t, g := range groups {
		if g.mixed || parsedCount[g.parsed] != g.size {
			continue
		}
		groupedLines += g.size
		correctGroups++
		if g.parsed == t {
			correctTemplates++
		}
	}
	n := float64(len(truth))
	m := Metrics{
		GA:              float64(groupedLines) / n,
		PA:              float64(correctLines) / n,
		PGA:             float64(correctGroups) / float64(len(parsedCount)),
		RGA:             float64(correctGroups) / float64(len(groups)),
		PTA:             float64(correctTemplates) / float64(len(parsedCount)),
		RTA:             float64(correctTemplates) / float64(len(groups)),
		Lines:           len(truth),
		TruthTemplates:  len(groups),
		ParsedTemplates: len(parsedCount),
	}
	m.FGA = f1(m.PGA, m.RGA)
	m.FTA = f1(m.PTA, m.RTA)
	return m, nil
}

// Average returns the unweighted mean of each score (the benchmark's way of
// averaging datasets); counts are summed.
func Average(ms []Metrics) Metrics {
	var a Metrics
	if len(ms) == 0 {
		return a
	}
	for _, m := range ms {
		a.GA += m.GA
		a.PA += m.PA
		a.FGA += m.FGA
		a.FTA += m.FTA
		a.PGA += m.PGA
		a.RGA += m.RGA
		a.PTA += m.PTA
		a.RTA += m.RTA
		a.Lines += m.Lines
		a.TruthTemplates += m.TruthTemplates
		a.ParsedTemplates += m.ParsedTemplates
	}
	k := float64(len(ms))
	a.GA /= k
	a.PA /= k
	a.FGA /= k
	a.FTA /= k
	a.PGA /= k
	a.RGA /= k
	a.PTA /= k
	a.RTA /= k
	return a
}

// NormalizeTemplate rewrites a mined template into the benchmark's form:
// every mask token <NAME> (upper-case letters, digits, '_', ':' or '*'
// between angle brackets, so also Drain3's <:NUM:>) becomes <*>.
func NormalizeTemplate(t string) string {
	if !strings.Contains(t, "<") {
		return t
	}
	var b strings.Builder
	b.Grow(len(t))
	for i := 0; i < len(t); {
		if t[i] == '<' {
			j := i + 1
			for j < len(t) && isMaskByte(t[j]) {
				j++
			}
			if j < len(t) && t[j] == '>' && j > i+1 {
				b.WriteString("<*>")
				i = j + 1
				continue
			}
		}
		b.WriteByte(t[i])
		i++
	}
	return b.String()
}

func isMaskByte(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '*'
}
