package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain/notification"
)

// messagesAbout is where a process's in-app messages about one of its
// resources come from, and what they are about.
type messagesAbout struct {
	// About names the resource: "DiagnosticReport/<id>", "Procedure/<id>".
	About     string
	PatientID uuid.UUID
	Category  string
	// Source and Link are the outbox event's, as the resource's own
	// events carry them.
	Source, Link string
	// At is when the timeline entry seq happened.
	At func(seq int) time.Time
}

// appendMessages asks the notification dispatcher, through the outbox in
// the caller's transaction, for each in-app message: a notification.requested
// event about the resource rather than an alert, which the dispatcher puts
// in the practitioner's inbox and announces on their stream.
func appendMessages(ctx context.Context, tx pgx.Tx, m messagesAbout, msgs []notification.Message) error {
	for _, d := range msgs {
		ev, err := requestEvent(NotificationRequested{
			NotificationID: d.ID.String(), About: m.About, PatientID: m.PatientID.String(),
			Severity: d.Severity, Category: m.Category, Channel: notification.ChannelInApp,
			Recipient: NotificationRecipient{PractitionerID: d.To.String()}, Subject: d.Subject, Body: d.Body,
		}, d.ID, m.PatientID, m.At(d.Seq), m.Source, m.About, m.Link)
		if err != nil {
			return err
		}
		if err := appendOutbox(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}
