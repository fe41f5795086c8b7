package procedure

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Limits on a request and on what people write into a procedure.
const (
	MinDuration     = 5 * time.Minute
	MaxDuration     = 24 * time.Hour
	MaxRequirements = 10
	// MaxStaffCount is the most members of staff one requirement asks for.
	MaxStaffCount = 6
	// MaxWindow is the longest window a slot is searched in.
	MaxWindow        = 180 * 24 * time.Hour
	MaxDisplayLen    = 200
	MaxNotesLen      = 2000 // the request's notes and the completion's
	MaxReasonLen     = 1000 // a cancellation or reschedule reason
	MaxNoteLen       = 1000 // a checklist item's note, or why no slot was found
	MaxComplications = 20
	MaxTeam          = 20
)

// CheckRequest reports every invalid field of a request at once, as a
// *domain.ValidationError whose fields are JSON paths ("procedure.code",
// "requirements[1].skill", "window.to"); nil when it is valid. An empty
// priority is valid: NewProcedure makes it elective.
func CheckRequest(r Request) error {
	var v domain.ValidationError
	checkRequest(r, &v)
	return v.OrNil()
}

func checkRequest(r Request, v *domain.ValidationError) {
	if r.ID == uuid.Nil {
		v.Add("id", "required")
	}
	if r.PatientID == uuid.Nil {
		v.Add("patientId", "required")
	}
	if r.EncounterID != nil && *r.EncounterID == uuid.Nil {
		v.Add("encounterId", "must be an encounter id")
	}
	if r.RequesterID == uuid.Nil {
		v.Add("requesterId", "required")
	}
	if r.PreferredPractitionerID != nil && *r.PreferredPractitionerID == uuid.Nil {
		v.Add("preferredPractitionerId", "must be a practitioner id")
	}
	if r.CreatedAt.IsZero() {
		v.Add("createdAt", "required")
	}
	checkCoding(r.Procedure, v)
	switch {
	case r.Duration < MinDuration || r.Duration > MaxDuration:
		v.Add("duration", "must be from 5 minutes to 24 hours")
	case r.Duration%time.Minute != 0:
		v.Add("duration", "must be whole minutes")
	}
	checkRequirements(r.Requirements, v)
	checkWindow(r, v)
	if r.Priority != "" && !r.Priority.Valid() {
		v.Add("priority", "must be one of elective, urgent, emergency")
	}
	if _, why := cleanText(r.Notes, MaxNotesLen, false); why != "" {
		v.Add("notes", why)
	}
}

func checkCoding(c Coding, v *domain.ValidationError) {
	switch c.System {
	case SystemSNOMED:
		if !ValidSCTID(c.Code) {
			v.Add("procedure.code", strconv.Quote(c.Code)+" is not a SNOMED CT concept id (6 to 18 digits ending in a Verhoeff check digit)")
		}
	case SystemCPT:
		if !ValidCPT(c.Code) {
			v.Add("procedure.code", strconv.Quote(c.Code)+" is not a CPT code (5 digits, or 4 digits and F or T)")
		}
	case "":
		v.Add("procedure.system", "required")
	default:
		v.Add("procedure.system", "must be SNOMED CT ("+SystemSNOMED+") or CPT ("+SystemCPT+")")
	}
	if _, why := cleanText(c.Display, MaxDisplayLen, true); why != "" {
		v.Add("procedure.display", why)
	}
}

func checkRequirements(qs []Requirement, v *domain.ValidationError) {
	switch {
	case len(qs) == 0:
		v.Add("requirements", "at least one room, member of staff or piece of equipment is required")
		return
	case len(qs) > MaxRequirements:
		v.Add("requirements", "at most "+strconv.Itoa(MaxRequirements))
		return
	}
	rooms := 0
	for i, q := range qs {
		field := "requirements[" + strconv.Itoa(i) + "]"
		if !q.Type.Valid() {
			v.Add(field+".type", "must be room, staff or equipment")
		}
		// Each type takes its own attribute, from the directory's
		// vocabulary; the others must be empty.
		checkAttribute(v, field+".capability", q.Capability, q.Type, KindRoom, func(s string) string {
			return known(s, Capabilities)
		})
		checkAttribute(v, field+".skill", q.Skill, q.Type, KindStaff, func(s string) string { return known(s, Skills) })
		checkAttribute(v, field+".kind", q.Kind, q.Type, KindEquipment, func(s string) string {
			if len(s) > MaxEquipmentKindLen || !lowerKebab(s) {
				return "must be lower-case words joined by hyphens, such as c-arm, at most " + strconv.Itoa(MaxEquipmentKindLen) + " characters"
			}
			return ""
		})
		switch {
		case q.Type == KindStaff && (q.Count < 0 || q.Count > MaxStaffCount):
			v.Add(field+".count", "must be from 0 (one) to "+strconv.Itoa(MaxStaffCount))
		case q.Type != KindStaff && q.Count != 0:
			v.Add(field+".count", "only a staff requirement has a count")
		}
		if q.Type == KindRoom {
			if rooms++; rooms > 1 {
				v.Add(field, "a procedure takes one room")
			}
		}
		// Two pieces of one kind of equipment are two requirements; staff
		// of one skill are one, with a count.
		for j, o := range qs[:i] {
			if q.Type == KindStaff && o.Type == KindStaff && o.Skill == q.Skill {
				v.Add(field, "the same as requirements["+strconv.Itoa(j)+"]: raise its count instead")
				break
			}
		}
	}
}

