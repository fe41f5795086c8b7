package alert_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
)

func TestSelectPolicy(t *testing.T) {
	rules := []alert.RoutingRule{
		{Category: "", MinSeverity: alert.SeverityInfo, PolicyID: "info-default"},
		{Category: "", MinSeverity: alert.SeverityUrgent, PolicyID: "urgent-default"},
		{Category: "", MinSeverity: alert.SeverityCritical, PolicyID: "critical-default"},
		{Category: "critical-lab-value", MinSeverity: alert.SeverityWarning, PolicyID: "lab"},
		{Category: "prescription-held", MinSeverity: alert.SeverityUrgent, PolicyID: "pharmacy"},
	}
	tests := []struct {
		name     string
		category string
		severity alert.Severity
		want     string
	}{
		{"catch-all by severity: info", "news2-high", alert.SeverityInfo, "info-default"},
		{"warning falls to the highest rule it reaches", "news2-high", alert.SeverityWarning, "info-default"},
		{"urgent", "news2-high", alert.SeverityUrgent, "urgent-default"},
		{"critical", "news2-high", alert.SeverityCritical, "critical-default"},
		{"a category rule beats the catch-all", "critical-lab-value", alert.SeverityCritical, "lab"},
		{"category rule below its minimum severity does not apply", "prescription-held", alert.SeverityWarning, "info-default"},
		{"category rule at its minimum severity applies", "prescription-held", alert.SeverityUrgent, "pharmacy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := alert.SelectPolicy(rules, tt.category, tt.severity)
			if err != nil || got != tt.want {
				t.Fatalf("SelectPolicy(%s, %s) = %q, %v; want %q", tt.category, tt.severity, got, err, tt.want)
			}
		})
	}
	if _, err := alert.SelectPolicy(rules[1:2], "x", alert.SeverityWarning); !errors.Is(err, alert.ErrNoPolicy) {
		t.Fatalf("no matching rule: err = %v, want ErrNoPolicy", err)
	}
}

func TestPolicyNextWalksLevelsThenRepeats(t *testing.T) {
	lvl := alert.Level{Recipients: []alert.RecipientRule{{Kind: alert.RecipientUnitRole, Role: "nurse"}},
		Channels: []alert.Channel{alert.ChannelInApp}, AckTimeout: time.Minute}
	p := alert.Policy{ID: "p", Levels: []alert.Level{lvl, lvl}, Repeat: 1}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []alert.Step
	s := alert.Step{}
	for {
		got = append(got, s)
		next, ok := p.Next(s)
		if !ok {
			break
		}
		s = next
	}
	want := []alert.Step{{0, 0}, {1, 0}, {0, 1}, {1, 1}}
	if len(got) != len(want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("steps %v, want %v", got, want)
		}
	}
}

func TestPolicyValidateReportsEveryProblem(t *testing.T) {
	p := alert.Policy{ID: "", Repeat: -1, Levels: []alert.Level{{
		Recipients: []alert.RecipientRule{{Kind: "team"}, {Kind: alert.RecipientPractitioner}},
		Channels:   []alert.Channel{"pager"},
	}}}
	var v *domain.ValidationError
	if err := p.Validate(); !errors.As(err, &v) {
		t.Fatalf("invalid policy: err = %v, want a ValidationError", err)
	}
	// id, repeat, unknown kind, practitioner without id, unknown channel, timeout
	if len(v.Fields) != 6 {
		t.Fatalf("fields = %+v, want 6", v.Fields)
	}
}

func TestNotificationIDsAreStable(t *testing.T) {
	a, p := uuid.New(), uuid.New()
	id := alert.NotificationID(a, alert.Step{Level: 1}, p, alert.ChannelSMS, "")
	if id != alert.NotificationID(a, alert.Step{Level: 1}, p, alert.ChannelSMS, "") {
		t.Fatal("same inputs, different ids")
	}
	for _, other := range []uuid.UUID{
		alert.NotificationID(a, alert.Step{Level: 1, Round: 1}, p, alert.ChannelSMS, ""),
		alert.NotificationID(a, alert.Step{Level: 1}, p, alert.ChannelPush, ""),
		alert.NotificationID(a, alert.Step{Level: 1}, p, alert.ChannelSMS, "reminder-1"),
	} {
		if other == id {
			t.Fatal("different notification, same id")
		}
	}
}

func TestOccurrenceIDDedupes(t *testing.T) {
	pt := uuid.New()
	if alert.OccurrenceID(pt, "news2-high", "encounter/1", 0) != alert.OccurrenceID(pt, "news2-high", "encounter/1", 0) {
		t.Fatal("same alert, different ids")
	}
	if alert.OccurrenceID(pt, "news2-high", "encounter/1", 0) == alert.OccurrenceID(pt, "news2-high", "encounter/1", 1) {
		t.Fatal("the next occurrence reuses the id")
	}
	if alert.OccurrenceID(pt, "news2-high", "encounter/1", 0) == alert.OccurrenceID(pt, "critical-lab-value", "encounter/1", 0) {
		t.Fatal("different categories share an id")
	}
}
