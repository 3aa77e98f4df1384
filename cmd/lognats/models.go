package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/lognats/lognats/internal/detecteval"
	"github.com/lognats/lognats/internal/modelstore"
)

// progressMin is the size from which transfers show a progress bar.
const progressMin = 8 << 20

func (a *app) modelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "models",
		Aliases: []string{"model"},
		Short:   "Manage model versions in NATS Object Store (put, get, ls, info, history, rm, promote, watch, verify, gc)",
	}
	cmd.AddCommand(a.modelsPutCmd(), a.modelsGetCmd(), a.modelsLsCmd(), a.modelsInfoCmd(), a.modelsHistoryCmd(),
		a.modelsRmCmd(), a.modelsPromoteCmd(), a.modelsWatchCmd(), a.modelsVerifyCmd(), a.modelsGCCmd())
	return cmd
}

// looksLikeKind sniffs the first bytes of a model the services load:
// drain/* are gzip-compressed DRAIN snapshots, nulog/* detector bundles.
// Other kinds are the user's own.
func looksLikeKind(kind string, head []byte) bool {
	switch kind {
	case "drain":
		return len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b
	case "nulog":
		return detecteval.LooksLikeBundle(head)
	}
	return true
}

// withStore runs f with an open store and closes the connection afterwards.
func (a *app) withStore(ctx context.Context, role string, f func(*modelstore.Store) error) error {
	s, c, err := a.openStore(ctx, role)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(s)
}

func (a *app) openStoreOn(ctx context.Context, c *conn) (*modelstore.Store, error) {
	return modelstore.Open(ctx, c.nc, a.store)
}

func newBar(w io.Writer, size int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (a *app) modelsPutCmd() *cobra.Command {
	var meta []string
	var format string
	var formatVersion int
	var noPromote bool
	cmd := &cobra.Command{
		Use:   "put KIND/SCOPE FILE",
		Short: "Store FILE (or - for stdin) as a new version; prints KIND/SCOPE@vN",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := modelstore.ParseModel(args[0])
			if err != nil {
				return err
			}
			md, err := parseMeta(meta)
			if err != nil {
				return err
			}
			var src io.Reader = cmd.InOrStdin()
			var size int64 = -1
			if args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return fmt.Errorf("open model file: %w", err)
				}
				defer f.Close()
				st, err := f.Stat()
				if err != nil {
					return fmt.Errorf("stat model file: %w", err)
				}
				if st.IsDir() {
					return fmt.Errorf("model file %s is a directory", args[1])
				}
				src, size = f, st.Size()
			}
			switch {
			case formatVersion < 0:
				return fmt.Errorf("invalid --format-version %d: want 0 or more", formatVersion)
			case formatVersion != 0 && format == "":
				return errors.New("--format-version needs --format")
			}
			br := bufio.NewReader(src)
			src = br
			if head, _ := br.Peek(8); !looksLikeKind(m.Kind, head) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s does not look like a lognats %s model; the services will refuse it and keep serving the current version\n", args[1], m.Kind)
			}
			opts := modelstore.PutOptions{Format: format, FormatVersion: formatVersion, Meta: md, NoPromote: noPromote}
			if isTerminal(os.Stderr) && (size < 0 || size >= progressMin) {
				bar := newBar(os.Stderr, size, "put "+m.String())
				opts.Progress = func(n int64) { _ = bar.Set64(n) }
				defer bar.Finish()
			}
			return a.withStore(cmd.Context(), "models put", func(s *modelstore.Store) error {
				v, err := s.Put(cmd.Context(), m, src, opts)
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "stored %s/%s (%s, sha256 %s)%s\n", v.Bucket, v.Object, humanBytes(v.Size), v.SHA256[:16], map[bool]string{true: ", now current", false: ""}[v.Current])
				fmt.Fprintln(w, v.Ref.String())
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&meta, "meta", nil, "metadata KEY=VALUE (repeatable)")
	cmd.Flags().StringVar(&format, "format", "", "format name of the model file")
	cmd.Flags().IntVar(&formatVersion, "format-version", 0, "format version of the model file")
	cmd.Flags().BoolVar(&noPromote, "no-promote", false, "store without making it the current version")
	return cmd
}

func (a *app) modelsGetCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "get KIND/SCOPE[@vN] -o FILE",
		Short: "Fetch a version (the current one by default); the file appears only once its digest checks out",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := modelstore.ParseRef(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("missing -o FILE (use -o - for standard output)")
			}
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				if out == "-" {
					_, err := s.Get(cmd.Context(), r, cmd.OutOrStdout())
					return err
				}
				v, err := getToFile(cmd.Context(), s, r, out)
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s (%s, sha256 %s)\n", out, v.Ref, humanBytes(v.Size), v.SHA256[:16])
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (- for standard output)")
	return cmd
}

