package patient

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// clinicNow is the moment the tests pretend it is: mid-morning in Dhaka.
var clinicNow = time.Date(2025, 6, 15, 10, 0, 0, 0, time.FixedZone("BST", 6*60*60))

func validDetails() Details {
	return Details{
		Name:      Name{Given: []string{"Rahima", "Begum"}, Family: "Khatun"},
		BirthDate: "1987-03-21",
		Sex:       "female",
		Telecom: []ContactPoint{
			{System: "phone", Value: "+880 1712-345678", Use: "mobile"},
			{System: "email", Value: "rahima.khatun@example.org"},
		},
		Address: []Address{
			{Use: "home", Line: []string{"House 12, Road 5"}, City: "Cox's Bazar", District: "Cox's Bazar", PostalCode: "4700", Country: "BD"},
		},
		EmergencyContacts: []EmergencyContact{
			{Name: "Abdul Karim", Relationship: "husband", Phone: "01812 345 678"},
		},
		Identifiers: []Identifier{
			{System: "urn:bd:nid", Value: "1987123456789"},
		},
	}
}

// fieldsOf returns the field paths of a validation error, or fails the test
// if err is some other kind of error.
func fieldsOf(t *testing.T, err error) []domain.FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *domain.ValidationError", err, err)
	}
	return ve.Fields
}

func fieldNames(fields []domain.FieldError) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Field
	}
	slices.Sort(names)
	return names
}

