package api

import (
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// edge is what every service's handlers share: the logger, the clock, the
// id source, and the one way failures are answered (fail, workflowFailure).
// Each service's handler struct holds it beside the few dependencies that
// service uses.
type edge struct {
	log   *slog.Logger
	now   func() time.Time
	newID func() (uuid.UUID, error)
	steps StepKeys // claims steps' Idempotency-Keys
}
