package alert

import (
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/zarish-sphere/zarish/domain"
)

// Size limits of an alert and an escalation policy, in characters and items.
// Workflow inputs carry these fields, so they stay far below Temporal's
// payload limit.
const (
	MaxUnitLen       = 100
	MaxCategoryLen   = 100
	MaxMessageLen    = 1000
	MaxSourceLen     = 200
	MaxPolicyNameLen = 200
	MaxLevels        = 20
	MaxRecipients    = 20
	MaxChannels      = 4
)

// PolicyIDPattern is what a policy id, chosen by its author, looks like: it
// names the policy in paths (/v1/notifications/policies/{id}) and routing
// rules, so it is a short lower-case slug.
const PolicyIDPattern = `^[a-z0-9][a-z0-9._-]{0,63}$`

var policyID = regexp.MustCompile(PolicyIDPattern)

// ValidPolicyID reports whether id is a well-formed policy id.
func ValidPolicyID(id string) bool { return policyID.MatchString(id) }

// checkSizes adds the raise's oversized fields to v.
func (r Raise) checkSizes(v *domain.ValidationError) {
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"unit", r.Unit, MaxUnitLen}, {"category", r.Category, MaxCategoryLen},
		{"message", r.Message, MaxMessageLen}, {"source", r.Source, MaxSourceLen},
	} {
		if utf8.RuneCountInString(f.value) > f.max {
			v.Add(f.name, "must be at most "+strconv.Itoa(f.max)+" characters")
		}
	}
	// PolicyID is not checked against PolicyIDPattern here: Validate runs
	// inside the escalation workflow, and an alert raised before the pattern
	// existed must replay; the API refuses malformed ids at its edge, and an
	// unknown one names no policy.
	if utf8.RuneCountInString(r.PolicyID) > 64 {
		v.Add("policyId", "must be at most 64 characters")
	}
}

// checkSizes adds the policy's malformed id and oversized fields to v; it
// reports false when the levels are too many to check one by one.
func (p Policy) checkSizes(v *domain.ValidationError) bool {
	if p.ID != "" && !ValidPolicyID(p.ID) {
		v.Add("id", "must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters ("+PolicyIDPattern+")")
	}
	if utf8.RuneCountInString(p.Name) > MaxPolicyNameLen {
		v.Add("name", "must be at most "+strconv.Itoa(MaxPolicyNameLen)+" characters")
	}
	if len(p.Levels) > MaxLevels {
		v.Add("levels", "must hold at most "+strconv.Itoa(MaxLevels)+" items")
		return false
	}
	for i, l := range p.Levels {
		f := "levels[" + strconv.Itoa(i) + "]"
		if len(l.Recipients) > MaxRecipients {
			v.Add(f+".recipients", "must hold at most "+strconv.Itoa(MaxRecipients)+" items")
		}
		if len(l.Channels) > MaxChannels {
			v.Add(f+".channels", "must hold at most "+strconv.Itoa(MaxChannels)+" items")
		}
	}
	return true
}
