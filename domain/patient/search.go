package patient

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/zarish-sphere/zarish/domain"
)

// Paging limits for patient search.
const (
	// DefaultLimit is the page size when a search does not ask for one.
	DefaultLimit = 20
	// MaxLimit is the largest page size a search may ask for.
	MaxLimit = 100
)

const (
	identifierSeparator  = "|"
	minNameQueryLength   = 2
	maxNameQueryLength   = 100
	minPhoneQueryDigits  = 4
	maxPhoneQueryDigits  = 15
	maxIdentifierQuery   = 2*maxIdentifierLength + len(identifierSeparator)
	maxCursorQueryLength = 1024
)

// accents holds the combining diacritical marks that decomposing a Latin,
// Greek or Cyrillic letter splits off (é is e + U+0301). Only these blocks
// are folded away: the vowel signs and viramas of Bengali, Devanagari,
// Myanmar and similar scripts are also nonspacing marks, but they spell the
// name rather than accent it, and dropping them would make different names
// look alike.
var accents = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x0300, Hi: 0x036f, Stride: 1}, // Combining Diacritical Marks
		{Lo: 0x1ab0, Hi: 0x1aff, Stride: 1}, // ... Extended
		{Lo: 0x1dc0, Hi: 0x1dff, Stride: 1}, // ... Supplement
		{Lo: 0x20d0, Hi: 0x20ff, Stride: 1}, // ... for Symbols
		{Lo: 0xfe20, Hi: 0xfe2f, Stride: 1}, // Combining Half Marks
	},
}

// NameKey is the form a name is indexed under for search: the given names
// then the family name, lower-cased, with accents removed and runs of
// whitespace collapsed to one space. {Given: ["José", "María"], Family:
// "Muñoz  Ñandú"} keys as "jose maria munoz nandu".
func NameKey(n Name) string {
	parts := make([]string, 0, len(n.Given)+1)
	parts = append(parts, n.Given...)
	parts = append(parts, n.Family)
	return NormalizeQuery(strings.Join(parts, " "))
}

// NormalizeQuery folds a free-text name query the way NameKey folds a name,
// so a query can be matched against stored keys.
func NormalizeQuery(s string) string {
	s = strings.ToLower(s)
	// A transform.Chain keeps state, so each call builds its own.
	fold := transform.Chain(norm.NFD, runes.Remove(runes.In(accents)), norm.NFC)
	if folded, _, err := transform.String(fold, s); err == nil {
		s = folded
	}
	return strings.Join(strings.Fields(s), " ")
}

// PhoneDigits keeps only the digits 0-9 of a phone number (dropping any +),
// the form phones are indexed and searched by.
func PhoneDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// IdentifierKey is the form an identifier is indexed under: the trimmed
// system, "|", then the trimmed value. Details.Validate rejects a system that
// contains "|", so the first "|" of a key always ends the system.
func IdentifierKey(system, value string) string {
	return strings.TrimSpace(system) + identifierSeparator + strings.TrimSpace(value)
}

// Criteria is a patient search: every filter that is set must match. With no
// filter set it lists every patient, a page at a time.
type Criteria struct {
	// Name is a free-text name query, compared with NameKey after
	// NormalizeQuery folding.
	Name string
	// BirthDate matches exactly; YYYY-MM-DD.
	BirthDate string
	// MRN matches exactly; it must pass ValidateMRN.
	MRN string
	// Identifier is "system|value", split at the first "|"; both parts are
	// required, because identifiers are indexed by IdentifierKey.
	Identifier string
	// Phone matches on PhoneDigits; at least four digits.
	Phone string
	// Active, when set, keeps only active (true) or inactive (false) patients.
	Active *bool
	// Limit is the page size: 0 means DefaultLimit, otherwise 1 to MaxLimit.
	Limit int
	// Cursor is the opaque position returned with the previous page.
	Cursor string
}

// Validate returns nil or a *domain.ValidationError whose fields are named
// after the query parameters: name, birthDate, mrn, identifier, phone, limit
// and cursor. Surrounding whitespace is ignored, as in Normalized.
func (c Criteria) Validate() error {
	problems := &domain.ValidationError{}

	if name := strings.TrimSpace(c.Name); name != "" {
		switch n := utf8.RuneCountInString(NormalizeQuery(name)); {
		case n < minNameQueryLength:
			problems.Add("name", fmt.Sprintf("must be at least %d characters", minNameQueryLength))
		case n > maxNameQueryLength:
			problems.Add("name", fmt.Sprintf("must be at most %d characters", maxNameQueryLength))
		}
	}
	if birthDate := strings.TrimSpace(c.BirthDate); birthDate != "" {
		if err := checkDate(birthDate); err != nil {
			problems.Add("birthDate", err.Error())
		}
	}
	if mrn := strings.TrimSpace(c.MRN); mrn != "" {
		if err := ValidateMRN(mrn); err != nil {
			problems.Add("mrn", mrnMessage(err))
		}
	}
	if identifier := strings.TrimSpace(c.Identifier); identifier != "" {
		system, value, found := strings.Cut(identifier, identifierSeparator)
		switch {
		case !found || strings.TrimSpace(system) == "" || strings.TrimSpace(value) == "":
			problems.Add("identifier", "must be system|value")
		case len(identifier) > maxIdentifierQuery:
			problems.Add("identifier", fmt.Sprintf("must be at most %d characters", maxIdentifierQuery))
		}
	}
	if phone := strings.TrimSpace(c.Phone); phone != "" {
		switch n := len(PhoneDigits(phone)); {
		case n < minPhoneQueryDigits:
			problems.Add("phone", fmt.Sprintf("must contain at least %d digits", minPhoneQueryDigits))
		case n > maxPhoneQueryDigits:
			problems.Add("phone", fmt.Sprintf("must contain at most %d digits", maxPhoneQueryDigits))
		}
	}
	if c.Limit < 0 || c.Limit > MaxLimit {
		problems.Add("limit", fmt.Sprintf("must be between 1 and %d", MaxLimit))
	}
	if len(c.Cursor) > maxCursorQueryLength {
		problems.Add("cursor", "is too long")
	}
	return problems.OrNil()
}

// Normalized returns the criteria in the form stores compare against: Name
// through NormalizeQuery, Phone through PhoneDigits, Identifier through
// IdentifierKey, and BirthDate, MRN and Cursor trimmed. Call it after
// Validate.
func (c Criteria) Normalized() Criteria {
	n := c
	n.Name = NormalizeQuery(c.Name)
	n.BirthDate = strings.TrimSpace(c.BirthDate)
	n.MRN = strings.TrimSpace(c.MRN)
	n.Phone = PhoneDigits(c.Phone)
	n.Cursor = strings.TrimSpace(c.Cursor)
	n.Identifier = ""
	if system, value, found := strings.Cut(strings.TrimSpace(c.Identifier), identifierSeparator); found {
		n.Identifier = IdentifierKey(system, value)
	}
	if c.Active != nil {
		active := *c.Active
		n.Active = &active
	}
	return n
}

// PageSize is the number of patients to return: Limit, or DefaultLimit when
// Limit is 0, clamped to 1..MaxLimit.
func (c Criteria) PageSize() int {
	switch {
	case c.Limit == 0:
		return DefaultLimit
	case c.Limit < 1:
		return 1
	case c.Limit > MaxLimit:
		return MaxLimit
	}
	return c.Limit
}
