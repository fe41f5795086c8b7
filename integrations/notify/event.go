package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/notification"
)

// EventNotificationRequested is the CloudEvent type of a request to deliver
// a notification; other types on the topic are skipped.
const EventNotificationRequested = "notification.requested"

// Requested is the data of a notification.requested event.
type Requested struct {
	NotificationID uuid.UUID `json:"notificationId"`
	AlertID        uuid.UUID `json:"alertId"`
	// About names what a notification that is no alert's is about
	// ("DiagnosticReport/<id>"); such a request has no alertId.
	About     string    `json:"about,omitempty"`
	PatientID uuid.UUID `json:"patientId"`
	Severity  string    `json:"severity"`
	Category  string    `json:"category"`
	Level     int       `json:"level"`
	Channel   string    `json:"channel"`
	Recipient Recipient `json:"recipient"`
	Address   string    `json:"address"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
}

// Recipient is who a notification is for.
type Recipient struct {
	PractitionerID string `json:"practitionerId"`
	Name           string `json:"name"`
}

// parseRequested decodes and checks a notification.requested payload.
func parseRequested(data []byte) (Requested, error) {
	var r Requested
	if err := json.Unmarshal(data, &r); err != nil {
		return Requested{}, fmt.Errorf("decode notification request: %w", err)
	}
	var v domain.ValidationError
	if r.NotificationID == uuid.Nil {
		v.Add("notificationId", "required")
	}
	switch {
	case r.About != "" && !aboutRef(r.About):
		v.Add("about", `must be "<resource type>/<uuid>"`)
	case r.AlertID == uuid.Nil && r.About == "":
		v.Add("alertId", "required, unless about names what the notification is about")
	}
	if r.PatientID == uuid.Nil {
		v.Add("patientId", "required")
	}
	switch r.Severity {
	case "info", "warning", "urgent", "critical":
	default:
		v.Add("severity", "must be info, warning, urgent or critical")
	}
	// A missing address is not refused here: the notification is stored and
	// its first attempt fails permanently, so the alert's timeline shows it.
	switch r.Channel {
	case notification.ChannelInApp, notification.ChannelEmail, notification.ChannelSMS, notification.ChannelPush:
	default:
		v.Add("channel", "must be inapp, email, sms or push")
	}
	if r.Recipient.PractitionerID == "" {
		v.Add("recipient.practitionerId", "required")
	}
	if err := v.OrNil(); err != nil {
		return Requested{}, err
	}
	return r, nil
}

func (r Requested) toNotification() notification.Notification {
	return notification.Notification{
		ID:             r.NotificationID,
		AlertID:        r.AlertID,
		About:          r.About,
		PatientID:      r.PatientID,
		PractitionerID: r.Recipient.PractitionerID,
		RecipientName:  r.Recipient.Name,
		Channel:        r.Channel,
		Address:        r.Address,
		Subject:        r.Subject,
		Body:           r.Body,
		Severity:       r.Severity,
		Category:       r.Category,
		Level:          r.Level,
		CreatedAt:      r.CreatedAt,
	}
}

// aboutRef reports whether s is a reference "<resource type>/<uuid>".
func aboutRef(s string) bool {
	typ, id, ok := strings.Cut(s, "/")
	if !ok || typ == "" || len(typ) > 64 {
		return false
	}
	for _, c := range typ {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	_, err := uuid.Parse(id)
	return err == nil
}