func messageFor(fields []domain.FieldError, field string) string {
	for _, f := range fields {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

func TestDetailsValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Details)
		now    time.Time // clinicNow when zero
		// want lists every field that must be reported, and no others.
		want []string
		// wantMessage maps a reported field to a phrase its message contains.
		wantMessage map[string]string
	}{
		{name: "complete profile", change: func(d *Details) {}},
		{
			name: "only the required fields",
			change: func(d *Details) {
				*d = Details{Name: Name{Given: []string{"Ali"}, Family: "Hossain"}, BirthDate: "2001-01-01", Sex: "male"}
			},
		},
		{
			name:   "surrounding whitespace is ignored",
			change: func(d *Details) { d.Name.Family = "  Khatun  "; d.Sex = " female\t"; d.BirthDate = " 1987-03-21 " },
		},

		// Name.
		{name: "family missing", change: func(d *Details) { d.Name.Family = "" }, want: []string{"name.family"}},
		{name: "family blank", change: func(d *Details) { d.Name.Family = "   " }, want: []string{"name.family"}},
		{name: "family 100 accented characters", change: func(d *Details) { d.Name.Family = strings.Repeat("é", 100) }},
		{
			name:        "family 101 characters",
			change:      func(d *Details) { d.Name.Family = strings.Repeat("a", 101) },
			want:        []string{"name.family"},
			wantMessage: map[string]string{"name.family": "at most 100"},
		},
		{name: "no given names", change: func(d *Details) { d.Name.Given = nil }, want: []string{"name.given"}},
		{name: "empty given name list", change: func(d *Details) { d.Name.Given = []string{} }, want: []string{"name.given"}},
		{name: "second given name blank", change: func(d *Details) { d.Name.Given[1] = " " }, want: []string{"name.given[1]"}},
		{name: "given name too long", change: func(d *Details) { d.Name.Given[0] = strings.Repeat("x", 101) }, want: []string{"name.given[0]"}},
		{
			name:   "too many given names",
			change: func(d *Details) { d.Name.Given = slices.Repeat([]string{"A"}, 11) },
			want:   []string{"name.given"},
		},

		// Birth date.
		{name: "birth date missing", change: func(d *Details) { d.BirthDate = "" }, want: []string{"birthDate"}},
		{
			name:        "birth date with slashes",
			change:      func(d *Details) { d.BirthDate = "1987/03/21" },
			want:        []string{"birthDate"},
			wantMessage: map[string]string{"birthDate": "YYYY-MM-DD"},
		},
		{name: "birth date day first", change: func(d *Details) { d.BirthDate = "21-03-1987" }, want: []string{"birthDate"}},
		{name: "birth date without padding", change: func(d *Details) { d.BirthDate = "1987-3-21" }, want: []string{"birthDate"}},
		{name: "birth date with time", change: func(d *Details) { d.BirthDate = "1987-03-21T00:00:00Z" }, want: []string{"birthDate"}},
		{name: "birth date compact", change: func(d *Details) { d.BirthDate = "19870321" }, want: []string{"birthDate"}},
		{
			name:        "thirtieth of February",
			change:      func(d *Details) { d.BirthDate = "2023-02-30" },
			want:        []string{"birthDate"},
			wantMessage: map[string]string{"birthDate": "not a real date"},
		},
		{
			name:        "twenty-ninth of February in a common year",
			change:      func(d *Details) { d.BirthDate = "2023-02-29" },
			want:        []string{"birthDate"},
			wantMessage: map[string]string{"birthDate": "not a real date"},
		},
		{name: "twenty-ninth of February in a leap year", change: func(d *Details) { d.BirthDate = "2024-02-29" }},
		{name: "thirty-first of April", change: func(d *Details) { d.BirthDate = "2020-04-31" }, want: []string{"birthDate"}},
		{name: "thirteenth month", change: func(d *Details) { d.BirthDate = "2020-13-01" }, want: []string{"birthDate"}},
		{name: "day zero", change: func(d *Details) { d.BirthDate = "2020-01-00" }, want: []string{"birthDate"}},
		{name: "born today", change: func(d *Details) { d.BirthDate = "2025-06-15" }},
		{
			name:        "born tomorrow",
			change:      func(d *Details) { d.BirthDate = "2025-06-16" },
			want:        []string{"birthDate"},
			wantMessage: map[string]string{"birthDate": "future"},
		},
		{
			// 01:00 on the 16th in Dhaka is still the 15th in UTC.
			name:   "tomorrow locally is still the future in UTC",
			change: func(d *Details) { d.BirthDate = "2025-06-16" },
			now:    time.Date(2025, 6, 16, 1, 0, 0, 0, time.FixedZone("BST", 6*60*60)),
			want:   []string{"birthDate"},
		},
		{
			// 23:30 on the 15th in New York is already the 16th in UTC.
			name:   "today in UTC is not the future",
			change: func(d *Details) { d.BirthDate = "2025-06-16" },
			now:    time.Date(2025, 6, 15, 23, 30, 0, 0, time.FixedZone("EST", -5*60*60)),
		},
		{name: "born on 1900-01-01", change: func(d *Details) { d.BirthDate = "1900-01-01" }},
		{
			name:        "born before 1900",
			change:      func(d *Details) { d.BirthDate = "1899-12-31" },
			want:        []string{"birthDate"},
			wantMessage: map[string]string{"birthDate": "1900-01-01"},
		},

		// Sex.
		{name: "sex missing", change: func(d *Details) { d.Sex = "" }, want: []string{"sex"}},
		{name: "sex abbreviated", change: func(d *Details) { d.Sex = "F" }, want: []string{"sex"}},
		{name: "sex capitalised", change: func(d *Details) { d.Sex = "Female" }, want: []string{"sex"}},
		{name: "sex other", change: func(d *Details) { d.Sex = "other" }},
		{name: "sex unknown", change: func(d *Details) { d.Sex = "unknown" }},

		// Telecom.
		{name: "fax is not a telecom system", change: func(d *Details) { d.Telecom[0].System = "fax" }, want: []string{"telecom[0].system"}},
		{name: "telecom system missing", change: func(d *Details) { d.Telecom[0].System = "" }, want: []string{"telecom[0].system"}},
		{name: "telecom value missing", change: func(d *Details) { d.Telecom[1].Value = " " }, want: []string{"telecom[1].value"}},
		{name: "telecom use pager", change: func(d *Details) { d.Telecom[0].Use = "pager" }, want: []string{"telecom[0].use"}},
		{name: "telecom use omitted", change: func(d *Details) { d.Telecom[0].Use = "" }},
		{name: "phone with parentheses and dots", change: func(d *Details) { d.Telecom[0].Value = "(02) 9876.5432" }},
		{name: "phone of seven digits", change: func(d *Details) { d.Telecom[0].Value = "1234567" }},
		{name: "phone of fifteen digits", change: func(d *Details) { d.Telecom[0].Value = "+123456789012345" }},
		{
			name:        "phone of six digits",
			change:      func(d *Details) { d.Telecom[0].Value = "123-456" },
			want:        []string{"telecom[0].value"},
			wantMessage: map[string]string{"telecom[0].value": "7 to 15 digits"},
		},
		{name: "phone of sixteen digits", change: func(d *Details) { d.Telecom[0].Value = "+1234567890123456" }, want: []string{"telecom[0].value"}},
		{name: "phone with letters", change: func(d *Details) { d.Telecom[0].Value = "call 01712345678" }, want: []string{"telecom[0].value"}},
		{name: "phone with two pluses", change: func(d *Details) { d.Telecom[0].Value = "++8801712345678" }, want: []string{"telecom[0].value"}},
		{name: "phone with plus inside", change: func(d *Details) { d.Telecom[0].Value = "01712+345678" }, want: []string{"telecom[0].value"}},
		{name: "phone with extension", change: func(d *Details) { d.Telecom[0].Value = "01712345678 ext 4" }, want: []string{"telecom[0].value"}},
		{name: "email in capitals", change: func(d *Details) { d.Telecom[1].Value = " Rahima@Example.ORG " }},
		{name: "email with plus tag", change: func(d *Details) { d.Telecom[1].Value = "rahima+clinic@mail.example.org" }},
		{
			name:        "email without at sign",
			change:      func(d *Details) { d.Telecom[1].Value = "rahima.example.org" },
			want:        []string{"telecom[1].value"},
			wantMessage: map[string]string{"telecom[1].value": "email"},
		},
		{name: "email without dot in domain", change: func(d *Details) { d.Telecom[1].Value = "rahima@localhost" }, want: []string{"telecom[1].value"}},
		{name: "email with display name", change: func(d *Details) { d.Telecom[1].Value = "Rahima <rahima@example.org>" }, want: []string{"telecom[1].value"}},
		{name: "email in angle brackets", change: func(d *Details) { d.Telecom[1].Value = "<rahima@example.org>" }, want: []string{"telecom[1].value"}},
		{name: "email with two at signs", change: func(d *Details) { d.Telecom[1].Value = "rahima@@example.org" }, want: []string{"telecom[1].value"}},
		{name: "email with space", change: func(d *Details) { d.Telecom[1].Value = "rahima khatun@example.org" }, want: []string{"telecom[1].value"}},
		{name: "email that is a phone", change: func(d *Details) { d.Telecom[1].Value = "01712345678" }, want: []string{"telecom[1].value"}},
		{
			name: "email too long",
			change: func(d *Details) {
				d.Telecom[1].Value = strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 95) + "org"
			},
			want: []string{"telecom[1].value"},
		},
		{
			name:   "too many contact points",
			change: func(d *Details) { d.Telecom = slices.Repeat(d.Telecom[:1], 21) },
			want:   []string{"telecom"},
		},
		{name: "twenty contact points", change: func(d *Details) { d.Telecom = slices.Repeat(d.Telecom[:1], 20) }},

		// Address.
		{
			name:        "empty address",
			change:      func(d *Details) { d.Address[0] = Address{Use: "home"} },
			want:        []string{"address[0]"},
			wantMessage: map[string]string{"address[0]": "at least one of"},
		},
		{name: "address with only a district", change: func(d *Details) { d.Address[0] = Address{District: "Ukhia"} }, want: []string{"address[0]"}},
		{name: "address with only blank lines", change: func(d *Details) { d.Address[0] = Address{Line: []string{" "}} }, want: []string{"address[0]", "address[0].line[0]"}},
		{name: "address with only a country", change: func(d *Details) { d.Address[0] = Address{Country: "BD"} }},
		{name: "address with only a line", change: func(d *Details) { d.Address[0] = Address{Line: []string{"Camp 4, Block C"}} }},
		{name: "address with only a postal code", change: func(d *Details) { d.Address[0] = Address{PostalCode: "4700"} }},
		{name: "country in lower case", change: func(d *Details) { d.Address[0].Country = "bd" }},
		{
			name:        "three-letter country",
			change:      func(d *Details) { d.Address[0].Country = "BGD" },
			want:        []string{"address[0].country"},
			wantMessage: map[string]string{"address[0].country": "ISO 3166-1"},
		},
		{name: "country spelled out", change: func(d *Details) { d.Address[0].Country = "Bangladesh" }, want: []string{"address[0].country"}},
		{name: "country with a digit", change: func(d *Details) { d.Address[0].Country = "B1" }, want: []string{"address[0].country"}},
		{name: "address use mailing", change: func(d *Details) { d.Address[0].Use = "mailing" }, want: []string{"address[0].use"}},
		{name: "address line blank among others", change: func(d *Details) { d.Address[0].Line = []string{"House 12", ""} }, want: []string{"address[0].line[1]"}},
		{name: "address line too long", change: func(d *Details) { d.Address[0].Line = []string{strings.Repeat("l", 201)} }, want: []string{"address[0].line[0]"}},
		{name: "too many address lines", change: func(d *Details) { d.Address[0].Line = slices.Repeat([]string{"x"}, 6) }, want: []string{"address[0].line"}},
		{name: "city too long", change: func(d *Details) { d.Address[0].City = strings.Repeat("c", 101) }, want: []string{"address[0].city"}},
		{name: "postal code too long", change: func(d *Details) { d.Address[0].PostalCode = strings.Repeat("9", 21) }, want: []string{"address[0].postalCode"}},
		{name: "too many addresses", change: func(d *Details) { d.Address = slices.Repeat(d.Address, 11) }, want: []string{"address"}},

		// Emergency contacts.
		{
			name:   "emergency contact with nothing filled in",
			change: func(d *Details) { d.EmergencyContacts[0] = EmergencyContact{} },
			want:   []string{"emergencyContacts[0].name", "emergencyContacts[0].phone", "emergencyContacts[0].relationship"},
		},
		{
			name:   "emergency contact phone malformed",
			change: func(d *Details) { d.EmergencyContacts[0].Phone = "unknown" },
			want:   []string{"emergencyContacts[0].phone"},
		},
		{name: "too many emergency contacts", change: func(d *Details) { d.EmergencyContacts = slices.Repeat(d.EmergencyContacts, 11) }, want: []string{"emergencyContacts"}},

		// Identifiers.
		{name: "identifier system missing", change: func(d *Details) { d.Identifiers[0].System = "" }, want: []string{"identifiers[0].system"}},
		{name: "identifier value missing", change: func(d *Details) { d.Identifiers[0].Value = "  " }, want: []string{"identifiers[0].value"}},
		{name: "identifier value 200 characters", change: func(d *Details) { d.Identifiers[0].Value = strings.Repeat("9", 200) }},
		{name: "identifier value too long", change: func(d *Details) { d.Identifiers[0].Value = strings.Repeat("9", 201) }, want: []string{"identifiers[0].value"}},
		{name: "identifier system too long", change: func(d *Details) { d.Identifiers[0].System = strings.Repeat("s", 201) }, want: []string{"identifiers[0].system"}},
		{name: "identifier system with separator", change: func(d *Details) { d.Identifiers[0].System = "urn|nid" }, want: []string{"identifiers[0].system"}},
		{
			name: "same identifier twice",
			change: func(d *Details) {
				d.Identifiers = append(d.Identifiers, Identifier{System: "urn:unhcr:progres", Value: "123-45C"}, Identifier{System: " urn:bd:nid", Value: "1987123456789 "})
			},
			want:        []string{"identifiers[2]"},
			wantMessage: map[string]string{"identifiers[2]": "identifiers[0]"},
		},
		{name: "twenty identifiers", change: func(d *Details) { d.Identifiers = distinctIdentifiers(20) }},
		{name: "too many identifiers", change: func(d *Details) { d.Identifiers = distinctIdentifiers(21) }, want: []string{"identifiers"}},

		// Everything at once.
		{
			name: "every problem is reported together",
			change: func(d *Details) {
				d.Name = Name{Given: []string{"Rahima", ""}, Family: ""}
				d.BirthDate = "2023-02-30"
				d.Sex = "f"
				d.Telecom = []ContactPoint{{System: "sms", Value: "01712345678"}, {System: "email", Value: "not-an-email"}}
				d.Address[0].Country = "BGD"
				d.EmergencyContacts[0].Phone = "12"
				d.Identifiers = append(d.Identifiers, Identifier{System: "urn:a", Value: "1"}, Identifier{System: "urn:b", Value: ""})
			},
			want: []string{
				"address[0].country",
				"birthDate",
				"emergencyContacts[0].phone",
				"identifiers[2].value",
				"name.family",
				"name.given[1]",
				"sex",
				"telecom[0].system",
				"telecom[1].value",
			},
			wantMessage: map[string]string{"birthDate": "not a real date"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDetails()
			tt.change(&d)
			now := tt.now
			if now.IsZero() {
				now = clinicNow
			}
			err := d.Validate(now)
			fields := fieldsOf(t, err)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if got := fieldNames(fields); !slices.Equal(got, want) {
				t.Fatalf("Validate reported %v, want %v\nerror: %v", fields, want, err)
			}
			if len(want) == 0 && err != nil {
				t.Fatalf("Validate = %#v, want untyped nil", err)
			}
			for field, phrase := range tt.wantMessage {
				if msg := messageFor(fields, field); !strings.Contains(msg, phrase) {
					t.Errorf("message for %s = %q, want it to mention %q", field, msg, phrase)
				}
			}
		})
	}
}

