package main

import "github.com/spf13/cobra"

// addMore attaches the commands of later subsystems.
func (a *app) addMore(root *cobra.Command) {}
