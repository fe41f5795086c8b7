package procedure_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/procedure"
)

func TestNewResourceNamesEveryInvalidField(t *testing.T) {
	practitioner := uuid.New()
	monday := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	manyHours := make([]procedure.Hours, procedure.MaxHours+1)
	manyBlocked := make([]procedure.Blocked, procedure.MaxBlocked+1)
	for i := range manyHours {
		manyHours[i] = procedure.Hours{Weekday: time.Monday, From: "08:00", To: "09:00"}
	}
	for i := range manyBlocked {
		manyBlocked[i] = procedure.Blocked{Period: procedure.Period{From: monday, To: monday.Add(time.Hour)}, Reason: "leave"}
	}
	for _, tt := range []struct {
		name string
		in   procedure.Resource
		want []string
	}{
		{"empty", procedure.Resource{}, []string{"id", "kind", "name"}},
		{"patient kind", procedure.Resource{ID: uuid.New(), Kind: procedure.KindPatient, Name: "Rahima"}, []string{"kind"}},
		{"room with everything wrong", procedure.Resource{
			Kind:          procedure.KindRoom,
			Name:          "  ",
			Capabilities:  []string{"laser", "endoscopy", "endoscopy"},
			Skills:        []string{"surgeon"},
			EquipmentKind: "c-arm",
			TimeZone:      "Mars/Olympus_Mons",
			Hours: []procedure.Hours{
				{Weekday: 7, From: "07:00", To: "19:00"},
				{Weekday: time.Monday, From: "25:00", To: "12:00"},
				{Weekday: time.Monday, From: "09:00", To: "08:00"},
				{Weekday: time.Tuesday, From: "07:00", To: "12:00"},
				{Weekday: time.Tuesday, From: "11:00", To: "13:00"},
				{Weekday: time.Wednesday, From: "00:00", To: "24:30"},
			},
			Blocked:  []procedure.Blocked{{Period: procedure.Period{From: monday, To: monday}, Reason: " "}},
			Turnover: 9 * time.Hour,
		}, []string{"id", "name", "capabilities[0]", "capabilities[2]", "skills", "equipmentKind", "timeZone",
			"hours[0].weekday", "hours[1].from", "hours[2].to", "hours[5].to", "hours[4]", "blocked[0].to", "blocked[0].reason", "turnover"}},
		{"room without capability", procedure.Resource{ID: uuid.New(), Kind: procedure.KindRoom, Name: "Theatre 1",
			PractitionerID: &practitioner}, []string{"capabilities", "practitionerId"}},
		{"staff without skill or practitioner", procedure.Resource{ID: uuid.New(), Kind: procedure.KindStaff, Name: "Dr Karim",
			Capabilities: []string{"imaging"}}, []string{"capabilities", "skills", "practitionerId"}},
		{"staff with an unknown skill", procedure.Resource{ID: uuid.New(), Kind: procedure.KindStaff, Name: "Dr Karim",
			Skills: []string{"surgeon", "juggler"}, PractitionerID: &practitioner}, []string{"skills[1]"}},
		{"equipment without kind", procedure.Resource{ID: uuid.New(), Kind: procedure.KindEquipment, Name: "C-arm 2"},
			[]string{"equipmentKind"}},
		{"equipment kind not kebab", procedure.Resource{ID: uuid.New(), Kind: procedure.KindEquipment, Name: "C-arm 2",
			EquipmentKind: "C_Arm"}, []string{"equipmentKind"}},
		{"equipment kind too long", procedure.Resource{ID: uuid.New(), Kind: procedure.KindEquipment, Name: "C-arm 2",
			EquipmentKind: strings.Repeat("a", 65)}, []string{"equipmentKind"}},
		{"name too long, negative turnover", procedure.Resource{ID: uuid.New(), Kind: procedure.KindEquipment,
			Name: strings.Repeat("é", 201), EquipmentKind: "c-arm", Turnover: -time.Minute}, []string{"name", "turnover"}},
		{"too many hours and blocked periods", procedure.Resource{ID: uuid.New(), Kind: procedure.KindEquipment, Name: "C-arm 2",
			EquipmentKind: "c-arm", Hours: manyHours, Blocked: manyBlocked}, []string{"hours", "blocked"}},
		{"machine-local zone", procedure.Resource{ID: uuid.New(), Kind: procedure.KindEquipment, Name: "C-arm 2",
			EquipmentKind: "c-arm", TimeZone: "Local"}, []string{"timeZone"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := procedure.NewResource(tt.in)
			var v *domain.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			var got []string
			for _, f := range v.Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("invalid fields = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewResourceAcceptsEachKind(t *testing.T) {
	practitioner := uuid.New()
	for _, r := range []procedure.Resource{
		{ID: uuid.New(), Kind: procedure.KindRoom, Name: " Theatre 1 ", Capabilities: []string{"operating-theatre", "endoscopy"},
			TimeZone: "Asia/Dhaka", Turnover: 30 * time.Minute, Hours: []procedure.Hours{
				{Weekday: time.Tuesday, From: "08:00", To: "16:00"},
				{Weekday: time.Monday, From: "12:00", To: "24:00"},
				{Weekday: time.Monday, From: "08:00", To: "12:00"},
			}},
		{ID: uuid.New(), Kind: procedure.KindStaff, Name: "Dr Nasrin Akter", Skills: []string{"surgeon", "endoscopist"},
			PractitionerID: &practitioner, Blocked: []procedure.Blocked{{Period: procedure.Period{
				From: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)}, Reason: "leave"}}},
		{ID: uuid.New(), Kind: procedure.KindEquipment, Name: "C-arm 2", EquipmentKind: "c-arm", Turnover: 8 * time.Hour},
	} {
		got, err := procedure.NewResource(r)
		if err != nil {
			t.Fatalf("NewResource(%s) = %v", r.Name, err)
		}
		if !got.Active || got.Name != strings.TrimSpace(r.Name) {
			t.Errorf("resource = %+v, want active and trimmed", got)
		}
		if !slices.IsSortedFunc(got.Hours, func(a, b procedure.Hours) int {
			if a.Weekday != b.Weekday {
				return int(a.Weekday) - int(b.Weekday)
			}
			return strings.Compare(a.From, b.From)
		}) {
			t.Errorf("hours = %v, want them in weekday and time order", got.Hours)
		}
	}
}

func TestOpen(t *testing.T) {
	utc := func(day int, hour, minute int) time.Time {
		return time.Date(2026, 12, day, hour, minute, 0, 0, time.UTC)
	}
	dhaka := procedure.Resource{TimeZone: "Asia/Dhaka", Hours: []procedure.Hours{ // UTC+6
		{Weekday: time.Monday, From: "08:00", To: "12:00"},
		{Weekday: time.Monday, From: "12:00", To: "16:00"},
	}, Blocked: []procedure.Blocked{{Period: procedure.Period{From: utc(8, 2, 0), To: utc(8, 4, 0)}, Reason: "maintenance"}}}
	newYork := procedure.Resource{TimeZone: "America/New_York", Hours: []procedure.Hours{ // UTC-5 in December
		{Weekday: time.Monday, From: "07:00", To: "19:00"},
	}}
	allDay := procedure.Resource{Hours: []procedure.Hours{
		{Weekday: time.Monday, From: "00:00", To: "24:00"},
		{Weekday: time.Tuesday, From: "00:00", To: "24:00"},
	}}
	for _, tt := range []struct {
		name     string
		r        procedure.Resource
		from, to time.Time
		want     bool
	}{
		{"Dhaka opening hour", dhaka, utc(7, 2, 0), utc(7, 3, 0), true},
		{"Dhaka before opening", dhaka, utc(7, 1, 30), utc(7, 2, 30), false},
		{"Dhaka across touching spans", dhaka, utc(7, 5, 0), utc(7, 7, 0), true},
		{"Dhaka until closing", dhaka, utc(7, 9, 0), utc(7, 10, 0), true},
		{"Dhaka past closing", dhaka, utc(7, 9, 30), utc(7, 10, 5), false},
		{"Dhaka Tuesday is closed", dhaka, utc(8, 5, 0), utc(8, 6, 0), false},
		{"New York past closing", newYork, utc(7, 23, 30), utc(8, 0, 30), false},
		{"New York Monday 18:00 local", newYork, utc(7, 23, 0), utc(8, 0, 0), true},
		{"New York Monday 19:30 local", newYork, utc(8, 0, 30), utc(8, 1, 0), false},
		{"New York Sunday night local is Monday in UTC", newYork, utc(7, 3, 0), utc(7, 4, 0), false},
		{"all day until midnight", allDay, utc(7, 23, 0), utc(8, 0, 0), true},
		{"all day across midnight: Monday's span meets Tuesday's", allDay, utc(7, 23, 30), utc(8, 0, 30), true},
		{"across midnight into a day not worked", allDay, utc(8, 23, 30), utc(9, 0, 30), false},
		{"empty period", allDay, utc(7, 10, 0), utc(7, 10, 0), false},
	} {
		if got := tt.r.Open(procedure.Period{From: tt.from, To: tt.to}); got != tt.want {
			t.Errorf("%s: Open(%s–%s) = %v, want %v", tt.name, tt.from.Format(time.RFC3339), tt.to.Format(time.RFC3339), got, tt.want)
		}
	}

	blocked := procedure.Resource{Hours: []procedure.Hours{{Weekday: time.Monday, From: "08:00", To: "18:00"}},
		Blocked: []procedure.Blocked{{Period: procedure.Period{From: utc(7, 10, 0), To: utc(7, 12, 0)}, Reason: "maintenance"}}}
	for _, tt := range []struct {
		from, to time.Time
		want     bool
	}{
		{utc(7, 9, 0), utc(7, 10, 0), true},  // ends as maintenance starts
		{utc(7, 9, 0), utc(7, 10, 1), false}, // runs into it
		{utc(7, 11, 0), utc(7, 11, 30), false},
		{utc(7, 12, 0), utc(7, 13, 0), true}, // starts as it ends
	} {
		if got := blocked.Open(procedure.Period{From: tt.from, To: tt.to}); got != tt.want {
			t.Errorf("blocked: Open(%s–%s) = %v, want %v", tt.from.Format("15:04"), tt.to.Format("15:04"), got, tt.want)
		}
	}
}

func TestOpenTime(t *testing.T) {
	utc := func(day int, hour int) time.Time { return time.Date(2026, 12, day, hour, 0, 0, 0, time.UTC) }
	blocked := func(from, to time.Time) procedure.Blocked {
		return procedure.Blocked{Period: procedure.Period{From: from, To: to}, Reason: "maintenance"}
	}
	theatre := procedure.Resource{
		Hours: []procedure.Hours{
			{Weekday: time.Monday, From: "08:00", To: "12:00"},
			{Weekday: time.Monday, From: "12:00", To: "18:00"},
			{Weekday: time.Tuesday, From: "08:00", To: "18:00"},
		},
		Blocked: []procedure.Blocked{blocked(utc(7, 10), utc(7, 11)), blocked(utc(7, 10).Add(30*time.Minute), utc(7, 12)), blocked(utc(8, 17), utc(8, 20))},
	}
	dhaka := procedure.Resource{TimeZone: "Asia/Dhaka", Hours: []procedure.Hours{{Weekday: time.Monday, From: "08:00", To: "16:00"}}}
	newYork := procedure.Resource{TimeZone: "America/New_York", Hours: []procedure.Hours{{Weekday: time.Monday, From: "07:00", To: "19:00"}}}
	for _, tt := range []struct {
		name     string
		r        procedure.Resource
		from, to time.Time
		want     time.Duration
	}{
		{"hours less overlapping blocked periods", theatre, utc(7, 9), utc(8, 23), 16 * time.Hour},
		{"a whole week", theatre, utc(7, 0), utc(14, 0), 17 * time.Hour},
		{"Dhaka's Monday within the UTC day", dhaka, utc(7, 0), utc(8, 0), 8 * time.Hour},
		{"New York's Monday into the UTC Tuesday", newYork, utc(7, 0), utc(9, 0), 12 * time.Hour},
		{"New York's Monday cut at 18:00 UTC", newYork, utc(7, 0), utc(7, 18), 6 * time.Hour},
		{"an empty period", theatre, utc(7, 9), utc(7, 9), 0},
	} {
		if got := procedure.OpenTime(tt.r, procedure.Period{From: tt.from, To: tt.to}); got != tt.want {
			t.Errorf("%s: OpenTime = %s, want %s", tt.name, got, tt.want)
		}
	}
}
