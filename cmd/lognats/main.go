// Command lognats finds anomalies in logs and keeps every model it learns in
// NATS JetStream Object Store. This package only parses flags and wires the
// internal packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Set by -ldflags at release time.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "Error: internal error: %v (please report this)\n", r)
			code = 70
		}
	}()
	a := &app{}
	root := a.rootCmd()
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// exitError carries a specific exit code (e.g. verify found damage).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "lognats",
		Short:         "Log anomaly detection with models kept in NATS JetStream Object Store",
		Long:          "lognats mines log templates (DRAIN), scores lines with a small transformer (NuLog style)\nand keeps every model it learns, versioned and digest-checked, in NATS JetStream Object Store.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd)
		},
	}
	a.bindGlobalFlags(root)
	root.AddCommand(
		a.versionCmd(),
		a.serveCmd(),
		a.modelsCmd(),
		a.runCmd(),
		a.ingestCmd(),
		a.statusCmd(),
		a.pretrainCmd(),
		a.demoCmd(),
	)
	a.addMore(root)
	return root
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the lognats version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.json {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"version": version})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lognats %s\n", version)
			return nil
		},
	}
}
