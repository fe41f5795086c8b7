package alert

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careteam"
)

// UnreachableNote says why level notified nobody on unit, in the words an
// operator fixing the care team needs: who each rule looked for ("no nurse
// on ward-3", "no physician on call for ward-3"), or, when the rules found
// people, that none of them has an address on the level's channels.
func UnreachableNote(level Level, unit string, found []careteam.Practitioner) string {
	if len(found) > 0 {
		names := make([]string, 0, len(found))
		for _, p := range found {
			names = append(names, p.Name)
		}
		channels := make([]string, 0, len(level.Channels))
		for _, c := range level.Channels {
			channels = append(channels, string(c))
		}
		return fmt.Sprintf("%s: no address for %s", strings.Join(names, ", "), strings.Join(channels, ", "))
	}
	var parts []string
	for _, r := range level.Recipients {
		var part string
		switch r.Kind {
		case RecipientUnitRole:
			part = fmt.Sprintf("no %s on %s", r.Role, unit)
		case RecipientOnCall:
			part = fmt.Sprintf("no %s on call for %s or hospital-wide", r.Role, unit)
		case RecipientPractitioner:
			part = fmt.Sprintf("practitioner %s is not active in the directory", r.PractitionerID)
		default:
			part = fmt.Sprintf("no recipient of kind %s", r.Kind)
		}
		if !slices.Contains(parts, part) {
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return "the level names no recipient"
	}
	return strings.Join(parts, "; ")
}

// UnreachableEvent is the timeline entry of a step that notified nobody.
func UnreachableEvent(step Step, note string, at time.Time) Event {
	return Event{Kind: EventUnreachable, At: at, Level: step.Level + 1, Round: step.Round, Note: note}
}

// OperatorName is how the fallback contact is named as a recipient.
const OperatorName = "Operator (fallback contact)"

// OperatorID stands for the fallback contact where a notification names
// its recipient's practitioner id: stable for the address, and never a
// practitioner of the directory.
func OperatorID(contact string) uuid.UUID {
	return uuid.NewSHA1(notificationSpace, []byte("operator/"+strings.ToLower(contact)))
}

// FallbackNotification is the email that tells the operator's fallback
// contact that no level of r's policy could be delivered, with why each
// failed (reasons, from the timeline). Its id is stable for the alert and
// the contact, so a retried write sends it once.
func FallbackNotification(r Raise, contact string, reasons []string, at time.Time) Notification {
	operator := OperatorID(contact)
	var body strings.Builder
	fmt.Fprintf(&body, "Nobody could be notified of this %s alert: act now, then fix the care team of %s.\n\n", r.Severity, r.Unit)
	fmt.Fprintf(&body, "%s\n\n", r.Message)
	for _, reason := range reasons {
		fmt.Fprintf(&body, "- %s\n", reason)
	}
	fmt.Fprintf(&body, "\nAlert %s, patient %s, category %s, raised by %s.\n", r.AlertID, r.PatientID, r.Category, r.Source)
	return Notification{
		ID: NotificationID(r.AlertID, Step{}, operator, ChannelEmail, string(EventUndeliverable)), Kind: EventNotified,
		AlertID: r.AlertID, PatientID: r.PatientID, Severity: r.Severity, Category: r.Category,
		Channel: ChannelEmail, PractitionerID: operator, Name: OperatorName, Address: contact,
		Subject: fmt.Sprintf("[%s] UNDELIVERABLE %s alert on %s: nobody could be notified", r.Severity, r.Category, r.Unit),
		Body:    body.String(), CreatedAt: at,
	}
}

// UndeliverableEvent is the timeline entry of an alert no level could
// deliver; contact is the fallback contact alerted instead, empty when none
// is configured.
func UndeliverableEvent(contact string, at time.Time) Event {
	note := "no level could be delivered; no fallback contact is configured (ALERT_FALLBACK_CONTACT)"
	if contact != "" {
		note = "no level could be delivered; the fallback contact " + contact + " was alerted"
	}
	return Event{Kind: EventUndeliverable, At: at, Note: note}
}
