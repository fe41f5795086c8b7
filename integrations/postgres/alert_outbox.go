package postgres

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
)

// Notification events: what the notification dispatcher consumes.
const (
	// EventNotificationRequested asks the dispatcher to deliver one message.
	EventNotificationRequested = "notification.requested"
)

// NotificationRequested is the data of a notification.requested event.
type NotificationRequested struct {
	NotificationID string `json:"notificationId"`
	AlertID        string `json:"alertId,omitempty"`
	// About names what a notification that is no alert's is about:
	// "DiagnosticReport/<id>".
	About     string                `json:"about,omitempty"`
	PatientID string                `json:"patientId"`
	Severity  string                `json:"severity"`
	Category  string                `json:"category"`
	Level     int                   `json:"level"`
	Channel   string                `json:"channel"` // inapp, email, sms or push
	Recipient NotificationRecipient `json:"recipient"`
	Address   string                `json:"address"` // email, phone or push token; empty for inapp
	Subject   string                `json:"subject"`
	Body      string                `json:"body"`
	CreatedAt string                `json:"createdAt"` // RFC 3339
}

// NotificationRecipient is who a notification is for.
type NotificationRecipient struct {
	PractitionerID string `json:"practitionerId"`
	Name           string `json:"name"`
}

// Bounds of a notification.requested event's message, in bytes: the
// dispatcher delivers from the event, so it must never be written by
// reference (outbox.MaxEventBytes); even escaped six bytes per byte it fits.
const (
	maxNotificationSubject = 1 << 10
	maxNotificationBody    = 32 << 10
)

// clip cuts s to at most n bytes on a character boundary, marking the cut
// with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// notificationEvent turns a notification into its outbox event, keyed by the
// patient and identified by the notification's stable id. Its subject and
// body are clipped so that the event always carries the message.
func notificationEvent(n alert.Notification) (OutboxEvent, error) {
	return requestEvent(NotificationRequested{
		NotificationID: n.ID.String(), AlertID: n.AlertID.String(), PatientID: n.PatientID.String(),
		Severity: string(n.Severity), Category: n.Category, Level: n.Level, Channel: string(n.Channel),
		Recipient: NotificationRecipient{PractitionerID: n.PractitionerID.String(), Name: n.Name},
		Address:   n.Address, Subject: n.Subject, Body: n.Body,
	}, n.ID, n.PatientID, n.CreatedAt, "/v1/alerts/"+n.AlertID.String(), n.AlertID.String(),
		"/v1/notifications/alerts/"+n.AlertID.String())
}

// requestEvent is the notification.requested outbox event of req: it
// clips req's subject and body and dates it at; source, subject and link
// name what the notification is about.
func requestEvent(req NotificationRequested, id, patientID uuid.UUID, at time.Time, source, subject, link string) (OutboxEvent, error) {
	req.Subject, req.Body = clip(req.Subject, maxNotificationSubject), clip(req.Body, maxNotificationBody)
	req.CreatedAt = at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	data, err := json.Marshal(req)
	if err != nil {
		return OutboxEvent{}, fmt.Errorf("encode notification %s: %w", id, err)
	}
	return OutboxEvent{
		ID: id, Topic: NotificationsTopic, Key: patientID.String(), Type: EventNotificationRequested,
		Source: source, Subject: subject, Time: at, Data: data, Link: link,
	}, nil
}
