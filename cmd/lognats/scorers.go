package main

import (
	"context"
	"log/slog"

	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/pipeline"
)

// scorers gives the inference service its per-source models. Until a
// deep-learning model is stored for a source, the DRAIN rule serves it.
func (a *app) scorers(ctx context.Context, store *modelstore.Store, logger *slog.Logger) pipeline.ScorerSource {
	return nil
}
