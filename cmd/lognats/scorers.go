package main

import (
	"context"
	"log/slog"

	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/pipeline"
)

// scorers gives the inference service its per-source models: the
// deep-learning detector stored as nulog/<source> (nulog/workload for
// workload lines), hot-swapped when its current version moves. Until a
// version has loaded for a source, the DRAIN rule serves it.
func (a *app) scorers(ctx context.Context, store *modelstore.Store, logger *slog.Logger) pipeline.ScorerSource {
	s, err := pipeline.NewNuLogScorers(ctx, store, pipeline.NuLogOptions{Logger: logger})
	if err != nil {
		logger.Error("deep-learning models not followed; the DRAIN rule serves every source", "err", err)
		return nil
	}
	return s
}
