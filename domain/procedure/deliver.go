package procedure

import (
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/notification"
)

// Deliveries lists the in-app messages the timeline entries after the
// first stored ask for, in timeline order: the requester and the slot's
// team hear of a booking, each reminder, a move (the team of the slot given
// up too), a bump, a cancellation, a no-show; the requester of a hold that
// lapsed unbooked.
func (p Procedure) Deliveries(stored int) []notification.Message {
	if stored < 0 || stored > len(p.Timeline) {
		return nil
	}
	var out []notification.Message
	what := p.Request.Procedure.Display
	for _, e := range p.Timeline[stored:] {
		var (
			to                []uuid.UUID
			severity          = "info"
			subject, body     string
			slotText, oldText string
		)
		if p.Slot != nil {
			slotText = periodText(p.Slot.Period)
		}
		if p.Released != nil {
			oldText = periodText(p.Released.Period)
		}
		switch e.Kind {
		case EventBooked:
			to = p.people(p.Slot)
			subject, body = "Procedure booked: "+what, fmt.Sprintf("%s is booked for %s.", what, slotText)
		case EventReminded:
			to = p.people(p.Slot)
			subject, body = "Reminder: "+what, fmt.Sprintf("%s is booked for %s. %s", what, slotText, e.Note)
		case EventRescheduled:
			to, severity = p.people(p.Slot, p.Released), "warning"
			subject, body = "Procedure moved: "+what, fmt.Sprintf("%s moved from %s to %s: %s", what, oldText, slotText, e.Note)
		case EventBumped:
			to, severity = p.people(p.Released), "warning"
			subject = "Procedure moved for an emergency: " + what
			body = fmt.Sprintf("An emergency needs the slot of %s (%s); a new slot is being found and will be sent.", what, oldText)
		case EventCancelled:
			to, severity = p.people(p.Slot), "warning"
			subject, body = "Procedure cancelled: "+what, fmt.Sprintf("%s (%s) is cancelled: %s", what, slotText, e.Note)
		case EventNoShow:
			to, severity = p.people(p.Slot), "warning"
			subject, body = "Patient did not arrive: "+what, fmt.Sprintf("%s (%s): %s", what, slotText, e.Note)
		case EventHoldExpired:
			to, severity = p.people(nil), "warning"
			subject, body = "Slot not booked: "+what, "The slot held for "+what+" lapsed before it was booked: reschedule to search again."
		default:
			continue
		}
		for _, who := range to {
			out = append(out, notification.Message{
				ID:  uuid.NewSHA1(p.Request.ID, fmt.Appendf(nil, "notification/%d/%s", e.Seq, who)),
				Seq: e.Seq, To: who, Severity: severity, Subject: subject, Body: body,
			})
		}
	}
	return out
}

// people are the requester and the teams of the slots, each once.
func (p Procedure) people(slots ...*Slot) []uuid.UUID {
	var who []uuid.UUID
	add := func(id uuid.UUID) {
		if id != uuid.Nil && !slices.Contains(who, id) {
			who = append(who, id)
		}
	}
	add(p.Request.RequesterID)
	for _, s := range slots {
		if s != nil {
			for _, id := range s.Team {
				add(id)
			}
		}
	}
	return who
}
