package postgres

import (
	"encoding/json"
	"fmt"

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

// notificationEvent turns a notification into its outbox event, keyed by the
// patient and identified by the notification's stable id.
func notificationEvent(n alert.Notification) (OutboxEvent, error) {
	data, err := json.Marshal(NotificationRequested{
		NotificationID: n.ID.String(), AlertID: n.AlertID.String(), PatientID: n.PatientID.String(),
		Severity: string(n.Severity), Category: n.Category, Level: n.Level, Channel: string(n.Channel),
		Recipient: NotificationRecipient{PractitionerID: n.PractitionerID.String(), Name: n.Name},
		Address:   n.Address, Subject: n.Subject, Body: n.Body,
		CreatedAt: n.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
	})
	if err != nil {
		return OutboxEvent{}, fmt.Errorf("encode notification %s: %w", n.ID, err)
	}
	return OutboxEvent{
		ID: n.ID, Topic: NotificationsTopic, Key: n.PatientID.String(), Type: EventNotificationRequested,
		Source: "/v1/alerts/" + n.AlertID.String(), Subject: n.AlertID.String(), Time: n.CreatedAt, Data: data,
	}, nil
}
