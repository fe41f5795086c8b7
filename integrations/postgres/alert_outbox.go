package postgres

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/zarish-sphere/zarish/domain/alert"
)

// Notification events: what the notification dispatcher consumes.
const (
	// EventNotificationRequested asks the dispatcher to deliver one message.
	EventNotificationRequested = "notification.requested"
)

// NotificationRequested is the data of a notification.requested event.
type NotificationRequested struct {
	NotificationID string                `json:"notificationId"`
	AlertID        string                `json:"alertId"`
	PatientID      string                `json:"patientId"`
	Severity       string                `json:"severity"`
	Category       string                `json:"category"`
	Level          int                   `json:"level"`
	Channel        string                `json:"channel"` // inapp, email, sms or push
	Recipient      NotificationRecipient `json:"recipient"`
	Address        string                `json:"address"` // email, phone or push token; empty for inapp
	Subject        string                `json:"subject"`
	Body           string                `json:"body"`
	CreatedAt      string                `json:"createdAt"` // RFC 3339
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
	data, err := json.Marshal(NotificationRequested{
		NotificationID: n.ID.String(), AlertID: n.AlertID.String(), PatientID: n.PatientID.String(),
		Severity: string(n.Severity), Category: n.Category, Level: n.Level, Channel: string(n.Channel),
		Recipient: NotificationRecipient{PractitionerID: n.PractitionerID.String(), Name: n.Name},
		Address:   n.Address, Subject: clip(n.Subject, maxNotificationSubject), Body: clip(n.Body, maxNotificationBody),
		CreatedAt: n.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
	})
	if err != nil {
		return OutboxEvent{}, fmt.Errorf("encode notification %s: %w", n.ID, err)
	}
	return OutboxEvent{
		ID: n.ID, Topic: NotificationsTopic, Key: n.PatientID.String(), Type: EventNotificationRequested,
		Source: "/v1/alerts/" + n.AlertID.String(), Subject: n.AlertID.String(), Time: n.CreatedAt, Data: data,
		Link: "/v1/notifications/alerts/" + n.AlertID.String(),
	}, nil
}
