package alert_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

func TestUnreachableNoteNamesWhoWasMissing(t *testing.T) {
	retired := uuid.MustParse("0193a000-0000-7000-8000-000000000042")
	level := func(channels []alert.Channel, rules ...alert.RecipientRule) alert.Level {
		return alert.Level{Recipients: rules, Channels: channels}
	}
	inapp := []alert.Channel{alert.ChannelInApp}
	tests := []struct {
		name  string
		level alert.Level
		found []careteam.Practitioner
		want  string
	}{
		{"unit role", level(inapp, alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}), nil, "no nurse on ward-3"},
		{"on call", level(inapp, alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RolePhysician}), nil,
			"no physician on call for ward-3 or hospital-wide"},
		{"named practitioner", level(inapp, alert.RecipientRule{Kind: alert.RecipientPractitioner, PractitionerID: retired}), nil,
			"practitioner " + retired.String() + " is not active in the directory"},
		{"several rules, each once", level(inapp,
			alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse},
			alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse},
			alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleChargeNurse}), nil,
			"no nurse on ward-3; no charge-nurse on ward-3"},
		{"found, but no address", level([]alert.Channel{alert.ChannelSMS, alert.ChannelEmail},
			alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}),
			[]careteam.Practitioner{{Name: "Nurse Amina"}}, "Nurse Amina: no address for sms, email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alert.UnreachableNote(tt.level, "ward-3", tt.found); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFallbackNotificationIsStableAndSaysWhy(t *testing.T) {
	r := alert.Raise{AlertID: uuid.New(), PatientID: uuid.New(), Unit: "ward-3", Severity: alert.SeverityCritical,
		Category: "critical-lab-value", Message: "K+ 7.1", Source: "diagnostic/1"}
	a := alert.FallbackNotification(r, "operator@localhost", []string{"no nurse on ward-3"}, at)
	b := alert.FallbackNotification(r, "operator@localhost", []string{"no nurse on ward-3"}, at.Add(1))
	if a.ID != b.ID || a.Channel != alert.ChannelEmail || a.Address != "operator@localhost" || a.PractitionerID != alert.OperatorID("operator@localhost") {
		t.Fatalf("fallback %+v / %+v", a, b)
	}
	if !strings.Contains(a.Body, "no nurse on ward-3") || !strings.Contains(a.Body, "K+ 7.1") || !strings.Contains(a.Subject, "UNDELIVERABLE") {
		t.Fatalf("subject %q body %q", a.Subject, a.Body)
	}
}

func TestStateRecordIsTheReadModelShape(t *testing.T) {
	nurse := uuid.New()
	s := alert.State{Raise: alert.Raise{AlertID: uuid.New(), PatientID: uuid.New(), Unit: "ward-3", Severity: alert.SeverityUrgent,
		Category: "news2-high", Message: "NEWS2 6", Source: "encounter/1"}, Policy: alert.Policy{ID: "urgent-default"}, Status: alert.StatusOpen,
		Recipients: []alert.Recipient{{PractitionerID: nurse, Name: "Nurse"}},
		Timeline:   []alert.Event{{Kind: alert.EventRaised, At: at}, {Kind: alert.EventNotified, At: at, Level: 1}}}
	s.Acknowledge(nurse, at.Add(1))
	rec := s.Record()
	if rec.ID != s.Raise.AlertID || rec.Status != alert.StatusAcknowledged || rec.Level != 1 || rec.PolicyID != "urgent-default" ||
		!rec.RaisedAt.Equal(at) || rec.AcknowledgedBy == nil || *rec.AcknowledgedBy != nurse || len(rec.Timeline) != 3 {
		t.Fatalf("record %+v", rec)
	}
}
