package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lognats/lognats/internal/drain"
	"github.com/lognats/lognats/internal/mask"
	"github.com/lognats/lognats/internal/modelstore"
)

// miningConfig is the --config file of `lognats parse` and `lognats eval
// parse`: masking rules and Drain options. Omitted parts keep the defaults.
type miningConfig struct {
	Mask  mask.Config  `json:"mask"`
	Drain drain.Config `json:"drain"`
}

func defaultMiningConfig() miningConfig {
	return miningConfig{Drain: drain.DefaultConfig()}
}

// loadMiningConfig reads a JSON config file over the defaults; "" gives the
// defaults.
func loadMiningConfig(path string) (miningConfig, error) {
	cfg := defaultMiningConfig()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("parse config %s: %w", path, err)
	}
	return cfg, nil
}

// miner masks lines and mines them into a Drain model.
type miner struct {
	m   *mask.Masker
	d   *drain.Drain
	buf []byte
}

func newMiner(cfg miningConfig) (*miner, error) {
	m, err := mask.New(cfg.Mask)
	if err != nil {
		return nil, fmt.Errorf("build masker: %w", err)
	}
	d, err := drain.New(cfg.Drain)
	if err != nil {
		return nil, fmt.Errorf("build drain: %w", err)
	}
	return &miner{m: m, d: d, buf: make([]byte, 0, 4096)}, nil
}

// add masks and mines one line; the line is not kept.
func (mn *miner) add(line []byte) drain.Result {
	mn.buf = mn.m.Mask(mn.buf[:0], line)
	return mn.d.AddBytes(mn.buf)
}

// maxLineBytes is the longest line parse accepts.
const maxLineBytes = 64 << 20

// mineReader feeds every line of r to mn; onLine (if set) gets each line's
// length including its newline. It returns the number of lines.
func mineReader(r io.Reader, mn *miner, onLine func(n int)) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), maxLineBytes)
	var lines int64
	for sc.Scan() {
		line := sc.Bytes()
		if onLine != nil {
			onLine(len(line) + 1)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		mn.add(line)
		lines++
	}
	if err := sc.Err(); err != nil {
		return lines, fmt.Errorf("read line %d: %w", lines+1, err)
	}
	return lines, nil
}

// parseSummary is what `lognats parse` reports.
type parseSummary struct {
	Lines       int64          `json:"lines"`
	Templates   int            `json:"templates"`
	Seconds     float64        `json:"seconds"`
	LinesPerSec float64        `json:"lines_per_second"`
	Clusters    []parseCluster `json:"clusters,omitempty"`
}

type parseCluster struct {
	ID       int64  `json:"id"`
	Size     int64  `json:"size"`
	Template string `json:"template"`
	Label    string `json:"label,omitempty"`
}

type parseOptions struct {
	json, quiet bool
	config      string
}

// parseSaver stores a mined model; the app provides it so parse can --save.
type parseSaver func(cmd *cobra.Command, ref string, d *drain.Drain, sum parseSummary) error

func newParseCmd(save parseSaver) *cobra.Command {
	var opts parseOptions
	var saveRef string
	cmd := &cobra.Command{
		Use:   "parse FILE|-",
		Short: "Mine log templates from a file or standard input",
		Long: `Mine log templates: every line is masked (timestamps, IPs, ids, numbers...)
and clustered with Drain. Prints one row per template (id, size, template),
largest first, or a JSON document with --json, or a one-line summary with
--quiet.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if saveRef != "" {
				// Check the reference before spending time mining.
				m, err := modelstore.ParseModel(saveRef)
				if err != nil {
					return fmt.Errorf("invalid --save: %w", err)
				}
				if m.Kind != "drain" {
					return fmt.Errorf("invalid --save %q: parse produces DRAIN models, use drain/SCOPE", saveRef)
				}
			}
			d, sum, err := runParse(cmd, args[0], opts)
			if err != nil {
				return err
			}
			if err := printParse(cmd.OutOrStdout(), sum, opts); err != nil {
				return err
			}
			if saveRef != "" {
				return save(cmd, saveRef, d, sum)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the templates as JSON")
	cmd.Flags().BoolVar(&opts.quiet, "quiet", false, "print only a one-line summary: lines, templates, seconds, lines/s")
	cmd.Flags().StringVar(&opts.config, "config", "", "JSON file with mask and drain settings ({\"mask\":{...},\"drain\":{...}})")
	if save != nil {
		cmd.Flags().StringVar(&saveRef, "save", "", "store the mined model as a new version of drain/SCOPE (prints the new reference)")
	}
	return cmd
}

// runParse mines path ("-" for standard input) and returns the model and
// its summary, so callers (e.g. --save) can store the model.
func runParse(cmd *cobra.Command, path string, opts parseOptions) (*drain.Drain, parseSummary, error) {
	cfg, err := loadMiningConfig(opts.config)
	if err != nil {
		return nil, parseSummary{}, err
	}
	mn, err := newMiner(cfg)
	if err != nil {
		return nil, parseSummary{}, err
	}
	var in io.Reader = cmd.InOrStdin()
	var size int64 = -1
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, parseSummary{}, fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = f
	}
	var onLine func(int)
	out, isFile := cmd.OutOrStdout().(*os.File)
	if isFile && size > 0 && term.IsTerminal(int(out.Fd())) {
		bar := progressbar.DefaultBytes(size, "parsing")
		defer bar.Close()
		pending := 0
		onLine = func(n int) {
			// Updating per line would cost more than mining it.
			if pending += n; pending >= 1<<20 {
				_ = bar.Add(pending)
				pending = 0
			}
		}
		defer func() { _ = bar.Add(pending) }()
	}
	start := time.Now()
	lines, err := mineReader(in, mn, onLine)
	secs := time.Since(start).Seconds()
	if err != nil {
		return nil, parseSummary{}, fmt.Errorf("parse %s: %w", path, err)
	}
	sum := parseSummary{Lines: lines, Templates: mn.d.Len(), Seconds: secs}
	if secs > 0 {
		sum.LinesPerSec = float64(lines) / secs
	}
	if !opts.quiet {
		for _, c := range mn.d.Clusters() {
			sum.Clusters = append(sum.Clusters, parseCluster{ID: c.ID, Size: c.Size, Template: c.Template, Label: c.Label})
		}
		slices.SortStableFunc(sum.Clusters, func(a, b parseCluster) int {
			if a.Size != b.Size {
				if a.Size > b.Size {
					return -1
				}
				return 1
			}
			return 0
		})
	}
	return mn.d, sum, nil
}

func printParse(w io.Writer, sum parseSummary, opts parseOptions) error {
	var err error
	switch {
	case opts.quiet:
		_, err = fmt.Fprintf(w, "lines=%d templates=%d seconds=%.3f lines/s=%.0f\n", sum.Lines, sum.Templates, sum.Seconds, sum.LinesPerSec)
	case opts.json:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(sum)
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSIZE\tTEMPLATE")
		for _, c := range sum.Clusters {
			fmt.Fprintf(tw, "%d\t%d\t%s\n", c.ID, c.Size, printable(c.Template))
		}
		err = errors.Join(err, tw.Flush())
	}
	if err != nil {
		return fmt.Errorf("print templates: %w", err)
	}
	return nil
}

// printable escapes control characters (and tabs, which the table uses) so
// a template mined from binary junk cannot garble the terminal.
func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
