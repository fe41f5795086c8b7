// Package subscription describes outbound subscriptions: third-party
// systems that receive our CloudEvents by webhook. It holds what a
// subscription is and which events it wants (Matches), how a delivery is
// retried and when a subscription is paused (Policy), how a delivery is
// signed (Sign, Verify) and which endpoints may be called at all
// (CheckEndpoint, Allowed). It is pure Go: integrations/postgres keeps
// subscriptions and deliveries, integrations/webhook delivers.
package subscription

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Limits of a subscription, as the API documents them.
const (
	MaxNameLen      = 200
	MaxEventTypes   = 20
	MaxEventTypeLen = 200
	MaxCategoryLen  = 100
	MaxEndpointLen  = 2048
	MinSecretLen    = 16 // bytes
	MaxSecretLen    = 256
	MaxReasonLen    = 500
)

// Status says whether a subscription's events are delivered.
type Status string

// Subscription statuses: an active subscription's deliveries are sent; a
// paused one's wait (they are still enqueued) until it is resumed.
const (
	StatusActive Status = "active"
	StatusPaused Status = "paused"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == StatusActive || s == StatusPaused }

// Subscription is one third-party system's standing order for events: the
// CloudEvent types it wants, narrowed by patient and category, delivered
// to Endpoint signed with Secret.
type Subscription struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	// EventTypes are CloudEvent types (observation.recorded) or prefixes
	// ending in ".*" (observation.*); "*" is every event.
	EventTypes []string `json:"eventTypes"`
	// PatientID and Category, when set, keep only the events about that
	// patient, or of that category (an observation's vital-signs).
	PatientID *uuid.UUID `json:"patientId,omitempty"`
	Category  string     `json:"category,omitempty"`
	Endpoint  string     `json:"endpoint"`
	// Secret is the HMAC key of the signature; write-only at the API.
	Secret string `json:"-"`
	Status Status `json:"status"`
	// ConsecutiveFailures counts the failed attempts since the last
	// delivered one; PausedReason says why a paused subscription stopped.
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	PausedReason        string    `json:"pausedReason,omitempty"`
	CreatedBy           string    `json:"createdBy"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
	Version             int       `json:"version"`
}

// Validate reports every invalid field of s, by its API name.
func (s Subscription) Validate() error {
	verr := &domain.ValidationError{}
	name := strings.TrimSpace(s.Name)
	switch {
	case name == "":
		verr.Add("name", "is required")
	case utf8.RuneCountInString(s.Name) > MaxNameLen:
		verr.Add("name", fmt.Sprintf("must be at most %d characters", MaxNameLen))
	case !printable(s.Name):
		verr.Add("name", "must be text without control characters")
	}
	switch n := len(s.EventTypes); {
	case n == 0:
		verr.Add("eventTypes", "must name at least one event type")
	case n > MaxEventTypes:
		verr.Add("eventTypes", fmt.Sprintf("must name at most %d event types", MaxEventTypes))
	}
	seen := map[string]bool{}
	for i, t := range s.EventTypes {
		field := fmt.Sprintf("eventTypes[%d]", i)
		switch {
		case !validEventType(t):
			verr.Add(field, `must be an event type such as observation.recorded, a prefix such as observation.*, or *`)
		case seen[t]:
			verr.Add(field, "is named twice")
		}
		seen[t] = true
	}
	if s.PatientID != nil && *s.PatientID == uuid.Nil {
		verr.Add("patientId", "must be a patient id (UUID)")
	}
	if len(s.Category) > MaxCategoryLen || !printable(s.Category) || strings.TrimSpace(s.Category) != s.Category {
		verr.Add("category", fmt.Sprintf("must be a category of at most %d characters, without spaces around it", MaxCategoryLen))
	}
	if err := checkURL(s.Endpoint); err != nil {
		verr.Add("endpoint", err.Error())
	}
	switch {
	case len(s.Secret) < MinSecretLen:
		verr.Add("secret", fmt.Sprintf("must be at least %d bytes", MinSecretLen))
	case len(s.Secret) > MaxSecretLen:
		verr.Add("secret", fmt.Sprintf("must be at most %d bytes", MaxSecretLen))
	case !printable(s.Secret):
		verr.Add("secret", "must be text without control characters")
	}
	if !s.Status.Valid() {
		verr.Add("status", "must be active or paused")
	}
	return verr.OrNil()
}

// validEventType: "*", a dotted type of letters, digits, '-' and '_'
// (observation.recorded), or such a type's prefix followed by ".*".
func validEventType(t string) bool {
	if t == "*" {
		return true
	}
	if len(t) == 0 || len(t) > MaxEventTypeLen {
		return false
	}
	t = strings.TrimSuffix(t, ".*")
	for _, part := range strings.Split(t, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// checkURL accepts an absolute http or https URL with a host and no
// credentials or fragment; whether its host may be called is CheckEndpoint's.
func checkURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("is required")
	}
	if len(raw) > MaxEndpointLen {
		return fmt.Errorf("must be at most %d characters", MaxEndpointLen)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("must be an absolute http or https URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("must be an https (or http) URL")
	case u.Hostname() == "":
		return fmt.Errorf("must name a host")
	case u.User != nil:
		return fmt.Errorf("must not carry credentials; the signature authenticates us")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("must not have a fragment")
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Matches reports whether an event of eventType, about patientID (uuid.Nil
// when it names none) and of category ("" when it has none), is one s
// wants. A patient or category filter keeps only events that name that
// patient or category. Status is not considered: a paused subscription's
// events are still enqueued.
func (s Subscription) Matches(eventType string, patientID uuid.UUID, category string) bool {
	if s.PatientID != nil && *s.PatientID != patientID {
		return false
	}
	if s.Category != "" && s.Category != category {
		return false
	}
	for _, t := range s.EventTypes {
		if TypeMatches(t, eventType) {
			return true
		}
	}
	return false
}

// TypeMatches reports whether eventType is pattern, or falls under it:
// "*" matches every type, "observation.*" every type starting
// "observation.".
func TypeMatches(pattern, eventType string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(eventType, prefix) && len(eventType) > len(prefix)
	}
	return pattern == eventType
}

// Filter selects subscriptions; zero fields do not filter.
type Filter struct {
	Status Status
	Limit  int
	Cursor string // Next of the previous page
}

// Page is one page of subscriptions, newest first; Next is empty on the
// last page.
type Page struct {
	Subscriptions []Subscription
	Next          string
}
