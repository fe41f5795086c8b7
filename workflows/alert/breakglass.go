package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// AuditRecords reads an audit record by id.
type AuditRecords interface {
	Get(ctx context.Context, id uuid.UUID) (audit.Record, error)
}

// BreakGlass raises the privacy officer's review alert of break-the-glass
// accesses, as a consumer of their events (integrations/notify
// BreakGlassConsumer) asks.
type BreakGlass struct {
	Client client.Client
	Alerts RaiseStore
	Audit  AuditRecords
}

// RaiseBreakGlass raises the review alert of the break-the-glass access the
// audit record recordID holds (alert.BreakGlassRaise), through Raise: it
// joins the same person's open review alert for the same patient, and it is
// idempotent per record — raising for the same record again, however late,
// answers the alert the first raise resolved to. A record that is missing
// (domain.ErrNotFound), no break-the-glass access or about no patient
// (*domain.ValidationError) will never raise one; any other error may pass.
func (b BreakGlass) RaiseBreakGlass(ctx context.Context, recordID uuid.UUID) (alert.Raised, error) {
	rec, err := b.Audit.Get(ctx, recordID)
	if err != nil {
		return alert.Raised{}, fmt.Errorf("break-the-glass record %s: %w", recordID, err)
	}
	r, err := alert.BreakGlassRaise(rec)
	if err != nil {
		return alert.Raised{}, err
	}
	idem := alert.BreakGlassIdempotency(rec.ID)
	return Raise(ctx, b.Client, b.Alerts, alert.RaiseRequest{Raise: r, At: time.Now(), Idempotency: &idem})
}
