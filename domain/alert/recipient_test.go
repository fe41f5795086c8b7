package alert_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

var at = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

func practitioner(t *testing.T, name string, roles []careteam.Role, units ...string) careteam.Practitioner {
	t.Helper()
	p, err := careteam.NewPractitioner(uuid.New(), name, roles, units,
		[]careteam.ContactPoint{{System: careteam.ContactPhone, Value: "+8801700000000"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func shift(t *testing.T, p careteam.Practitioner, role careteam.Role, unit string, from, to time.Time) careteam.OnCall {
	t.Helper()
	o, err := careteam.NewOnCall(uuid.New(), p.ID, role, unit, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func names(ps []careteam.Practitioner) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestResolveRecipients(t *testing.T) {
	nurseA := practitioner(t, "Nurse Amina", []careteam.Role{careteam.RoleNurse}, "ward-3")
	nurseB := practitioner(t, "Nurse Bilkis", []careteam.Role{careteam.RoleNurse, careteam.RoleChargeNurse}, "ward-3")
	nurseOther := practitioner(t, "Nurse Chaya", []careteam.Role{careteam.RoleNurse}, "ward-5")
	retired := practitioner(t, "Nurse Dina", []careteam.Role{careteam.RoleNurse}, "ward-3")
	retired.Active = false
	drNight := practitioner(t, "Dr Night", []careteam.Role{careteam.RolePhysician}, "ward-3")
	drDay := practitioner(t, "Dr Day", []careteam.Role{careteam.RolePhysician}, "ward-3")
	drHouse := practitioner(t, "Dr House", []careteam.Role{careteam.RolePhysician})
	rrt := practitioner(t, "RRT Lead", []careteam.Role{careteam.RoleRapidResponse})
	directory := []careteam.Practitioner{nurseA, nurseB, nurseOther, retired, drNight, drDay, drHouse, rrt}
	shifts := []careteam.OnCall{
		shift(t, drDay, careteam.RolePhysician, "ward-3", at.Add(-20*time.Hour), at.Add(-8*time.Hour)),
		shift(t, drNight, careteam.RolePhysician, "ward-3", at.Add(-4*time.Hour), at.Add(8*time.Hour)),
		shift(t, drHouse, careteam.RolePhysician, "", at.Add(-4*time.Hour), at.Add(8*time.Hour)),
		shift(t, rrt, careteam.RoleRapidResponse, "", at.Add(-time.Hour), at.Add(time.Hour)),
	}
	level := func(rules ...alert.RecipientRule) alert.Level { return alert.Level{Recipients: rules} }
	tests := []struct {
		name  string
		level alert.Level
		unit  string
		when  time.Time
		want  []string
	}{
		{"unit role: active nurses on the patient's unit", level(alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}), "ward-3", at,
			[]string{"Nurse Amina", "Nurse Bilkis"}},
		{"unit role: charge nurse", level(alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleChargeNurse}), "ward-3", at,
			[]string{"Nurse Bilkis"}},
		{"on call: the unit's shift at that instant", level(alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RolePhysician}), "ward-3", at,
			[]string{"Dr Night"}},
		{"on call: earlier instant finds the earlier shift", level(alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RolePhysician}), "ward-3", at.Add(-10 * time.Hour),
			[]string{"Dr Day"}},
		{"on call: hospital-wide shift when the unit has none", level(alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RolePhysician}), "ward-5", at,
			[]string{"Dr House"}},
		{"on call: nobody outside every shift", level(alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RoleRapidResponse}), "ward-3", at.Add(2 * time.Hour),
			nil},
		{"practitioner, deduplicated with a role rule", level(
			alert.RecipientRule{Kind: alert.RecipientPractitioner, PractitionerID: nurseA.ID},
			alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}), "ward-3", at,
			[]string{"Nurse Amina", "Nurse Bilkis"}},
		{"inactive practitioner named directly is skipped", level(alert.RecipientRule{Kind: alert.RecipientPractitioner, PractitionerID: retired.ID}), "ward-3", at,
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(alert.ResolveRecipients(tt.level, tt.unit, tt.when, directory, shifts))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestNotificationsSkipChannelsWithoutAddress(t *testing.T) {
	p := practitioner(t, "Nurse Amina", []careteam.Role{careteam.RoleNurse}, "ward-3") // phone only
	r := alert.Raise{AlertID: uuid.New(), PatientID: uuid.New(), Unit: "ward-3", Severity: alert.SeverityCritical, Category: "news2-high", Message: "NEWS2 9", Source: "encounter/1"}
	ns := alert.Notifications(r, alert.Step{}, "", []alert.Channel{alert.ChannelInApp, alert.ChannelSMS, alert.ChannelEmail}, []careteam.Practitioner{p}, at)
	if len(ns) != 2 || ns[0].Channel != alert.ChannelInApp || ns[1].Channel != alert.ChannelSMS || ns[1].Address != "+8801700000000" || ns[0].Address != "" {
		t.Fatalf("notifications = %+v", ns)
	}
	if ns[0].Level != 1 || ns[0].Kind != alert.EventNotified {
		t.Fatalf("level/kind = %d/%s", ns[0].Level, ns[0].Kind)
	}
}

func TestAcknowledgeRules(t *testing.T) {
	nurse, stranger := uuid.New(), uuid.New()
	s := alert.State{Status: alert.StatusOpen, Recipients: []alert.Recipient{{PractitionerID: nurse, Name: "Nurse"}}}
	if err := s.CanAcknowledge(stranger); err == nil {
		t.Fatal("a practitioner never notified may acknowledge")
	}
	if err := s.CanAcknowledge(uuid.Nil); err == nil {
		t.Fatal("an empty practitioner may acknowledge")
	}
	if err := s.CanAcknowledge(nurse); err != nil {
		t.Fatal(err)
	}
	s.Acknowledge(nurse, at)
	if err := s.CanAcknowledge(nurse); err == nil {
		t.Fatal("acknowledged twice")
	}
	if err := s.CanResolve(stranger); err != nil {
		t.Fatalf("resolve by another clinician: %v", err)
	}
	s.Resolve(stranger, "done", at)
	if err := s.CanResolve(nurse); err == nil {
		t.Fatal("resolved twice")
	}
}

func TestOwnerIsNotifiedAtTheFirstLevel(t *testing.T) {
	nurse := practitioner(t, "Nurse Amina", []careteam.Role{careteam.RoleNurse}, "ward-3")
	owner := practitioner(t, "Dr Owner", []careteam.Role{careteam.RolePhysician}, "ward-9")
	retired := practitioner(t, "Dr Retired", []careteam.Role{careteam.RolePhysician})
	retired.Active = false
	directory := []careteam.Practitioner{nurse, owner, retired}
	nurses := alert.Level{Recipients: []alert.RecipientRule{{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}}}
	raise := func(owner *uuid.UUID) alert.Raise {
		return alert.Raise{AlertID: uuid.New(), PatientID: uuid.New(), Unit: "ward-3", Severity: alert.SeverityWarning,
			Category: "care-plan-activity-overdue", Message: "overdue", Source: "careplan/1", OwnerID: owner}
	}
	tests := []struct {
		name  string
		owner *uuid.UUID
		step  alert.Step
		want  []string
	}{
		{"no owner: the policy's recipients", nil, alert.Step{}, []string{"Nurse Amina"}},
		{"owner off the unit joins the first level", &owner.ID, alert.Step{}, []string{"Dr Owner", "Nurse Amina"}},
		{"and the first level of a later round", &owner.ID, alert.Step{Level: 0, Round: 1}, []string{"Dr Owner", "Nurse Amina"}},
		{"not the second level", &owner.ID, alert.Step{Level: 1}, []string{"Nurse Amina"}},
		{"an inactive owner is skipped", &retired.ID, alert.Step{}, []string{"Nurse Amina"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level := raise(tt.owner).WithOwner(tt.step, nurses)
			got := names(alert.ResolveRecipients(level, "ward-3", at, directory, nil))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	if len(nurses.Recipients) != 1 {
		t.Fatal("WithOwner changed the policy's level")
	}
	if err := raise(&uuid.Nil).Validate(); err == nil || !strings.Contains(err.Error(), "ownerId") {
		t.Fatalf("nil owner id accepted: %v", err)
	}
}
