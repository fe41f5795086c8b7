package careteam_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

func TestNewPractitionerValidates(t *testing.T) {
	_, err := careteam.NewPractitioner(uuid.Nil, " ", []careteam.Role{"surgeon"}, []string{""},
		[]careteam.ContactPoint{{System: "fax", Value: ""}})
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) != 6 {
		t.Fatalf("err = %v, want 6 invalid fields", err)
	}
	p, err := careteam.NewPractitioner(uuid.New(), "Nurse Amina", []careteam.Role{careteam.RoleNurse}, []string{"ward-3"},
		[]careteam.ContactPoint{{System: careteam.ContactEmail, Value: "amina@example.org"}})
	if err != nil || !p.Active || p.Contact(careteam.ContactEmail) != "amina@example.org" || p.Contact(careteam.ContactPush) != "" {
		t.Fatalf("practitioner = %+v, %v", p, err)
	}
}

func TestOnCallCoversHalfOpenInterval(t *testing.T) {
	from := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	o, err := careteam.NewOnCall(uuid.New(), uuid.New(), careteam.RolePhysician, "ward-3", from, from.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at   time.Time
		unit string
		want bool
	}{
		{from, "ward-3", true},
		{from.Add(-time.Nanosecond), "ward-3", false},
		{from.Add(12 * time.Hour), "ward-3", false},
		{from.Add(time.Hour), "ward-5", false},
	} {
		if got := o.Covers(careteam.RolePhysician, tt.unit, tt.at); got != tt.want {
			t.Errorf("Covers(%s, %s) = %v, want %v", tt.unit, tt.at, got, tt.want)
		}
	}
	if _, err := careteam.NewOnCall(uuid.New(), uuid.New(), careteam.RolePhysician, "", from, from); err == nil {
		t.Fatal("empty shift accepted")
	}
}

// TestContactValues: a contact the notifier sends to is one plain address
// for its system; one that would carry a header, a second recipient or a
// command is refused.
func TestContactValues(t *testing.T) {
	for _, tt := range []struct {
		system careteam.ContactSystem
		value  string
		ok     bool
	}{
		{careteam.ContactEmail, "farida@hospital.example", true},
		{careteam.ContactEmail, "farida@hospital.example\r\nBcc: all@hospital.example", false},
		{careteam.ContactEmail, "Farida <farida@hospital.example>", false},
		{careteam.ContactEmail, "a@b.example, c@d.example", false},
		{careteam.ContactEmail, "<script>@x", false},
		{careteam.ContactEmail, "x'); DROP TABLE practitioners;--", false},
		{careteam.ContactPhone, "+880 1711-000000", true},
		{careteam.ContactPhone, "(02) 9555.1234", true},
		{careteam.ContactPhone, "12", false},
		{careteam.ContactPhone, "+1234567890123456", false},
		{careteam.ContactPhone, "0171\r\n1", false},
		{careteam.ContactPhone, "1+2", false},
		{careteam.ContactPush, "fcm:dGVzdC10b2tlbg", true},
		{careteam.ContactPush, "token with spaces", false},
		{careteam.ContactPush, "a\u0085b", false},
	} {
		_, err := careteam.NewPractitioner(uuid.New(), "Dr Farida Alam", []careteam.Role{careteam.RolePhysician}, nil, []careteam.ContactPoint{{System: tt.system, Value: tt.value}})
		if (err == nil) != tt.ok {
			t.Errorf("%s %q: %v, want ok=%v", tt.system, tt.value, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "contacts[0].value") {
			t.Errorf("%s %q: %v does not name contacts[0].value", tt.system, tt.value, err)
		}
	}
}
