package pipeline_test

import "github.com/lognats/lognats/internal/drain"

func drainConfig() drain.Config { return drain.DefaultConfig() }