// getToFile streams into a temp file beside out and renames it only after
// the digest is checked, so a failed get never leaves a partial file.
func getToFile(ctx context.Context, s *modelstore.Store, r modelstore.Ref, out string) (modelstore.Version, error) {
	// Write through a symlink to its target, and straight into devices and
	// FIFOs: renaming over them would replace the link or the device node.
	for range 40 { // follow links, dangling ones included
		lst, err := os.Lstat(out)
		if err != nil || lst.Mode()&os.ModeSymlink == 0 {
			break
		}
		target, err := os.Readlink(out)
		if err != nil {
			return modelstore.Version{}, fmt.Errorf("read link %s: %w", out, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(out), target)
		}
		out = target
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(out); err == nil {
		if !st.Mode().IsRegular() {
			if st.IsDir() {
				return modelstore.Version{}, fmt.Errorf("output %s is a directory", out)
			}
			return getToDevice(ctx, s, r, out)
		}
		mode = st.Mode().Perm()
	}
	rd, err := s.Open(ctx, r)
	if err != nil {
		return modelstore.Version{}, err
	}
	defer rd.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".lognats-*")
	if err != nil {
		return modelstore.Version{}, fmt.Errorf("create temp file for %s: %w", out, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var w io.Writer = tmp
	if isTerminal(os.Stderr) && rd.Version.Size >= progressMin {
		bar := newBar(os.Stderr, int64(rd.Version.Size), "get "+rd.Version.Ref.String())
		defer bar.Finish()
		w = io.MultiWriter(tmp, bar)
	}
	if _, err := io.Copy(w, rd); err != nil {
		return rd.Version, err
	}
	if err := tmp.Sync(); err != nil {
		return rd.Version, fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return rd.Version, fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return rd.Version, fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return rd.Version, fmt.Errorf("rename into %s: %w", out, err)
	}
	ok = true
	return rd.Version, nil
}

func (a *app) modelsLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List models with their current and latest versions",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				sums, err := s.List(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					if sums == nil {
						sums = []modelstore.Summary{}
					}
					return writeJSON(cmd.OutOrStdout(), sums)
				}
				if len(sums) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no models stored yet")
					return nil
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "MODEL\tCURRENT\tLATEST\tVERSIONS\tSIZE\tBUCKET\tUPDATED")
				for _, sm := range sums {
					cur := "-"
					if sm.Current > 0 {
						cur = fmt.Sprintf("v%d", sm.Current)
					}
					fmt.Fprintf(tw, "%s\t%s\tv%d\t%d\t%s\t%s\t%s\n", sm.Model, cur, sm.Latest, sm.Versions, humanBytes(sm.Size), sm.Bucket, fmtTime(sm.Updated))
				}
				return tw.Flush()
			})
		},
	}
}

func (a *app) printVersions(w io.Writer, vs []modelstore.Version) error {
	if a.json {
		if vs == nil {
			vs = []modelstore.Version{}
		}
		return writeJSON(w, vs)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REF\tCURRENT\tSIZE\tSHA256\tPARENT\tCREATED\tFORMAT\tMETA")
	for _, v := range vs {
		cur, parent, format := "", "-", v.Format
		if v.Current {
			cur = "*"
		}
		if v.Parent > 0 {
			parent = fmt.Sprintf("v%d", v.Parent)
		}
		if format != "" {
			format = fmt.Sprintf("%s/%d", v.Format, v.FormatVersion)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Ref, cur, humanBytes(v.Size), v.SHA256[:16], parent, fmtTime(v.Created), format, fmtMeta(v.Meta))
	}
	return tw.Flush()
}

func (a *app) modelsInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info KIND/SCOPE[@vN]",
		Short: "Show one version's metadata",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := modelstore.ParseRef(args[0])
			if err != nil {
				return err
			}
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				v, err := s.Info(cmd.Context(), r)
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				format, parent := "-", "-"
				if v.Format != "" {
					format = fmt.Sprintf("%s v%d", v.Format, v.FormatVersion)
				}
				if v.Parent > 0 {
					parent = fmt.Sprintf("v%d", v.Parent)
				}
				fmt.Fprintf(w, "Ref:\t%s\nCurrent:\t%v\nObject:\t%s/%s\nSize:\t%d (%s)\nSHA-256:\t%s\nChunks:\t%d\nFormat:\t%s\nCreated:\t%s\nParent:\t%s\n",
					v.Ref, v.Current, v.Bucket, v.Object, v.Size, humanBytes(v.Size), v.SHA256, v.Chunks, format, v.Created.Format(time.RFC3339), parent)
				for k, val := range v.Meta {
					fmt.Fprintf(w, "Meta %s:\t%s\n", k, val)
				}
				return w.Flush()
			})
		},
	}
}

