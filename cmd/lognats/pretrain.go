package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/pipeline"
)

func (a *app) pretrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Build pretrained models for control-plane, Rancher and Longhorn logs and store them",
	}
	cmd.AddCommand(a.pretrainDrainCmd())
	cmd.AddCommand(a.pretrainNulogCmd())
	return cmd
}

func (a *app) pretrainDrainCmd() *cobra.Command {
	var source string
	var normal, anomaly []string
	cmd := &cobra.Command{
		Use:   "drain --source S --normal FILE... [--anomaly FILE...]",
		Short: "Mine labelled templates from normal (and anomalous) lines; store drain/pretrained-<source>",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q: log files go after --normal (or --anomaly), e.g. --normal %s", args[0], args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !isPretrainedSource(source) {
				return fmt.Errorf("invalid --source %q: want one of %s", source, strings.Join(pipeline.PretrainedSources(), ", "))
			}
			if len(normal) == 0 {
				return fmt.Errorf("missing --normal FILE: a pretrained model needs lines known to be normal")
			}
			p, err := pipeline.NewPretrainer(drain.DefaultConfig(), nil)
			if err != nil {
				return err
			}
			for _, set := range []struct {
				files []string
				label string
			}{{normal, pipeline.LabelNormal}, {anomaly, pipeline.LabelAnomaly}} {
				for _, path := range set.files {
					f, err := os.Open(path)
					if err != nil {
						return fmt.Errorf("open training file: %w", err)
					}
					err = p.Add(f, set.label)
					f.Close()
					if err != nil {
						return fmt.Errorf("%s: %w", path, err)
					}
				}
			}
			d, st, err := p.Finish()
			if err != nil {
				return err
			}
			if st.NormalLines == 0 || st.Templates == 0 {
				// An empty model would replace a good current one.
				return fmt.Errorf("no usable lines in --normal files: nothing to learn from")
			}
			return a.withStore(cmd.Context(), "pretrain", func(s *modelstore.Store) error {
				v, err := pipeline.StorePretrained(cmd.Context(), s, source, d, st)
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), map[string]any{"ref": v.Ref.String(), "stats": st})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d normal and %d anomalous lines -> %d templates (%d normal, %d anomaly, %d mixed)\n%s\n",
					st.NormalLines, st.AnomalyLines, st.Templates, st.Normal, st.Anomalous, st.Mixed, v.Ref)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "control-plane, rancher or longhorn")
	cmd.Flags().StringArrayVar(&normal, "normal", nil, "file of normal lines (repeatable)")
	cmd.Flags().StringArrayVar(&anomaly, "anomaly", nil, "file of anomalous lines (repeatable)")
	return cmd
}

func isPretrainedSource(s string) bool {
	return s != logrec.SourceWorkload && logrec.ValidSource(s)
}
