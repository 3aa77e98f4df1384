package main

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/modelstore"
)

// addMore attaches the commands of the mining, evaluation and pipeline subsystems.
func (a *app) addMore(root *cobra.Command) {
	eval := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate template mining (eval parse) and anomaly detection (eval detect)",
	}
	eval.AddCommand(newEvalParseCmd(), newEvalDetectCmd())
	root.AddCommand(newParseCmd(a.saveParsed), eval)
}

// saveParsed stores a model mined by `lognats parse --save REF`.
func (a *app) saveParsed(cmd *cobra.Command, ref string, d *drain.Drain, sum parseSummary) error {
	m, err := modelstore.ParseModel(ref)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := d.Save(&buf); err != nil {
		return fmt.Errorf("save DRAIN snapshot: %w", err)
	}
	return a.withStore(cmd.Context(), "parse", func(s *modelstore.Store) error {
		v, err := s.Put(cmd.Context(), m, &buf, modelstore.PutOptions{
			Format: drain.SnapshotFormat, FormatVersion: drain.SnapshotVersion,
			Meta: map[string]string{"lines": strconv.FormatInt(sum.Lines, 10), "templates": strconv.Itoa(sum.Templates)},
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "saved", v.Ref.String())
		return nil
	})
}