func (a *app) modelsHistoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "history KIND/SCOPE",
		Short: "List the stored versions of a model, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := modelstore.ParseModel(args[0])
			if err != nil {
				return err
			}
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				vs, err := s.History(cmd.Context(), m)
				if err != nil {
					return err
				}
				if len(vs) == 0 && !a.json {
					return fmt.Errorf("%w: %s has no versions", modelstore.ErrNotFound, m)
				}
				return a.printVersions(cmd.OutOrStdout(), vs)
			})
		},
	}
}

func (a *app) modelsRmCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm KIND/SCOPE@vN",
		Short: "Delete a version (not the current one unless --force)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := modelstore.ParseRef(args[0])
			if err != nil {
				return err
			}
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				if err := s.Delete(cmd.Context(), r, force); err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), map[string]string{"deleted": r.String()})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", r)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "also delete the current version (the model is left without one)")
	return cmd
}

func (a *app) modelsPromoteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "promote KIND/SCOPE@vN",
		Short: "Make a version current (rollback); it is read and digest-checked first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := modelstore.ParseRef(args[0])
			if err != nil {
				return err
			}
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				v, err := s.Promote(cmd.Context(), r)
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is now current\n", v.Ref)
				return nil
			})
		},
	}
}

func (a *app) modelsWatchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "watch [KIND/SCOPE]",
		Short: "Print a line each time a model's current version moves (until interrupted)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var m *modelstore.Model
			if len(args) == 1 {
				if strings.Contains(args[0], "@") {
					return fmt.Errorf("watch follows a model, not a version: use %s", args[0][:strings.Index(args[0], "@")])
				}
				mm, err := modelstore.ParseModel(args[0])
				if err != nil {
					return err
				}
				m = &mm
			}
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				ch, err := s.Watch(cmd.Context(), m)
				if err != nil {
					return err
				}
				for ev := range ch {
					if a.json {
						if err := writeJSONLine(cmd.OutOrStdout(), ev); err != nil {
							return err
						}
						continue
					}
					what := "moved to"
					if ev.Initial {
						what = "is"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s current %s v%d (sha256 %.16s)\n", time.Now().Format(time.TimeOnly), ev.Model, what, ev.Version, ev.SHA256)
				}
				return nil
			})
		},
	}
}

func (a *app) modelsVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Read every version and check its digest; exit 3 and name each damaged one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				rep, err := s.Verify(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					if rep.Problems == nil {
						rep.Problems = []modelstore.Problem{}
					}
					if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
						return err
					}
				} else {
					for _, p := range rep.Problems {
						fmt.Fprintf(cmd.OutOrStdout(), "BAD  %s  %s: %s\n", p.Ref, p.Object, p.Err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "checked %d versions (%s), %d damaged\n", rep.Checked, humanBytes(rep.Bytes), len(rep.Problems))
				}
				if len(rep.Problems) > 0 {
					return &exitError{code: 3, err: fmt.Errorf("%d damaged model object(s)", len(rep.Problems))}
				}
				return nil
			})
		},
	}
}

func (a *app) modelsGCCmd() *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Purge chunks of interrupted puts, delete markers and versions past retention",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < 0 {
				return errors.New("invalid --grace: must not be negative")
			}
			return a.withStore(cmd.Context(), "models", func(s *modelstore.Store) error {
				rep, err := s.GC(cmd.Context(), grace)
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(cmd.OutOrStdout(), rep)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "purged %d interrupted put(s) (%d chunks), %d delete marker(s), %d version(s) past retention; %d young orphan(s) left for later\nbucket streams: %s -> %s\n",
					rep.OrphanPuts, rep.Chunks, rep.Tombstones, rep.Pruned, rep.Skipped, humanBytes(rep.BytesBefore), humanBytes(rep.BytesAfter))
				return nil
			})
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", modelstore.DefaultGCGrace, "leave orphan chunks younger than this alone (a put may still be running)")
	return cmd
}

// getToDevice streams a version into an existing non-regular file (a device
// or FIFO); there is nothing to rename, so write errors are reported as such.
func getToDevice(ctx context.Context, s *modelstore.Store, r modelstore.Ref, out string) (modelstore.Version, error) {
	f, err := os.OpenFile(out, os.O_WRONLY, 0)
	if err != nil {
		return modelstore.Version{}, fmt.Errorf("open output %s: %w", out, err)
	}
	v, err := s.Get(ctx, r, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close output %s: %w", out, cerr)
	}
	return v, err
}
