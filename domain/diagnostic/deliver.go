package diagnostic

import (
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/notification"
)

// Delivery is a message a report's timeline asks to be put in a
// clinician's inbox: a version of the report sent to them (an entry
// notified), or the withdrawal of a report they received or opened (the
// entry entered-in-error).
type Delivery = notification.Message

// Summary names an order's tests for a person: the first one's display
// and how many more.
func (o Order) Summary() string {
	switch len(o.Items) {
	case 0:
		return "diagnostic"
	case 1:
		return o.Items[0].Display
	}
	return fmt.Sprintf("%s and %d more", o.Items[0].Display, len(o.Items)-1)
}

// Deliveries lists the messages the timeline entries after the first
// stored ask for, in timeline order. Only clinicians are sent messages
// here: the patient's release is theirs to open.
func (r Report) Deliveries(stored int) []Delivery {
	if stored < 0 || stored > len(r.Timeline) {
		return nil
	}
	var out []Delivery
	// The k-th notified entry of the timeline records Recipients[k].
	notified := 0
	for _, e := range r.Timeline[:stored] {
		if e.Kind == EventNotified {
			notified++
		}
	}
	for _, e := range r.Timeline[stored:] {
		switch e.Kind {
		case EventNotified:
			k := notified
			notified++
			if k >= len(r.Recipients) || r.Recipients[k].Role != ReaderClinician {
				continue
			}
			rc := r.Recipients[k]
			out = append(out, r.delivery(e, rc.Who, sentSeverity(e.Status), sentSubject(e.Status, r.Order), sentBody(r, e, rc.Version)))
		case EventEnteredInError:
			for _, who := range r.readers() {
				out = append(out, r.delivery(e, who, "warning", "Report withdrawn: "+r.Order.Summary(),
					fmt.Sprintf("The %s report was entered in error and is withdrawn: do not act on it. Reason: %s", r.Order.Summary(), e.Note)))
			}
		}
	}
	return out
}

func (r Report) delivery(e Entry, to uuid.UUID, severity, subject, body string) Delivery {
	return Delivery{
		ID:  uuid.NewSHA1(r.Order.ID, fmt.Appendf(nil, "notification/%d/%s", e.Seq, to)),
		Seq: e.Seq, To: to, Severity: severity, Subject: subject, Body: body,
	}
}

// readers are the clinicians who were sent or opened the report, each
// once, in the order they first were.
func (r Report) readers() []uuid.UUID {
	var who []uuid.UUID
	add := func(id uuid.UUID, role Reader) {
		if role == ReaderClinician && id != uuid.Nil && !slices.Contains(who, id) {
			who = append(who, id)
		}
	}
	for _, rc := range r.Recipients {
		add(rc.Who, rc.Role)
	}
	for _, o := range r.Openings {
		add(o.Who, o.Role)
	}
	return who
}

func sentSeverity(s Status) string {
	if s == StatusFinal {
		return "info"
	}
	return "warning"
}

func sentSubject(s Status, o Order) string {
	switch s {
	case StatusFinal:
		return "Final report: " + o.Summary()
	case StatusCorrected:
		return "Report corrected: " + o.Summary()
	}
	return "Report " + string(s) + ": " + o.Summary()
}

func sentBody(r Report, e Entry, version int) string {
	body := fmt.Sprintf("Version %d of the %s report (%s) is %s.", version, r.Order.Summary(), r.Order.Priority, e.Status)
	if e.Status == StatusCorrected {
		body += " A result changed since the version you were sent: compare the versions before acting on it."
	}
	return body
}
