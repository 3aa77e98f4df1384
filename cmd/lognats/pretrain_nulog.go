package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/detecteval"
	"github.com/lognats/lognats/internal/logrec"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/nulog"
	"github.com/lognats/lognats/internal/pipeline"
)

// pretrainNulogCmd is `lognats pretrain nulog`: train the detector
// `lognats eval detect` measures (default masker, DRAIN templates, NuLog
// model, default rule) on files and store it as nulog/<source>, where the
// inference service picks it up.
func (a *app) pretrainNulogCmd() *cobra.Command {
	var (
		source string
		meta   []string
		seed   uint64
		maxEx  int
	)
	cmd := &cobra.Command{
		Use:   "nulog --source control-plane|rancher|longhorn|workload FILE...",
		Short: "Train the deep-learning detector on log files; store nulog/<source>",
		Long: `Train the detector lognats uses for a source on the lines of FILE... (masked
with the default masker): DRAIN templates, the NuLog model and its calibrated
threshold, and the default rule. It is stored as nulog/<source>; the inference
service loads it and hot-swaps when a newer version becomes current.

--source workload trains nulog/workload, the one model that scores the lines
of every watched workload: give it the logs of those workloads.

The last line printed is the new version, e.g. nulog/rancher@v2.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if !logrec.ValidSource(source) {
				return fmt.Errorf("invalid --source %q: want one of %s, workload", source, strings.Join(pipeline.PretrainedSources(), ", "))
			}
			md, err := parseMeta(meta)
			if err != nil {
				return err
			}
			var lines []string
			for _, f := range files {
				l, err := detecteval.ReadLines(f)
				if err != nil {
					return err
				}
				lines = append(lines, l...)
			}
			if maxEx < 0 {
				return fmt.Errorf("invalid --max-examples %d: want 0 (default) or more", maxEx)
			}
			// Too little data gives a model that flags everything or nothing;
			// refusing keeps a good current model from being replaced by it.
			if distinct := countDistinct(lines); distinct < minTrainingLines {
				return fmt.Errorf("only %d distinct lines in %s: a model needs at least %d", distinct, strings.Join(files, ", "), minTrainingLines)
			}
			m := pipeline.NuLogModel(source)
			cfg := detecteval.DefaultConfig()
			cfg.Model.Seed = seed
			if maxEx > 0 {
				cfg.Model.MaxExamples = maxEx
			}
			var progress func(nulog.Progress)
			if isTerminal(os.Stderr) {
				progress = trainingBar(os.Stderr, m.String())
			}
			det, err := detecteval.Train(cmd.Context(), lines, cfg, progress)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := det.Save(&buf, source); err != nil {
				return err
			}
			st := det.Model().Stats()
			summary := map[string]string{
				"lines":       strconv.Itoa(st.Lines),
				"unique":      strconv.Itoa(st.UniqueLines),
				"vocab":       strconv.Itoa(st.Vocab),
				"epochs":      strconv.Itoa(st.Epochs),
				"final-loss":  strconv.FormatFloat(st.FinalLoss, 'f', 4, 64),
				"threshold":   strconv.FormatFloat(det.Model().Threshold(), 'f', 4, 64),
				"train-secs":  strconv.FormatFloat(st.Seconds, 'f', 1, 64),
				"rule":        string(det.Rule()),
				"source":      source,
				"train-files": strings.Join(files, ","),
			}
			if len(summary["train-files"]) > 1024 {
				summary["train-files"] = summary["train-files"][:1024]
			}
			for k, v := range md { // the caller's metadata wins
				summary[k] = v
			}
			return a.withStore(cmd.Context(), "pretrain", func(s *modelstore.Store) error {
				v, err := s.Put(cmd.Context(), m, &buf, modelstore.PutOptions{
					Format: detecteval.BundleFormat, FormatVersion: detecteval.BundleVersion, Meta: summary,
				})
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), map[string]any{"ref": v.Ref.String(), "threshold": det.Model().Threshold(), "stats": st, "size": v.Size})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d lines (%d distinct) -> vocabulary %d, %d epochs, loss %.3f, threshold %.3f, %.1f s\n%s\n",
					st.Lines, st.UniqueLines, st.Vocab, st.Epochs, st.FinalLoss, det.Model().Threshold(), st.Seconds, v.Ref)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "control-plane, rancher, longhorn or workload")
	f.StringArrayVar(&meta, "meta", nil, "extra version metadata KEY=VALUE (repeatable)")
	f.Uint64Var(&seed, "seed", 1, "model seed")
	f.IntVar(&maxEx, "max-examples", 0, "training budget in line passes (0: the default)")
	_ = cmd.MarkFlagRequired("source")
	return cmd
}

// minTrainingLines is the fewest distinct lines a model is trained on.
const minTrainingLines = 50

func countDistinct(lines []string) int {
	seen := make(map[string]struct{}, len(lines))
	for _, l := range lines {
		seen[l] = struct{}{}
	}
	return len(seen)
}
