package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var alertNow = time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)

func addPractitioner(t *testing.T, s *postgres.AlertStore, name string, role careteam.Role, units []string, contacts ...careteam.ContactPoint) careteam.Practitioner {
	t.Helper()
	p, err := careteam.NewPractitioner(uuid.Must(uuid.NewV7()), name, []careteam.Role{role}, units, contacts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePractitioner(context.Background(), nil, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCareTeamDirectory(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewAlertStore(pgtest.NewPool(t))
	amina := addPractitioner(t, s, "Amina Rahman", careteam.RoleNurse, []string{"ward-3"},
		careteam.ContactPoint{System: careteam.ContactEmail, Value: "amina@example.org"})
	addPractitioner(t, s, "Chaya Das", careteam.RoleNurse, []string{"ward-5"})

	got, err := s.GetPractitioner(ctx, amina.ID)
	if err != nil || got.Name != amina.Name || got.Contact(careteam.ContactEmail) != "amina@example.org" || !got.HasRole(careteam.RoleNurse) {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := s.GetPractitioner(ctx, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing practitioner: %v", err)
	}
	if err := s.CreatePractitioner(ctx, nil, amina); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate practitioner: %v", err)
	}
	ward3, err := s.ListPractitioners(ctx, "ward-3")
	if err != nil || len(ward3) != 1 || ward3[0].ID != amina.ID {
		t.Fatalf("ward-3: %+v, %v", ward3, err)
	}
	all, _ := s.ListPractitioners(ctx, "")
	if len(all) != 2 {
		t.Fatalf("all: %d", len(all))
	}
	shift, _ := careteam.NewOnCall(uuid.New(), uuid.New(), careteam.RolePhysician, "", alertNow, alertNow.Add(time.Hour))
	if err := s.SetOnCall(ctx, nil, shift); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("shift of an unknown practitioner: %v", err)
	}
}

func TestDefaultPoliciesAreSeededAndRouted(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewAlertStore(pgtest.NewPool(t))
	policies, err := s.ListPolicies(ctx)
	if err != nil || len(policies) != 10 {
		t.Fatalf("policies: %d, %v", len(policies), err)
	}
	for _, p := range policies {
		if err := p.Validate(); err != nil {
			t.Errorf("seeded policy %s: %v", p.ID, err)
		}
	}
	critical, err := s.SelectPolicy(ctx, "news2-high", alert.SeverityCritical)
	if err != nil || critical.ID != "critical-default" || len(critical.Levels) != 4 {
		t.Fatalf("critical: %+v, %v", critical, err)
	}
	want := []alert.RecipientRule{
		{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse},
		{Kind: alert.RecipientUnitRole, Role: careteam.RoleChargeNurse},
		{Kind: alert.RecipientOnCall, Role: careteam.RolePhysician},
		{Kind: alert.RecipientOnCall, Role: careteam.RoleRapidResponse},
	}
	for i, l := range critical.Levels {
		if len(l.Recipients) != 1 || l.Recipients[0] != want[i] || l.AckTimeout <= 0 {
			t.Fatalf("critical level %d: %+v", i+1, l)
		}
	}
	if p, _ := s.SelectPolicy(ctx, "news2-high", alert.SeverityWarning); p.ID != "warning-default" {
		t.Fatalf("warning routed to %s", p.ID)
	}
	// A break-the-glass review goes to the privacy officer on call, whatever its severity.
	review, err := s.SelectPolicy(ctx, alert.CategoryBreakGlass, alert.SeverityInfo)
	if err != nil || review.ID != alert.PolicyBreakGlass || len(review.Levels) != 1 ||
		review.Levels[0].Recipients[0] != (alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RolePrivacyOfficer}) {
		t.Fatalf("break-glass review: %+v, %v", review, err)
	}

	// A category rule of its own beats the defaults.
	lab := alert.Policy{ID: "lab-critical", Name: "Lab", Repeat: 1, Levels: []alert.Level{{
		Recipients: []alert.RecipientRule{{Kind: alert.RecipientOnCall, Role: careteam.RoleLab}},
		Channels:   []alert.Channel{alert.ChannelSMS}, AckTimeout: 2 * time.Minute,
	}}}
	if err := s.CreatePolicy(ctx, nil, lab); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePolicy(ctx, nil, lab); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate policy: %v", err)
	}
	if err := s.CreateRoutingRule(ctx, nil, alert.RoutingRule{ID: uuid.New(), Category: "critical-lab-value", MinSeverity: alert.SeverityUrgent, PolicyID: lab.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRoutingRule(ctx, nil, alert.RoutingRule{ID: uuid.New(), MinSeverity: alert.SeverityUrgent, PolicyID: "nope"}); err == nil {
		t.Fatal("rule for an unknown policy accepted")
	}
	got, err := s.SelectPolicy(ctx, "critical-lab-value", alert.SeverityCritical)
	if err != nil || got.ID != lab.ID || got.Levels[0].AckTimeout != 2*time.Minute || got.Repeat != 1 {
		t.Fatalf("lab routing: %+v, %v", got, err)
	}
	if _, err := s.GetPolicy(ctx, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing policy: %v", err)
	}
}

func TestResolveRecipientsReadsDirectoryAndOnCall(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewAlertStore(pgtest.NewPool(t))
	nurse := addPractitioner(t, s, "Amina Rahman", careteam.RoleNurse, []string{"ward-3"})
	addPractitioner(t, s, "Chaya Das", careteam.RoleNurse, []string{"ward-5"})
	night := addPractitioner(t, s, "Dr Night", careteam.RolePhysician, nil)
	day := addPractitioner(t, s, "Dr Day", careteam.RolePhysician, nil)
	for _, sh := range []struct {
		who      careteam.Practitioner
		from, to time.Time
	}{{day, alertNow.Add(-12 * time.Hour), alertNow.Add(-2 * time.Hour)}, {night, alertNow.Add(-2 * time.Hour), alertNow.Add(10 * time.Hour)}} {
		o, _ := careteam.NewOnCall(uuid.New(), sh.who.ID, careteam.RolePhysician, "ward-3", sh.from, sh.to)
		if err := s.SetOnCall(ctx, nil, o); err != nil {
			t.Fatal(err)
		}
	}
	nurses, err := s.ResolveRecipients(ctx, "ward-3", alert.Level{Recipients: []alert.RecipientRule{{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}}}, alertNow)
	if err != nil || len(nurses) != 1 || nurses[0].ID != nurse.ID {
		t.Fatalf("nurses: %+v, %v", nurses, err)
	}
	physician := alert.Level{Recipients: []alert.RecipientRule{{Kind: alert.RecipientOnCall, Role: careteam.RolePhysician}}}
	for when, want := range map[time.Time]uuid.UUID{alertNow: night.ID, alertNow.Add(-5 * time.Hour): day.ID} {
		got, err := s.ResolveRecipients(ctx, "ward-3", physician, when)
		if err != nil || len(got) != 1 || got[0].ID != want {
			t.Fatalf("on call at %s: %+v, %v", when, got, err)
		}
	}
}

func raiseFixture(t *testing.T, s *postgres.AlertStore) alert.Raise {
	t.Helper()
	r := alert.Raise{AlertID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), Unit: "ward-3",
		Severity: alert.SeverityCritical, Category: "news2-high", Message: "NEWS2 score 9", Source: "encounter/1"}
	for range 2 { // repeating changes nothing
		if err := s.RecordAlertRaised(context.Background(), r, "critical-default", alertNow); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func outboxNotifications(t *testing.T, pool *pgxpool.Pool, key string) []postgres.NotificationRequested {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT type, topic, data FROM outbox WHERE key = $1 ORDER BY seq`, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []postgres.NotificationRequested
	for rows.Next() {
		var (
			typ, topic string
			data       []byte
			n          postgres.NotificationRequested
		)
		if err := rows.Scan(&typ, &topic, &data); err != nil {
			t.Fatal(err)
		}
		if typ != postgres.EventNotificationRequested || topic != postgres.NotificationsTopic {
			t.Fatalf("outbox row %s on %s", typ, topic)
		}
		if err := json.Unmarshal(data, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestAlertLifecycleWritesTimelineAndOutboxOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAlertStore(pool)
	r := raiseFixture(t, s)
	nurse := careteam.Practitioner{ID: uuid.Must(uuid.NewV7()), Name: "Amina Rahman", Active: true,
		Contacts: []careteam.ContactPoint{{System: careteam.ContactPush, Value: "tok-1"}}}
	charge := careteam.Practitioner{ID: uuid.Must(uuid.NewV7()), Name: "Bilkis Akter", Active: true}

	level1 := alert.Notifications(r, alert.Step{}, "", []alert.Channel{alert.ChannelInApp, alert.ChannelPush}, []careteam.Practitioner{nurse}, alertNow)
	for range 2 { // an activity retry
		if err := s.RecordNotifications(ctx, r.AlertID, alert.Step{}, nil, level1, alertNow); err != nil {
			t.Fatal(err)
		}
	}
	t2 := alertNow.Add(3 * time.Minute)
	esc := alert.Event{Kind: alert.EventEscalated, At: t2, Level: 2}
	level2 := alert.Notifications(r, alert.Step{Level: 1}, "", []alert.Channel{alert.ChannelInApp}, []careteam.Practitioner{charge}, t2)
	for range 2 {
		if err := s.RecordNotifications(ctx, r.AlertID, alert.Step{Level: 1}, &esc, level2, t2); err != nil {
			t.Fatal(err)
		}
	}
	sent := outboxNotifications(t, pool, r.PatientID.String())
	if len(sent) != 3 {
		t.Fatalf("outbox holds %d notifications, want 3 (retries must not duplicate)", len(sent))
	}
	push := sent[1]
	if push.NotificationID != level1[1].ID.String() || push.Channel != "push" || push.Address != "tok-1" || push.Level != 1 ||
		push.Recipient.PractitionerID != nurse.ID.String() || push.Recipient.Name != nurse.Name || push.AlertID != r.AlertID.String() ||
		push.Severity != "critical" || push.Category != "news2-high" || push.Body != r.Message || push.Subject == "" || push.CreatedAt == "" {
		t.Fatalf("push notification: %+v", push)
	}
	if sent[0].Address != "" || sent[2].Level != 2 {
		t.Fatalf("inapp address %q, level-2 level %d", sent[0].Address, sent[2].Level)
	}

	t3 := t2.Add(time.Minute)
	for range 2 {
		if err := s.RecordAcknowledged(ctx, r.AlertID, nurse.ID, nurse.Name, t3, nil); err != nil {
			t.Fatal(err)
		}
	}
	t4 := t3.Add(20 * time.Minute)
	for range 2 {
		if err := s.RecordResolved(ctx, r.AlertID, charge.ID, charge.Name, "fluids started", t4, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordAcknowledged(ctx, uuid.New(), nurse.ID, "", t3, nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("acknowledge unknown alert: %v", err)
	}

	got, err := s.GetAlert(ctx, r.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != alert.StatusResolved || got.Level != 2 || *got.AcknowledgedBy != nurse.ID || !got.AcknowledgedAt.Equal(t3) ||
		*got.ResolvedBy != charge.ID || got.ResolveNote != "fluids started" || got.PolicyID != "critical-default" {
		t.Fatalf("alert: %+v", got)
	}
	var kinds []alert.EventKind
	for _, e := range got.Timeline {
		kinds = append(kinds, e.Kind)
	}
	want := []alert.EventKind{"raised", "notified", "notified", "escalated", "notified", "acknowledged", "resolved"}
	if len(kinds) != len(want) {
		t.Fatalf("timeline %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("timeline %v, want %v", kinds, want)
		}
	}
	if e := got.Timeline[2]; e.Channel != alert.ChannelPush || e.NotificationID != level1[1].ID || e.PractitionerID != nurse.ID || e.Name != nurse.Name {
		t.Fatalf("notified entry: %+v", e)
	}
	if _, err := s.GetAlert(ctx, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing alert: %v", err)
	}
}

func TestListAndFindAlerts(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAlertStore(pool)
	patient := uuid.Must(uuid.NewV7())
	var ids []uuid.UUID
	for i := range 5 {
		r := alert.Raise{AlertID: uuid.Must(uuid.NewV7()), PatientID: patient, Unit: "ward-3", Severity: alert.SeverityUrgent,
			Category: "news2-high", Message: "NEWS2 6", Source: "encounter/1"}
		if err := s.RecordAlertRaised(ctx, r, "urgent-default", alertNow.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.AlertID)
	}
	other := raiseFixture(t, s)
	for _, id := range ids[:4] {
		if err := s.RecordExhausted(ctx, id, alertNow.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountClosedAlerts(ctx, patient, "news2-high", "encounter/1"); err != nil || n != 4 {
		t.Fatalf("closed: %d, %v", n, err)
	}
	open, err := s.FindOpenAlert(ctx, patient, "news2-high", "encounter/1")
	if err != nil || open.ID != ids[4] {
		t.Fatalf("open alert: %v, %v", open.ID, err)
	}
	if _, err := s.FindOpenAlert(ctx, patient, "news2-high", "diagnostic/9"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("no open alert: %v", err)
	}

	// The patient's alerts, two per page, newest first.
	var seen []uuid.UUID
	cursor := ""
	for {
		page, err := s.ListAlerts(ctx, alert.Filter{PatientID: patient, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Alerts {
			seen = append(seen, a.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("paged %v", seen)
	}
	openPage, err := s.ListAlerts(ctx, alert.Filter{Status: alert.StatusOpen})
	if err != nil || len(openPage.Alerts) != 2 || openPage.Next != "" {
		t.Fatalf("open alerts: %+v, %v", openPage, err)
	}
	openIDs := map[uuid.UUID]bool{openPage.Alerts[0].ID: true, openPage.Alerts[1].ID: true}
	if !openIDs[ids[4]] || !openIDs[other.AlertID] {
		t.Fatalf("open alerts: %+v", openPage.Alerts)
	}
	active, err := s.ListAlerts(ctx, alert.Filter{PatientID: patient, Active: true})
	if err != nil || len(active.Alerts) != 1 || active.Alerts[0].ID != ids[4] {
		t.Fatalf("the patient's active alerts: %+v, %v", active.Alerts, err)
	}
	// Recipient: only the alerts notified to that practitioner.
	nurse := uuid.Must(uuid.NewV7())
	if _, err := postgres.NewNotificationStore(pool).Accept(ctx, notification.Notification{ID: uuid.Must(uuid.NewV7()), AlertID: ids[4],
		PatientID: patient, PractitionerID: nurse.String(), Channel: "inapp", Severity: "critical", Level: 1, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	theirs, err := s.ListAlerts(ctx, alert.Filter{Recipient: nurse, Active: true})
	if err != nil || len(theirs.Alerts) != 1 || theirs.Alerts[0].ID != ids[4] {
		t.Fatalf("the nurse's alerts: %+v, %v", theirs.Alerts, err)
	}
	if none, err := s.ListAlerts(ctx, alert.Filter{Recipient: uuid.Must(uuid.NewV7())}); err != nil || len(none.Alerts) != 0 {
		t.Fatalf("a stranger's alerts: %+v, %v", none.Alerts, err)
	}
	if _, err := s.ListAlerts(ctx, alert.Filter{Cursor: "not-a-cursor"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}
