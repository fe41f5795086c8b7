package patient

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zarish-sphere/zarish/domain"
)

// Limits on the size of a profile.
const (
	maxNameLength        = 100
	maxGivenNames        = 10
	maxTelecom           = 20
	maxAddresses         = 10
	maxAddressLines      = 5
	maxAddressLineLength = 200
	maxPlaceLength       = 100
	maxPostalCodeLength  = 20
	maxEmergencyContacts = 10
	maxContactNameLength = 200
	maxIdentifiers       = 20
	maxIdentifierLength  = 200
	maxEmailLength       = 254
	maxPhoneLength       = 32 // digits and separators
	minPhoneDigits       = 7
	maxPhoneDigits       = 15
	earliestBirthDate    = "1900-01-01"
)

var (
	sexCodes        = codeSet("male", "female", "other", "unknown")
	telecomSystems  = codeSet("phone", "email")
	contactPointUse = codeSet("home", "work", "temp", "old", "mobile")
	addressUse      = codeSet("home", "work", "temp", "old", "billing")
)

// Normalized returns a copy of d with every string trimmed, email addresses
// lower-cased and country codes upper-cased. It never shares slices with d.
func (d Details) Normalized() Details {
	n := Details{
		Name: Name{
			Given:  trimAll(d.Name.Given),
			Family: strings.TrimSpace(d.Name.Family),
		},
		BirthDate: strings.TrimSpace(d.BirthDate),
		Sex:       strings.TrimSpace(d.Sex),
	}
	if d.Telecom != nil {
		n.Telecom = make([]ContactPoint, len(d.Telecom))
		for i, c := range d.Telecom {
			c.System = strings.TrimSpace(c.System)
			c.Value = strings.TrimSpace(c.Value)
			c.Use = strings.TrimSpace(c.Use)
			if c.System == "email" {
				c.Value = strings.ToLower(c.Value)
			}
			n.Telecom[i] = c
		}
	}
	if d.Address != nil {
		n.Address = make([]Address, len(d.Address))
		for i, a := range d.Address {
			n.Address[i] = Address{
				Use:        strings.TrimSpace(a.Use),
				Line:       trimAll(a.Line),
				City:       strings.TrimSpace(a.City),
				District:   strings.TrimSpace(a.District),
				State:      strings.TrimSpace(a.State),
				PostalCode: strings.TrimSpace(a.PostalCode),
				Country:    strings.ToUpper(strings.TrimSpace(a.Country)),
			}
		}
	}
	if d.EmergencyContacts != nil {
		n.EmergencyContacts = make([]EmergencyContact, len(d.EmergencyContacts))
		for i, c := range d.EmergencyContacts {
			n.EmergencyContacts[i] = EmergencyContact{
				Name:         strings.TrimSpace(c.Name),
				Relationship: strings.TrimSpace(c.Relationship),
				Phone:        strings.TrimSpace(c.Phone),
			}
		}
	}
	if d.Identifiers != nil {
		n.Identifiers = make([]Identifier, len(d.Identifiers))
		for i, id := range d.Identifiers {
			n.Identifiers[i] = Identifier{
				System: strings.TrimSpace(id.System),
				Value:  strings.TrimSpace(id.Value),
			}
		}
	}
	return n
}

// Validate checks the profile and returns nil or a *domain.ValidationError
// naming every invalid field at once, with paths such as "name.given[1]" or
// "telecom[0].value". It normalizes d itself first (see Normalized), so
// callers need not; now decides whether the birth date lies in the future.
func (d Details) Validate(now time.Time) error {
	d = d.Normalized()
	problems := &domain.ValidationError{}
	validateName(problems, d.Name)
	validateBirthDate(problems, d.BirthDate, now)
	switch {
	case d.Sex == "":
		problems.Add("sex", "is required")
	case !sexCodes[d.Sex]:
		problems.Add("sex", "must be one of male, female, other, unknown")
	}
	validateTelecom(problems, d.Telecom)
	validateAddresses(problems, d.Address)
	validateEmergencyContacts(problems, d.EmergencyContacts)
	validateIdentifiers(problems, d.Identifiers)
	return problems.OrNil()
}

