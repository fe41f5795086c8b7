package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// The directory's and the policies' writes store the request's audit record
// in their own transaction: a write that commits has its record, and one
// that fails leaves neither.
func TestCareTeamWritesCommitWithTheirAuditRecord(t *testing.T) {
	pool := pgtest.NewPool(t)
	team := postgres.NewCareTeamStore(pool)
	alerts := postgres.NewAlertStore(pool)
	audits := postgres.NewAuditStore(pool)
	ctx := context.Background()
	record := func() *audit.Record {
		return &audit.Record{ID: uuid.Must(uuid.NewV7()), Time: time.Now().UTC(), Action: audit.ActionCreate, Status: 201,
			Actor: audit.Actor{Subject: "admin", ClientID: "admin"}, Outcome: audit.OutcomeSuccess, Method: "POST",
			Route: "/v1/clinical/practitioners", Purpose: audit.DefaultPurpose}
	}
	p, err := careteam.NewPractitioner(uuid.Must(uuid.NewV7()), "Nasrin Akter", []careteam.Role{careteam.RoleNurse}, []string{"ward-3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := record()
	if err := team.CreatePractitioner(ctx, rec, p); err != nil {
		t.Fatal(err)
	}
	if got, err := audits.Get(ctx, rec.ID); err != nil || got.EntityType != "Practitioner" || got.EntityID != p.ID.String() {
		t.Fatalf("practitioner's audit record: %+v, %v", got, err)
	}
	// The same id again: the write fails, and so its record is not stored.
	again := record()
	if err := team.CreatePractitioner(ctx, again, p); err == nil {
		t.Fatal("a practitioner's id taken twice")
	}
	if _, err := audits.Get(ctx, again.ID); err == nil {
		t.Fatal("the audit record of a failed write was stored")
	}

	shift, err := careteam.NewOnCall(uuid.Must(uuid.NewV7()), p.ID, careteam.RoleNurse, "ward-3", time.Now(), time.Now().Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rec = record()
	if err := team.SetOnCall(ctx, rec, shift); err != nil {
		t.Fatal(err)
	}
	if got, err := audits.Get(ctx, rec.ID); err != nil || got.EntityType != "PractitionerRole" {
		t.Fatalf("on-call audit record: %+v, %v", got, err)
	}

	policy := alert.Policy{ID: "ward-3-night", Name: "Ward 3 at night", Levels: []alert.Level{{
		Recipients: []alert.RecipientRule{{Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}},
		Channels:   []alert.Channel{alert.ChannelInApp}, AckTimeout: 5 * time.Minute}}}
	rec = record()
	if err := alerts.CreatePolicy(ctx, rec, policy); err != nil {
		t.Fatal(err)
	}
	if got, err := audits.Get(ctx, rec.ID); err != nil || got.EntityType != "PlanDefinition" || got.EntityID != policy.ID {
		t.Fatalf("policy audit record: %+v, %v", got, err)
	}
}