func checkWindow(r Request, v *domain.ValidationError) {
	w := r.Window
	if w.From.IsZero() {
		v.Add("window.from", "required")
	}
	switch {
	case w.To.IsZero():
		v.Add("window.to", "required")
	case w.From.IsZero():
	case !w.From.Before(w.To):
		v.Add("window.to", "must be after window.from")
	case w.To.Sub(w.From) > MaxWindow:
		v.Add("window.to", "the window is at most 180 days long")
	case r.Duration > 0 && w.To.Sub(w.From) < r.Duration:
		v.Add("window.to", "the window is shorter than the procedure's duration")
	case !r.CreatedAt.IsZero() && !w.To.After(r.CreatedAt):
		v.Add("window.to", "the window has passed")
	}
}

// checkAttribute checks the attribute field of a requirement of type t:
// required, and valid as why says, when t is the type owning it (owner);
// empty otherwise.
func checkAttribute(v *domain.ValidationError, field, value string, t, owner ResourceKind, why func(string) string) {
	name := field[strings.LastIndexByte(field, '.')+1:]
	switch {
	case t == owner && value == "":
		v.Add(field, "required")
	case t == owner:
		if w := why(value); w != "" {
			v.Add(field, w)
		}
	case value != "" && t.Valid():
		v.Add(field, "a "+string(t)+" requirement has no "+name)
	}
}

func known(s string, list []string) string {
	if !slices.Contains(list, s) {
		return "must be one of " + strings.Join(list, ", ")
	}
	return ""
}

// ValidCPT reports whether s has the form of a CPT code: five digits
// (Category I), or four digits and F (Category II, performance measures) or
// T (Category III, emerging technology). It does not say the code exists.
func ValidCPT(s string) bool {
	if len(s) != 5 {
		return false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[4] >= '0' && s[4] <= '9' || s[4] == 'F' || s[4] == 'T'
}

// ValidSCTID reports whether s is a well-formed SNOMED CT concept id: 6 to
// 18 digits without a leading zero, whose two digits before the last, the
// partition identifier, are 00 (a concept of the International Edition) or
// 10 (a concept of an extension, with its seven-digit namespace before the
// partition), and whose last digit is the Verhoeff check digit of the rest.
// It does not say the concept exists.
//
// Source: SNOMED CT Release File Specification, 6.4 "Check-digit" and 6.4.2
// "Check-digit Computation" (the SCTID check digit, formerly in the
// Technical Implementation Guide);
// https://docs.snomed.org/snomed-ct-specifications/snomed-ct-release-file-specification/snomed-ct-identifiers/6.4-check-digit
func ValidSCTID(s string) bool {
	n := len(s)
	if n < 6 || n > 18 || s[0] == '0' {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	switch s[n-3 : n-1] {
	case "00":
	case "10":
		if n < 11 {
			return false
		}
	default:
		return false
	}
	return verhoeffCheckDigit(s[:n-1]) == s[n-1]
}

// Verhoeff's dihedral-group check (J. Verhoeff, Error Detecting Decimal
// Codes, 1969), as the SNOMED CT specification above tabulates it: d is
// multiplication in the dihedral group D5, p the permutation applied to a
// digit by its position (p[i] = p[i-1] ∘ p[1]), inv the inverse in D5.
var (
	verhoeffD = [10][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	verhoeffInv = [10]uint8{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

// verhoeffCheckDigit is the check digit to append to the digits of s:
// the digits are read right to left, the check digit's place being
// position 0, so the first digit of s is at position 1.
func verhoeffCheckDigit(s string) byte {
	c := uint8(0)
	for i := 0; i < len(s); i++ {
		c = verhoeffD[c][verhoeffP[(i+1)%8][s[len(s)-1-i]-'0']]
	}
	return '0' + verhoeffInv[c]
}

// cleanText checks a person's free text: trimmed, at most limit characters,
// and required when required is set. It returns the trimmed text or why it
// is refused.
func cleanText(s string, limit int, required bool) (string, string) {
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

// refuseText is cleanText's refusal as an ErrInvalidArgument naming field.
func refuseText(field, s string, limit int, required bool) (string, error) {
	t, why := cleanText(s, limit, required)
	if why != "" {
		return "", fmt.Errorf("%w: %s: %s", ErrInvalidArgument, field, why)
	}
	return t, nil
}
