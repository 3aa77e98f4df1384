package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/detecteval"
	"github.com/lognats/lognats/internal/nulog"
)

type evalDetectOptions struct {
	source      string
	train, test []string
	labels      string
	json, quiet bool
	rule        string
	share       float64
	block       int
	seed        uint64
}

// newEvalDetectCmd is `lognats eval detect`: train what lognats would use
// for a source (masker, DRAIN, NuLog) and measure detection against
// line labels.
func newEvalDetectCmd() *cobra.Command {
	var o evalDetectOptions
	cmd := &cobra.Command{
		Use:   "detect --source S --train FILE... --test FILE... --labels line-labels.tsv",
		Short: "Measure anomaly detection on labelled logs (episode recall, false-positive rate)",
		Long: `Train the detector lognats uses for a source (masker, DRAIN templates, NuLog model)
on the --train files, classify every line of the --test files and compare with
--labels (TSV: file, line, label normal|failure, episode, level).

A file given both as --train and --test is split: it is cut into blocks of
--split-block lines, the first --split-share of each block trains and the rest
is tested (--split-block 0: the first share of the whole file trains).

Printed figures: episode_recall (failure episodes with at least one flagged
line), false_positive_rate (normal lines flagged), error_precision and
error_recall (failure lines of level error/fatal; precision over all flagged
lines), lines scored per second and training seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rule, err := detecteval.ParseRule(o.rule)
			if err != nil {
				return err
			}
			if o.block < 0 {
				return fmt.Errorf("invalid --split-block %d: want 0 (whole file) or more", o.block)
			}
			dc := detecteval.DefaultConfig()
			dc.Rule = rule
			dc.Model.Seed = o.seed
			opts := detecteval.Options{
				Source: o.source, Train: o.train, Test: o.test, Labels: o.labels,
				Split:    detecteval.Split{Share: o.share, Block: o.block},
				Detector: dc,
			}
			if !o.quiet {
				opts.Progress = trainingBar(cmd.ErrOrStderr(), "nulog/"+o.source)
			}
			res, err := detecteval.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return printDetect(cmd.OutOrStdout(), res, o.json)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.source, "source", "", "source name (control-plane, rancher, longhorn, workload...)")
	f.StringSliceVar(&o.train, "train", nil, "training log files (repeat or comma-separate)")
	f.StringSliceVar(&o.test, "test", nil, "test log files (repeat or comma-separate)")
	f.StringVar(&o.labels, "labels", "", "line-labels TSV")
	f.BoolVar(&o.json, "json", false, "print the figures as JSON")
	f.BoolVar(&o.quiet, "quiet", false, "no training progress bar")
	f.StringVar(&o.rule, "rule", string(detecteval.RuleDefault), fmt.Sprintf("detection rule, one of %v", detecteval.Rules()))
	f.Float64Var(&o.share, "split-share", detecteval.DefaultSplit().Share, "share of each block of a train+test file that trains")
	f.IntVar(&o.block, "split-block", detecteval.DefaultSplit().Block, "block size in lines for the split (0: whole file)")
	f.Uint64Var(&o.seed, "seed", 1, "model seed")
	for _, n := range []string{"source", "train", "test", "labels"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

// trainingBar returns a progress callback drawing a bar of training
// examples with epoch, loss and ETA.
func trainingBar(w io.Writer, desc string) func(nulog.Progress) {
	var bar *progressbar.ProgressBar
	return func(p nulog.Progress) {
		if bar == nil {
			bar = progressbar.NewOptions(p.Examples,
				progressbar.OptionSetWriter(w),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		bar.Describe(fmt.Sprintf("%s epoch %d/%d loss %.3f eta %s", desc, p.Epoch, p.Epochs, p.Loss, p.ETA.Round(time.Second)))
		_ = bar.Set(p.Example)
		if p.Example >= p.Examples {
			_ = bar.Finish()
		}
	}
}

func printDetect(w io.Writer, r *detecteval.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "source\t%s\n", r.Source)
	fmt.Fprintf(tw, "rule\t%s\n", r.Rule)
	fmt.Fprintf(tw, "episode_recall\t%.3f (%d/%d)\n", r.EpisodeRecall, r.EpisodesDetected, r.Episodes)
	fmt.Fprintf(tw, "false_positive_rate\t%.4f (%d/%d)\n", r.FalsePositiveRate, r.NormalFlagged, r.NormalLines)
	fmt.Fprintf(tw, "error_precision\t%.3f\n", r.ErrorPrecision)
	fmt.Fprintf(tw, "error_recall\t%.3f (of %d error/fatal failure lines)\n", r.ErrorRecall, r.ErrorLines)
	fmt.Fprintf(tw, "lines_scored\t%d\n", r.LinesScored)
	fmt.Fprintf(tw, "lines_per_second\t%.0f\n", r.LinesPerSecond)
	fmt.Fprintf(tw, "training_seconds\t%.1f (%d lines)\n", r.TrainSeconds, r.TrainLines)
	fmt.Fprintf(tw, "threshold\t%.3f\n", r.Threshold)
	if len(r.MissedEpisodes) > 0 {
		fmt.Fprintf(tw, "missed_episodes\t%s\n", strings.Join(r.MissedEpisodes, " "))
	}
	return tw.Flush()
}
