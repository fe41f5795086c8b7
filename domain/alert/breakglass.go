package alert

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// Every break-the-glass access raises an alert for the privacy officer's
// review, routed like any other alert.
const (
	// CategoryBreakGlass is the category of the review alerts.
	CategoryBreakGlass = "break-glass"
	// PolicyBreakGlass is the policy they escalate by, shipped with the
	// engine: the privacy officer on call (hospital-wide), in the app and by
	// email, again and again until somebody acknowledges. Nobody holding
	// the role makes the alert undeliverable: the operator's alarm.
	PolicyBreakGlass = "break-glass-review"
	// UnitHospital is the unit of every review alert, wherever the patient
	// is: no unit's shift covers it, so the on-call rule finds the
	// hospital-wide shift, and nobody works on it, so the ward's clinicians
	// (the one who broke the glass among them) cannot resolve the review.
	UnitHospital = "hospital"
)

// breakGlassSeverity is how urgent a review is: someone must look, but no
// patient is in danger from it.
const breakGlassSeverity = SeverityWarning

// maxBreakGlassReason bounds the stated reason quoted in a review alert's
// message (the API keeps at most 500 characters of it).
const maxBreakGlassReason = 500

// breakGlassPatient is the patient a break-the-glass record is about: its
// patient, else the first patient a search returned; false for none.
func breakGlassPatient(rec audit.Record) (uuid.UUID, bool) {
	switch {
	case rec.PatientID != nil && *rec.PatientID != uuid.Nil:
		return *rec.PatientID, true
	case len(rec.PatientIDs) > 0 && rec.PatientIDs[0] != uuid.Nil:
		return rec.PatientIDs[0], true
	}
	return uuid.Nil, false
}

// BreakGlassRaise is the review alert of the break-the-glass access rec
// records, for its patient, hospital-wide (UnitHospital). Its source names
// the person who broke the glass, so that their further accesses to the
// same patient's record, while the alert is open, join it instead of
// raising one alert each (the break-glass report lists every access). A record that is no break-the-glass access, or names
// no patient (an alert is always about one), is a *domain.ValidationError.
func BreakGlassRaise(rec audit.Record) (Raise, error) {
	var v domain.ValidationError
	if strings.TrimSpace(rec.BreakGlass) == "" {
		v.Add("breakGlass", "the audit record "+rec.ID.String()+" is no break-the-glass access")
	}
	patient, ok := breakGlassPatient(rec)
	if !ok {
		v.Add("patientId", "the break-the-glass record "+rec.ID.String()+" names no patient to raise the review alert for")
	}
	if err := v.OrNil(); err != nil {
		return Raise{}, err
	}
	return Raise{
		PatientID: patient, Unit: UnitHospital, Severity: breakGlassSeverity, Category: CategoryBreakGlass,
		Message: breakGlassMessage(rec, patient), Source: clipRunes("break-glass/"+actorKey(rec.Actor), MaxSourceLen),
		PolicyID: PolicyBreakGlass,
	}, nil
}

// BreakGlassIdempotency makes raising the review alert of one record
// idempotent: a raise repeated for it, however late, answers the alert the
// first one resolved to.
func BreakGlassIdempotency(recordID uuid.UUID) domain.Idempotency {
	return RaiseIdempotency("break-glass-review", recordID.String())
}

// actorKey names who broke the glass: the practitioner, else the user, else
// the token's subject or client.
func actorKey(a audit.Actor) string {
	switch {
	case a.PractitionerID != "":
		return "practitioner/" + a.PractitionerID
	case a.UserID != "":
		return "user/" + a.UserID
	case a.Subject != "":
		return "subject/" + a.Subject
	default:
		return "client/" + a.ClientID
	}
}

// breakGlassMessage tells the privacy officer who opened whose record, how,
// when and why, and where to review it.
func breakGlassMessage(rec audit.Record, patient uuid.UUID) string {
	who := rec.Actor.Subject
	switch {
	case rec.Actor.PractitionerID != "" && rec.Actor.Asserted:
		who = "practitioner " + rec.Actor.PractitionerID + " (named by the client)"
	case rec.Actor.PractitionerID != "":
		who = "practitioner " + rec.Actor.PractitionerID
	case rec.Actor.UserID != "":
		who = "user " + rec.Actor.UserID
	}
	what := rec.EntityType
	if rec.EntityID != "" {
		what += "/" + rec.EntityID
	}
	others := ""
	if n := len(rec.PatientIDs); n > 1 {
		others = fmt.Sprintf(" and %d other patients", n-1)
	}
	msg := fmt.Sprintf("Break-the-glass access to the record of patient %s%s by %s, client %s, at %s: %s %s (%s %s, outcome %s). "+
		"Reason given: %q. Review it: audit record %s, GET /v1/audit/reports/break-glass.",
		patient, others, clipRunes(who, 100), clipRunes(rec.Actor.ClientID, 100), rec.Time.UTC().Format(time.RFC3339),
		rec.Action, clipRunes(what, 100), rec.Method, clipRunes(rec.Route, 100), rec.Outcome,
		clipRunes(rec.BreakGlass, maxBreakGlassReason), rec.ID)
	return clipRunes(msg, MaxMessageLen)
}

// clipRunes cuts s to at most n characters, marking a cut with an ellipsis.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