// distinctIdentifiers returns n valid identifiers that differ from each other.
func distinctIdentifiers(n int) []Identifier {
	ids := make([]Identifier, n)
	for i := range ids {
		ids[i] = Identifier{System: "urn:clinic:card", Value: strconv.Itoa(1000 + i)}
	}
	return ids
}

func TestDetailsNormalized(t *testing.T) {
	in := Details{
		Name:      Name{Given: []string{"  José ", "María"}, Family: " Muñoz  Ñandú "},
		BirthDate: " 1990-05-01\n",
		Sex:       " male ",
		Telecom: []ContactPoint{
			{System: " email ", Value: "  Jose.Munoz@Example.ORG ", Use: " home "},
			{System: "phone", Value: " +880 1712-345678 "},
		},
		Address:           []Address{{Use: " home ", Line: []string{" Road 5 "}, City: " Dhaka ", District: " Dhaka ", State: " Dhaka Division ", PostalCode: " 1207 ", Country: " bd "}},
		EmergencyContacts: []EmergencyContact{{Name: " Ana ", Relationship: " sister ", Phone: " 01812345678 "}},
		Identifiers:       []Identifier{{System: " urn:bd:nid ", Value: " 123 "}},
	}
	want := Details{
		Name:      Name{Given: []string{"José", "María"}, Family: "Muñoz  Ñandú"},
		BirthDate: "1990-05-01",
		Sex:       "male",
		Telecom: []ContactPoint{
			{System: "email", Value: "jose.munoz@example.org", Use: "home"},
			{System: "phone", Value: "+880 1712-345678"},
		},
		Address:           []Address{{Use: "home", Line: []string{"Road 5"}, City: "Dhaka", District: "Dhaka", State: "Dhaka Division", PostalCode: "1207", Country: "BD"}},
		EmergencyContacts: []EmergencyContact{{Name: "Ana", Relationship: "sister", Phone: "01812345678"}},
		Identifiers:       []Identifier{{System: "urn:bd:nid", Value: "123"}},
	}
	got := in.Normalized()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Normalized() =\n%+v\nwant\n%+v", got, want)
	}

	got.Name.Given[0] = "changed"
	got.Telecom[0].Value = "changed"
	got.Address[0].Line[0] = "changed"
	if in.Name.Given[0] != "  José " || in.Telecom[0].Value != "  Jose.Munoz@Example.ORG " || in.Address[0].Line[0] != " Road 5 " {
		t.Error("Normalized shares slices with its receiver")
	}

	if empty := (Details{}).Normalized(); empty.Telecom != nil || empty.Name.Given != nil || empty.Address != nil {
		t.Errorf("Normalized turned nil lists into empty ones: %+v", empty)
	}
}