func validateName(problems *domain.ValidationError, n Name) {
	switch {
	case n.Family == "":
		problems.Add("name.family", "is required")
	case tooLong(n.Family, maxNameLength):
		problems.Add("name.family", fmt.Sprintf("must be at most %d characters", maxNameLength))
	}
	switch {
	case len(n.Given) == 0:
		problems.Add("name.given", "at least one given name is required")
	case len(n.Given) > maxGivenNames:
		problems.Add("name.given", fmt.Sprintf("at most %d given names are allowed", maxGivenNames))
	}
	for i, given := range n.Given {
		field := fmt.Sprintf("name.given[%d]", i)
		switch {
		case given == "":
			problems.Add(field, "must not be empty")
		case tooLong(given, maxNameLength):
			problems.Add(field, fmt.Sprintf("must be at most %d characters", maxNameLength))
		}
	}
}

func validateBirthDate(problems *domain.ValidationError, birthDate string, now time.Time) {
	if birthDate == "" {
		problems.Add("birthDate", "is required")
		return
	}
	if err := checkDate(birthDate); err != nil {
		problems.Add("birthDate", err.Error())
		return
	}
	// Both sides are YYYY-MM-DD, so string order is calendar order.
	switch {
	case birthDate > now.UTC().Format(dateLayout):
		problems.Add("birthDate", "must not be in the future")
	case birthDate < earliestBirthDate:
		problems.Add("birthDate", "must not be before "+earliestBirthDate)
	}
}

func validateTelecom(problems *domain.ValidationError, telecom []ContactPoint) {
	if len(telecom) > maxTelecom {
		problems.Add("telecom", fmt.Sprintf("at most %d contact points are allowed", maxTelecom))
	}
	for i, c := range telecom {
		prefix := fmt.Sprintf("telecom[%d]", i)
		switch {
		case c.System == "":
			problems.Add(prefix+".system", "is required")
		case !telecomSystems[c.System]:
			problems.Add(prefix+".system", "must be phone or email")
		}
		switch {
		case c.Value == "":
			problems.Add(prefix+".value", "is required")
		case tooLong(c.Value, maxEmailLength):
			problems.Add(prefix+".value", fmt.Sprintf("must be at most %d characters", maxEmailLength))
		case c.System == "phone" && !validPhone(c.Value):
			problems.Add(prefix+".value", phoneMessage)
		case c.System == "email" && !validEmail(c.Value):
			problems.Add(prefix+".value", "is not a valid email address")
		}
		if c.Use != "" && !contactPointUse[c.Use] {
			problems.Add(prefix+".use", "must be one of home, work, temp, old, mobile")
		}
	}
}

func validateAddresses(problems *domain.ValidationError, addresses []Address) {
	if len(addresses) > maxAddresses {
		problems.Add("address", fmt.Sprintf("at most %d addresses are allowed", maxAddresses))
	}
	for i, a := range addresses {
		prefix := fmt.Sprintf("address[%d]", i)
		hasLine := false
		for _, line := range a.Line {
			if line != "" {
				hasLine = true
			}
		}
		if !hasLine && a.City == "" && a.PostalCode == "" && a.Country == "" {
			problems.Add(prefix, "needs at least one of line, city, postalCode or country")
		}
		if a.Use != "" && !addressUse[a.Use] {
			problems.Add(prefix+".use", "must be one of home, work, temp, old, billing")
		}
		if len(a.Line) > maxAddressLines {
			problems.Add(prefix+".line", fmt.Sprintf("at most %d lines are allowed", maxAddressLines))
		}
		for j, line := range a.Line {
			field := fmt.Sprintf("%s.line[%d]", prefix, j)
			switch {
			case line == "":
				problems.Add(field, "must not be empty")
			case tooLong(line, maxAddressLineLength):
				problems.Add(field, fmt.Sprintf("must be at most %d characters", maxAddressLineLength))
			}
		}
		for _, place := range []struct{ field, value string }{
			{"city", a.City}, {"district", a.District}, {"state", a.State},
		} {
			if tooLong(place.value, maxPlaceLength) {
				problems.Add(prefix+"."+place.field, fmt.Sprintf("must be at most %d characters", maxPlaceLength))
			}
		}
		if tooLong(a.PostalCode, maxPostalCodeLength) {
			problems.Add(prefix+".postalCode", fmt.Sprintf("must be at most %d characters", maxPostalCodeLength))
		}
		if a.Country != "" && !isCountryCode(a.Country) {
			problems.Add(prefix+".country", "must be a two-letter ISO 3166-1 country code")
		}
	}
}

