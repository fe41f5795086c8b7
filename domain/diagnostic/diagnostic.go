// Package diagnostic is a diagnostic order's life as the DiagnosticReport
// process keeps it: ordered against the shipped test catalogue, specimens
// collected, received or rejected and recollected, results linked as they
// arrive from the observation service (a preliminary report while some are
// missing), delta-check flags reviewed, verified by the laboratory, a
// pathologist or a radiologist, released to the patient, amended or
// corrected with every version kept, and withdrawn when entered in error. It
// also holds the pure parts of the critical-result callback (the read-back),
// the turnaround of each stage against its targets, the quality metrics over
// many orders, and the imaging studies an imaging report refers to.
//
// The package is pure: every change is a function of the report, the request
// and the time, returning the next report or a refusal wrapping
// ErrInvalidTransition or ErrInvalidArgument. The workflow holds the state
// and the read model stores each version with its timeline entry.
//
// This material contains content from LOINC (http://loinc.org); see
// LOINC-NOTICE.md beside this file.
package diagnostic

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The refusals every change answers with. Match them with errors.Is, never
// by message: a refusal may wrap more than one.
var (
	// ErrInvalidTransition: the report's status (or its stage) forbids the change.
	ErrInvalidTransition = errors.New("invalid diagnostic report transition")
	// ErrInvalidArgument: the request itself is wrong.
	ErrInvalidArgument = errors.New("invalid diagnostic report request")
	// ErrUnreviewedFlags refuses a verification while delta-check flags
	// await review; it also wraps ErrInvalidTransition.
	ErrUnreviewedFlags = errors.New("delta-check flags await review")
	// ErrReadBackMismatch refuses a critical-result read-back that does not
	// match the result; it also wraps ErrInvalidArgument, and the message
	// names both values.
	ErrReadBackMismatch = errors.New("the read-back does not match the result")
	// ErrNotReleased refuses the patient's opening of a report not released
	// to them; it also wraps ErrInvalidTransition.
	ErrNotReleased = errors.New("the report is not released to the patient")
)

// Limits on what a person writes into a report, and on how long its
// history grows; beyond them the order is placed again.
const (
	MaxTests           = 20
	MaxClinicalInfoLen = 2000
	MaxSpecimenNoteLen = 1000
	MaxReasonLen       = 1000
	MaxNoteLen         = 1000
	MaxConclusionLen   = 10000
	MaxAddendumLen     = 5000
	MaxConclusionCodes = 20
	MaxAccessionLen    = 40
	MaxSpecimens       = 30
	MaxAttempts        = 20
	MaxRecipients      = 200
	MaxOpenings        = 1000
	MaxVersions        = 50
	MaxStudies         = 10
	MaxChannelLen      = 40
)

// EventKind names an entry of a report's timeline; each is also the outbox
// event type diagnostic-report.<kind> (verified as diagnostic-report.final).
type EventKind string

// The timeline entries.
const (
	EventOrdered           EventKind = "ordered"
	EventCollected         EventKind = "specimen-collected"
	EventReceived          EventKind = "specimen-received"
	EventRejected          EventKind = "specimen-rejected"
	EventResulted          EventKind = "result-recorded"
	EventResultWithdrawn   EventKind = "result-withdrawn"
	EventStudyLinked       EventKind = "study-linked"
	EventFlagReviewed      EventKind = "flag-reviewed"
	EventCallbackAttempted EventKind = "callback-attempted"
	EventCallbackClosed    EventKind = "callback-closed"
	EventVerified          EventKind = "verified"
	EventReleased          EventKind = "released"
	EventNotified          EventKind = "notified"
	EventOpened            EventKind = "opened"
	EventAmended           EventKind = "amended"
	EventAppended          EventKind = "appended"
	EventCorrected         EventKind = "corrected"
	EventTargetMissed      EventKind = "target-missed"
	EventCancelled         EventKind = "cancelled"
	EventEnteredInError    EventKind = "entered-in-error"
)

// Entry is one entry of the timeline: what happened, when, who did it, and
// the status it left.
type Entry struct {
	Seq    int       `json:"seq"` // 1-based position in the timeline
	Kind   EventKind `json:"kind"`
	At     time.Time `json:"at"`
	By     uuid.UUID `json:"by,omitzero"` // empty for the process's own steps
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// Coding is a code from a code system with its display text.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// CategoryCriticalResult is the category of the alert a critical result's
// read-back callback raises to the orderer. It takes over from the
// observation service's critical-value alert for the same value: that one
// yields to it.
const CategoryCriticalResult = "critical-result"

// Source is the process name alerts and events raised for the report carry.
func Source(reportID uuid.UUID) string { return "diagnostic/" + reportID.String() }

// text checks a person's free text: trimmed, at most limit characters, and
// required when required is set. It returns the trimmed text or why it is
// refused.
func text(s string, limit int, required bool) (string, string) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return "", "must be valid text"
	case required && s == "":
		return "", "required"
	case utf8.RuneCountInString(s) > limit:
		return "", "at most " + strconv.Itoa(limit) + " characters"
	}
	return s, ""
}