func TestNewPatient(t *testing.T) {
	id := uuid.MustParse("0b6a3f6e-2a0c-4d7b-9d5e-8f1c2b3a4d5e")
	mrn := FormatMRN(572)

	t.Run("registers an active patient at version 1", func(t *testing.T) {
		d := validDetails()
		d.Telecom[1].Value = " Rahima.Khatun@Example.org "
		p, err := NewPatient(id, mrn, d, clinicNow)
		if err != nil {
			t.Fatalf("NewPatient: %v", err)
		}
		if p.ID != id || p.MRN != mrn || p.Version != 1 || !p.Active {
			t.Errorf("got id=%v mrn=%q version=%d active=%v", p.ID, p.MRN, p.Version, p.Active)
		}
		if !p.CreatedAt.Equal(clinicNow) || p.CreatedAt.Location() != time.UTC || p.UpdatedAt != p.CreatedAt {
			t.Errorf("CreatedAt=%v UpdatedAt=%v, want both %v in UTC", p.CreatedAt, p.UpdatedAt, clinicNow.UTC())
		}
		if got := p.Telecom[1].Value; got != "rahima.khatun@example.org" {
			t.Errorf("stored email %q, want the normalized form", got)
		}
	})

	tests := []struct {
		name        string
		id          uuid.UUID
		mrn         string
		change      func(d *Details)
		want        []string
		wantMessage map[string]string
	}{
		{name: "nil id", id: uuid.Nil, mrn: mrn, want: []string{"id"}},
		{name: "malformed mrn", id: id, mrn: "572", want: []string{"mrn"}, wantMessage: map[string]string{"mrn": "7 to 15 digits"}},
		{
			name:        "mistyped mrn",
			id:          id,
			mrn:         "0007524",
			want:        []string{"mrn"},
			wantMessage: map[string]string{"mrn": "check digit is wrong — the MRN was probably mistyped"},
		},
		{
			name:   "bad details reported with bad id and mrn",
			id:     uuid.Nil,
			mrn:    "",
			change: func(d *Details) { d.Sex = ""; d.BirthDate = "2099-01-01" },
			want:   []string{"birthDate", "id", "mrn", "sex"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDetails()
			if tt.change != nil {
				tt.change(&d)
			}
			p, err := NewPatient(tt.id, tt.mrn, d, clinicNow)
			fields := fieldsOf(t, err)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if got := fieldNames(fields); !slices.Equal(got, want) {
				t.Fatalf("NewPatient reported %v, want %v", fields, want)
			}
			if !reflect.DeepEqual(p, Patient{}) {
				t.Errorf("NewPatient returned %+v alongside an error", p)
			}
			for field, phrase := range tt.wantMessage {
				if msg := messageFor(fields, field); !strings.Contains(msg, phrase) {
					t.Errorf("message for %s = %q, want it to mention %q", field, msg, phrase)
				}
			}
		})
	}
}