func validateEmergencyContacts(problems *domain.ValidationError, contacts []EmergencyContact) {
	if len(contacts) > maxEmergencyContacts {
		problems.Add("emergencyContacts", fmt.Sprintf("at most %d emergency contacts are allowed", maxEmergencyContacts))
	}
	for i, c := range contacts {
		prefix := fmt.Sprintf("emergencyContacts[%d]", i)
		switch {
		case c.Name == "":
			problems.Add(prefix+".name", "is required")
		case tooLong(c.Name, maxContactNameLength):
			problems.Add(prefix+".name", fmt.Sprintf("must be at most %d characters", maxContactNameLength))
		}
		switch {
		case c.Relationship == "":
			problems.Add(prefix+".relationship", "is required")
		case tooLong(c.Relationship, maxNameLength):
			problems.Add(prefix+".relationship", fmt.Sprintf("must be at most %d characters", maxNameLength))
		}
		switch {
		case c.Phone == "":
			problems.Add(prefix+".phone", "is required")
		case !validPhone(c.Phone):
			problems.Add(prefix+".phone", phoneMessage)
		}
	}
}

func validateIdentifiers(problems *domain.ValidationError, identifiers []Identifier) {
	if len(identifiers) > maxIdentifiers {
		problems.Add("identifiers", fmt.Sprintf("at most %d identifiers are allowed", maxIdentifiers))
	}
	seen := make(map[string]int, len(identifiers))
	for i, id := range identifiers {
		prefix := fmt.Sprintf("identifiers[%d]", i)
		switch {
		case id.System == "":
			problems.Add(prefix+".system", "is required")
		case tooLong(id.System, maxIdentifierLength):
			problems.Add(prefix+".system", fmt.Sprintf("must be at most %d characters", maxIdentifierLength))
		case strings.Contains(id.System, identifierSeparator):
			problems.Add(prefix+".system", "must not contain "+identifierSeparator)
		}
		switch {
		case id.Value == "":
			problems.Add(prefix+".value", "is required")
		case tooLong(id.Value, maxIdentifierLength):
			problems.Add(prefix+".value", fmt.Sprintf("must be at most %d characters", maxIdentifierLength))
		}
		if id.System == "" || id.Value == "" {
			continue
		}
		key := IdentifierKey(id.System, id.Value)
		if first, ok := seen[key]; ok {
			problems.Add(prefix, fmt.Sprintf("repeats identifiers[%d]", first))
			continue
		}
		seen[key] = i
	}
}

const phoneMessage = "must be a phone number of 7 to 15 digits, optionally starting with +"

// validPhone reports whether s, once spaces, dashes, dots and parentheses are
// removed, is an optional leading + followed by 7 to 15 digits.
func validPhone(s string) bool {
	if tooLong(s, maxPhoneLength) {
		return false
	}
	compact := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	compact = strings.TrimPrefix(compact, "+")
	if len(compact) < minPhoneDigits || len(compact) > maxPhoneDigits {
		return false
	}
	for i := 0; i < len(compact); i++ {
		if compact[i] < '0' || compact[i] > '9' {
			return false
		}
	}
	return true
}

// validEmail reports whether s is a bare addr-spec such as "a@example.org":
// net/mail must parse it to exactly itself, with no display name or angle
// brackets, and the domain must contain a dot.
func validEmail(s string) bool {
	if len(s) > maxEmailLength {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at >= 0 && strings.Contains(s[at+1:], ".")
}

// isCountryCode reports whether s is two ASCII letters.
func isCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := s[i] | 0x20 // fold to lower case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func tooLong(s string, limit int) bool {
	return utf8.RuneCountInString(s) > limit
}

func trimAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func codeSet(codes ...string) map[string]bool {
	set := make(map[string]bool, len(codes))
	for _, c := range codes {
		set[c] = true
	}
	return set
}
