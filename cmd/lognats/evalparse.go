package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/parseeval"
)

// drainPublishedGA is Drain's grouping accuracy on Loghub-2k as published
// in the LogPAI benchmark (Zhu et al., "Tools and Benchmarks for Automated
// Log Parsing", ICSE-SEIP'19, table of parsing accuracy).
var drainPublishedGA = map[string]float64{
	"HDFS": 0.998, "Hadoop": 0.948, "Spark": 0.920, "Zookeeper": 0.967, "BGL": 0.963,
	"HPC": 0.887, "Thunderbird": 0.955, "Windows": 0.997, "Linux": 0.690, "Mac": 0.787,
	"Android": 0.911, "HealthApp": 0.780, "Apache": 1.000, "OpenSSH": 0.788,
	"OpenStack": 0.733, "Proxifier": 0.527,
}

type evalOptions struct {
	loghub    string
	json      bool
	corrected bool
	config    string
}

type datasetResult struct {
	Dataset   string            `json:"dataset"`
	Metrics   parseeval.Metrics `json:"metrics"`
	DrainGA   float64           `json:"drain_published_ga,omitempty"`
	Templates int               `json:"templates"`
}

type evalReport struct {
	Ground   string            `json:"ground_truth"`
	Datasets []datasetResult   `json:"datasets"`
	Average  parseeval.Metrics `json:"average"`
}

func newEvalParseCmd() *cobra.Command {
	var opts evalOptions
	cmd := &cobra.Command{
		Use:   "parse --loghub DIR",
		Short: "Score template mining on LogPAI/Loghub benchmark datasets",
		Long: `Mine every dataset folder under --loghub (LogPAI layout: X/X_2k.log_structured.csv,
whose Content column is mined) with one configuration, and print grouping
accuracy (GA), parsing accuracy (PA), F1 grouping accuracy (FGA) and F1
template accuracy (FTA) per dataset and averaged, beside Drain's published GA.
--corrected reads X/X_2k.log_structured_corrected.csv instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := runEvalParse(opts)
			if err != nil {
				return err
			}
			return printEval(cmd.OutOrStdout(), rep, opts.json)
		},
	}
	cmd.Flags().StringVar(&opts.loghub, "loghub", "", "folder of Loghub datasets (required)")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON")
	cmd.Flags().BoolVar(&opts.corrected, "corrected", false, "use the *_structured_corrected.csv ground truth")
	cmd.Flags().StringVar(&opts.config, "config", "", "JSON file with mask and drain settings (default: the built-in general configuration)")
	_ = cmd.MarkFlagRequired("loghub")
	return cmd
}

func runEvalParse(opts evalOptions) (evalReport, error) {
	cfg, err := loadMiningConfig(opts.config)
	if err != nil {
		return evalReport{}, err
	}
	names, err := parseeval.Datasets(opts.loghub, opts.corrected)
	if err != nil {
		return evalReport{}, fmt.Errorf("eval parse: %w", err)
	}
	rep := evalReport{Ground: "loghub"}
	if opts.corrected {
		rep.Ground = "corrected"
	}
	var all []parseeval.Metrics
	for _, name := range names {
		ds, err := parseeval.LoadDataset(opts.loghub, name, opts.corrected)
		if err != nil {
			return evalReport{}, fmt.Errorf("eval parse: %w", err)
		}
		m, n, err := evalDataset(cfg, ds)
		if err != nil {
			return evalReport{}, fmt.Errorf("eval parse %s: %w", name, err)
		}
		all = append(all, m)
		rep.Datasets = append(rep.Datasets, datasetResult{Dataset: name, Metrics: m, DrainGA: drainPublishedGA[name], Templates: n})
	}
	rep.Average = parseeval.Average(all)
	return rep, nil
}

// evalDataset mines one dataset and scores each line by its cluster's
// final template, as LogPAI's benchmark does.
func evalDataset(cfg miningConfig, ds parseeval.Dataset) (parseeval.Metrics, int, error) {
	mn, err := newMiner(cfg)
	if err != nil {
		return parseeval.Metrics{}, 0, err
	}
	ids := make([]int64, len(ds.Contents))
	for i, line := range ds.Contents {
		ids[i] = mn.add([]byte(line)).ClusterID
	}
	final := make(map[int64]string)
	for _, c := range mn.d.Clusters() {
		final[c.ID] = parseeval.NormalizeTemplate(c.Template)
	}
	parsed := make([]string, len(ids))
	truth := make([]string, len(ids))
	for i, id := range ids {
		t, ok := final[id]
		if !ok { // evicted by max_clusters: a group of its own
			t = fmt.Sprintf("<evicted %d>", id)
		}
		parsed[i] = t
		truth[i] = parseeval.NormalizeTemplate(ds.Templates[i])
	}
	m, err := parseeval.Evaluate(truth, parsed)
	return m, mn.d.Len(), err
}

func printEval(w io.Writer, rep evalReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("print evaluation: %w", err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DATASET\tGA\tPA\tFGA\tFTA\tTEMPLATES\tTRUTH\tDRAIN GA\t")
	for _, d := range rep.Datasets {
		pub := "-"
		if d.DrainGA > 0 {
			pub = fmt.Sprintf("%.3f", d.DrainGA)
		}
		m := d.Metrics
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%s\t\n", d.Dataset, m.GA, m.PA, m.FGA, m.FTA, m.ParsedTemplates, m.TruthTemplates, pub)
	}
	a := rep.Average
	fmt.Fprintf(tw, "AVERAGE\t%.3f\t%.3f\t%.3f\t%.3f\t\t\t\t\n", a.GA, a.PA, a.FGA, a.FTA)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print evaluation: %w", err)
	}
	return nil
}