func registered(t *testing.T) Patient {
	t.Helper()
	p, err := NewPatient(uuid.New(), FormatMRN(1), validDetails(), clinicNow)
	if err != nil {
		t.Fatalf("NewPatient: %v", err)
	}
	return p
}

func TestPatientReplace(t *testing.T) {
	later := clinicNow.Add(48 * time.Hour)
	changed := validDetails()
	changed.Name.Family = " Akter "
	changed.Telecom = nil

	tests := []struct {
		name       string
		deactivate bool
	}{
		{name: "active patient"},
		{name: "deactivated patient can still be corrected", deactivate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := registered(t)
			if tt.deactivate {
				p, _ = p.Deactivate(clinicNow)
			}
			got, err := p.Replace(changed, later)
			if err != nil {
				t.Fatalf("Replace: %v", err)
			}
			if got.Name.Family != "Akter" || got.Telecom != nil {
				t.Errorf("details not replaced with the normalized form: %+v", got.Details)
			}
			if got.Version != p.Version+1 {
				t.Errorf("version %d, want %d", got.Version, p.Version+1)
			}
			if got.ID != p.ID || got.MRN != p.MRN || !got.CreatedAt.Equal(p.CreatedAt) || got.Active != p.Active {
				t.Errorf("Replace changed identity or status: before %+v after %+v", p, got)
			}
			if !got.UpdatedAt.Equal(later) || got.UpdatedAt.Location() != time.UTC {
				t.Errorf("UpdatedAt %v, want %v in UTC", got.UpdatedAt, later)
			}
		})
	}

	t.Run("invalid details leave the patient as it was", func(t *testing.T) {
		p := registered(t)
		bad := validDetails()
		bad.Name.Given = nil
		bad.Sex = "?"
		got, err := p.Replace(bad, later)
		if names := fieldNames(fieldsOf(t, err)); !slices.Equal(names, []string{"name.given", "sex"}) {
			t.Errorf("Replace reported %v, want [name.given sex]", names)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("Replace changed the patient despite the error: %+v", got)
		}
	})
}

