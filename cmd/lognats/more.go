package main

import "github.com/spf13/cobra"

// addMore attaches the commands of the mining, evaluation and pipeline subsystems.
func (a *app) addMore(root *cobra.Command) {
	eval := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate template mining (eval parse) and anomaly detection (eval detect)",
	}
	eval.AddCommand(newEvalParseCmd(), newEvalDetectCmd())
	root.AddCommand(newParseCmd(), eval)
}
