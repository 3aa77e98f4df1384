package detecteval

import "fmt"

// Rule names how the evidence on a line becomes a flag.
type Rule string

// The rules. Each is a general mechanism; none carries a threshold of its
// own (the NuLog threshold is calibrated on held-out training data).
const (
	// RuleNuLog flags a line whose NuLog score is below the model's
	// calibrated threshold.
	RuleNuLog Rule = "nulog"
	// RuleNovel flags a line that fits no template learned in training.
	RuleNovel Rule = "novel"
	// RuleNuLogOrNewError flags a low NuLog score, and also a line that
	// declares error or fatal severity and fits no learned template: a new
	// kind of error is suspicious, while errors the source also logs in
	// normal operation (seen in training) are not.
	RuleNuLogOrNewError Rule = "nulog+new-error"
	// RuleNuLogOrNewWarn is RuleNuLogOrNewError with warnings counted too.
	RuleNuLogOrNewWarn Rule = "nulog+new-warn"
	// RuleUnfamiliarProblem flags a line that is unfamiliar (low NuLog
	// score or no learned template fits it) and says something is wrong
	// (severity warn or above, a word of the problem lexicon, or a familiar
	// line with a word turned into its loss: see reversal.go). Neither
	// half alone is enough: normal start-ups log benign errors the detector
	// has seen before, and new benign info lines appear whenever a
	// component does something for the first time.
	RuleUnfamiliarProblem Rule = "unfamiliar+problem"
	// RuleDefault is the rule lognats uses.
	RuleDefault = RuleUnfamiliarProblem
)

// Rules lists the valid rules.
func Rules() []Rule {
	return []Rule{RuleNuLog, RuleNovel, RuleNuLogOrNewError, RuleNuLogOrNewWarn, RuleUnfamiliarProblem}
}

// ParseRule checks a rule name.
func ParseRule(s string) (Rule, error) {
	for _, r := range Rules() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown detection rule %q (want one of %v)", s, Rules())
}

// evidence is what a rule decides on.
type evidence struct {
	low, novel, problemWord, reversal bool
	level                             int
}

func (r Rule) flag(e evidence) bool {
	low, novel, level := e.low, e.novel, e.level
	switch r {
	case RuleUnfamiliarProblem:
		return (low || novel) && (level >= levelWarn || e.problemWord || e.reversal)
	case RuleNuLog:
		return low
	case RuleNovel:
		return novel
	case RuleNuLogOrNewWarn:
		return low || (novel && level >= levelWarn)
	default:
		return low || (novel && level >= levelError)
	}
}