func TestPatientDeactivate(t *testing.T) {
	later := clinicNow.Add(time.Hour)
	p := registered(t)

	inactive, changed := p.Deactivate(later)
	if !changed || inactive.Active || inactive.Version != 2 || !inactive.UpdatedAt.Equal(later) {
		t.Fatalf("Deactivate = %+v, %v; want inactive at version 2 updated %v", inactive, changed, later)
	}
	if !p.Active || p.Version != 1 {
		t.Error("Deactivate modified its receiver")
	}

	again, changed := inactive.Deactivate(later.Add(time.Hour))
	if changed || !reflect.DeepEqual(again, inactive) {
		t.Errorf("deactivating twice = %+v, %v; want the same patient and false", again, changed)
	}
}

func TestPatientJSONKeepsDetailsInline(t *testing.T) {
	p := registered(t)
	p.Telecom = nil
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	for _, key := range []string{"id", "mrn", "version", "active", "name", "birthDate", "sex", "address", "emergencyContacts", "identifiers", "createdAt", "updatedAt"} {
		if _, ok := fields[key]; !ok {
			t.Errorf("JSON lacks %q: %s", key, raw)
		}
	}
	for _, key := range []string{"Details", "telecom"} {
		if _, ok := fields[key]; ok {
			t.Errorf("JSON has unexpected %q: %s", key, raw)
		}
	}

	var back Patient
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("Unmarshal into Patient: %v", err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", back, p)
	}
}

func FuzzDetailsValidate(f *testing.F) {
	f.Add("José", "Muñoz", "1990-05-01", "male", "+880 1712-345678", "a@b.org", "bd")
	f.Add("", " ", "2023-02-30", "F", "12", "<a@b>", "BGD")
	f.Fuzz(func(t *testing.T, given, family, birthDate, sex, phone, email, country string) {
		d := Details{
			Name:      Name{Given: []string{given}, Family: family},
			BirthDate: birthDate,
			Sex:       sex,
			Telecom:   []ContactPoint{{System: "phone", Value: phone}, {System: "email", Value: email}},
			Address:   []Address{{Country: country}},
		}
		err := d.Validate(clinicNow)
		normalizedErr := d.Normalized().Validate(clinicNow)
		if !reflect.DeepEqual(fieldsOf(t, err), fieldsOf(t, normalizedErr)) {
			t.Fatalf("Validate disagrees with Validate after Normalized: %v vs %v", err, normalizedErr)
		}
		if err == nil {
			if _, err := NewPatient(uuid.New(), FormatMRN(1), d, clinicNow); err != nil {
				t.Fatalf("NewPatient rejected details Validate accepted: %v", err)
			}
		}
	})
}
