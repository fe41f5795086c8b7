package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

// Channel is how a notification reaches a person.
type Channel string

// The channels a level may notify on.
const (
	ChannelInApp Channel = "inapp"
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelPush  Channel = "push"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	return c == ChannelInApp || c == ChannelEmail || c == ChannelSMS || c == ChannelPush
}

// RecipientKind says how a level's recipient is found in the directory.
type RecipientKind string

// The ways a level names its recipients.
const (
	// RecipientPractitioner is one named practitioner.
	RecipientPractitioner RecipientKind = "practitioner"
	// RecipientUnitRole is everyone holding the role on the patient's unit.
	RecipientUnitRole RecipientKind = "unit-role"
	// RecipientOnCall is whoever is on call for the role at the moment of
	// notification: on the patient's unit, else hospital-wide.
	RecipientOnCall RecipientKind = "on-call"
)

// RecipientRule names who a level notifies.
type RecipientRule struct {
	Kind           RecipientKind `json:"kind"`
	PractitionerID uuid.UUID     `json:"practitionerId,omitempty"`
	Role           careteam.Role `json:"role,omitempty"`
}

// Level is one step of an escalation policy.
type Level struct {
	Recipients []RecipientRule `json:"recipients"`
	Channels   []Channel       `json:"channels"`
	AckTimeout time.Duration   `json:"-"` // how long to wait before escalating
}

// levelJSON is Level on the wire: the timeout in seconds
// (ackTimeoutSeconds). Earlier encodings carried it in nanoseconds
// (ackTimeout); those still decode, so recorded workflow histories replay.
type levelJSON struct {
	Recipients        []RecipientRule `json:"recipients"`
	Channels          []Channel       `json:"channels"`
	AckTimeoutSeconds float64         `json:"ackTimeoutSeconds"`
	AckTimeoutNanos   *int64          `json:"ackTimeout,omitempty"`
}

// MarshalJSON writes the timeout in seconds.
func (l Level) MarshalJSON() ([]byte, error) {
	return json.Marshal(levelJSON{Recipients: l.Recipients, Channels: l.Channels,
		AckTimeoutSeconds: l.AckTimeout.Seconds()})
}

// UnmarshalJSON reads ackTimeoutSeconds, or the older ackTimeout in nanoseconds.
func (l *Level) UnmarshalJSON(b []byte) error {
	var w levelJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	l.Recipients, l.Channels = w.Recipients, w.Channels
	l.AckTimeout = time.Duration(w.AckTimeoutSeconds * float64(time.Second))
	if w.AckTimeoutSeconds == 0 && w.AckTimeoutNanos != nil {
		l.AckTimeout = time.Duration(*w.AckTimeoutNanos)
	}
	return nil
}

// Policy is an ordered list of levels, walked Repeat+1 times before the
// alert is exhausted.
type Policy struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Levels []Level `json:"levels"`
	// Repeat is how many more times the levels are walked after the first.
	Repeat int `json:"repeat"`
	// ResolveReminder, when positive, re-notifies whoever acknowledged an
	// alert that is still unresolved after this long.
	ResolveReminder time.Duration `json:"resolveReminder,omitempty"`
	// ResolverRoles are the care-team roles (a charge nurse, the rapid
	// response team) whose holders may resolve the policy's alerts besides
	// its recipients and the clinicians of the alert's unit (see
	// Record.MayResolve).
	ResolverRoles []careteam.Role `json:"resolverRoles,omitempty"`
}

// Validate reports every invalid field of the policy.
func (p Policy) Validate() error {
	var v domain.ValidationError
	if strings.TrimSpace(p.ID) == "" {
		v.Add("id", "required")
	}
	if len(p.Levels) == 0 {
		v.Add("levels", "at least one level is required")
	}
	if p.Repeat < 0 {
		v.Add("repeat", "must not be negative")
	}
	for _, r := range p.ResolverRoles {
		if !r.Valid() {
			v.Add("resolverRoles", "must hold known care-team roles")
			break
		}
	}
	if !p.checkSizes(&v) {
		return v.OrNil()
	}
	for i, l := range p.Levels {
		f := fmt.Sprintf("levels[%d]", i)
		if len(l.Recipients) == 0 {
			v.Add(f+".recipients", "at least one recipient is required")
		}
		if len(l.Channels) == 0 {
			v.Add(f+".channels", "at least one channel is required")
		}
		for _, c := range l.Channels {
			if !c.Valid() {
				v.Add(f+".channels", "must be inapp, email, sms or push")
			}
		}
		if l.AckTimeout <= 0 {
			v.Add(f+".ackTimeoutSeconds", "must be positive")
		}
		for _, r := range l.Recipients {
			switch r.Kind {
			case RecipientPractitioner:
				if r.PractitionerID == uuid.Nil {
					v.Add(f+".recipients", "a practitioner recipient needs practitionerId")
				}
			case RecipientUnitRole, RecipientOnCall:
				if !r.Role.Valid() {
					v.Add(f+".recipients", "a "+string(r.Kind)+" recipient needs a known role")
				}
			default:
				v.Add(f+".recipients", "kind must be practitioner, unit-role or on-call")
			}
		}
	}
	return v.OrNil()
}

// Step is a position in a policy: a level (0-based) in a round (0-based).
type Step struct {
	Level int `json:"level"`
	Round int `json:"round"`
}

// Next returns the step after s, or ok=false when the policy is exhausted.
func (p Policy) Next(s Step) (next Step, ok bool) {
	if s.Level+1 < len(p.Levels) {
		return Step{Level: s.Level + 1, Round: s.Round}, true
	}
	if s.Round < p.Repeat {
		return Step{Level: 0, Round: s.Round + 1}, true
	}
	return Step{}, false
}

// RoutingRule picks a policy for alerts of a category (empty: any) at or
// above a severity.
type RoutingRule struct {
	ID          uuid.UUID `json:"id"`
	Category    string    `json:"category"`
	MinSeverity Severity  `json:"minSeverity"`
	PolicyID    string    `json:"policyId"`
}

// ErrNoPolicy means no routing rule matches an alert.
var ErrNoPolicy = errors.New("no escalation policy matches the alert")

// SelectPolicy returns the policy of the best rule for category and severity:
// a rule naming the category beats a catch-all, and among those the one with
// the highest minimum severity the alert still reaches. Ties go to the
// lowest policy id, so the choice never depends on rule order.
func SelectPolicy(rules []RoutingRule, category string, severity Severity) (string, error) {
	var best *RoutingRule
	better := func(a, b RoutingRule) bool {
		if (a.Category != "") != (b.Category != "") {
			return a.Category != ""
		}
		if a.MinSeverity.Rank() != b.MinSeverity.Rank() {
			return a.MinSeverity.Rank() > b.MinSeverity.Rank()
		}
		return a.PolicyID < b.PolicyID
	}
	for i := range rules {
		r := rules[i]
		if (r.Category != "" && r.Category != category) || !severity.AtLeast(r.MinSeverity) {
			continue
		}
		if best == nil || better(r, *best) {
			best = &rules[i]
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: category %q, severity %s", ErrNoPolicy, category, severity)
	}
	return best.PolicyID, nil
}
