package alert

import (
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careteam"
)

// Notification asks for one message to one practitioner on one channel.
type Notification struct {
	ID             uuid.UUID `json:"notificationId"`
	Kind           EventKind `json:"kind"` // notified, or reminded for a resolve reminder
	AlertID        uuid.UUID `json:"alertId"`
	PatientID      uuid.UUID `json:"patientId"`
	Severity       Severity  `json:"severity"`
	Category       string    `json:"category"`
	Level          int       `json:"level"` // 1-based, as people count levels
	Round          int       `json:"round"` // 0-based repeat of the policy
	Channel        Channel   `json:"channel"`
	PractitionerID uuid.UUID `json:"practitionerId"`
	Name           string    `json:"name"`
	Address        string    `json:"address"` // email, phone or push token; empty for inapp
	Subject        string    `json:"subject"`
	Body           string    `json:"body"`
	CreatedAt      time.Time `json:"createdAt"`
}

// notificationSpace namespaces notification ids.
var notificationSpace = uuid.MustParse("0b8e3c52-7d4a-4e61-8f0e-5a9c2b1d6e37")

// NotificationID is stable for an alert, step, practitioner and channel, so a
// retried write produces the same id instead of a second message. kind
// separates escalation notifications ("") from other kinds such as reminders.
func NotificationID(alertID uuid.UUID, step Step, practitionerID uuid.UUID, channel Channel, kind string) uuid.UUID {
	name := alertID.String() + "/" + strconv.Itoa(step.Level) + "/" + strconv.Itoa(step.Round) + "/" +
		practitionerID.String() + "/" + string(channel)
	if kind != "" {
		name += "/" + kind
	}
	return uuid.NewSHA1(notificationSpace, []byte(name))
}

// address returns where channel reaches p; ok=false when p has no such address.
func address(p careteam.Practitioner, c Channel) (string, bool) {
	var sys careteam.ContactSystem
	switch c {
	case ChannelInApp:
		return "", true
	case ChannelEmail:
		sys = careteam.ContactEmail
	case ChannelSMS:
		sys = careteam.ContactPhone
	case ChannelPush:
		sys = careteam.ContactPush
	default:
		return "", false
	}
	a := p.Contact(sys)
	return a, a != ""
}

// Notifications builds the messages of one step: each recipient on each of
// the channels they can be reached on. kind is passed to NotificationID; a
// non-empty kind makes the messages reminders.
func Notifications(r Raise, step Step, kind string, channels []Channel, recipients []careteam.Practitioner, at time.Time) []Notification {
	subject := fmt.Sprintf("[%s] %s alert on %s", r.Severity, r.Category, r.Unit)
	event := EventNotified
	if kind != "" {
		subject, event = "Reminder: "+subject, EventReminded
	}
	var out []Notification
	for _, p := range recipients {
		for _, c := range channels {
			addr, ok := address(p, c)
			if !ok {
				continue
			}
			out = append(out, Notification{
				ID: NotificationID(r.AlertID, step, p.ID, c, kind), Kind: event, AlertID: r.AlertID, PatientID: r.PatientID,
				Severity: r.Severity, Category: r.Category, Level: step.Level + 1, Round: step.Round,
				Channel: c, PractitionerID: p.ID, Name: p.Name, Address: addr,
				Subject: subject, Body: r.Message, CreatedAt: at,
			})
		}
	}
	return out
}
