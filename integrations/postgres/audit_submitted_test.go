package postgres_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// submittedRecord is a record the badge gateway submitted, signed in as its
// security officer, about a nurse of its own system.
func submittedRecord(t *testing.T, officer uuid.UUID) audit.Record {
	t.Helper()
	r := auditRecord(time.Now(), nil)
	r.Action, r.Outcome, r.EntityType, r.EntityID = audit.ActionSecurity, audit.OutcomeDenied, "Device", "badge-reader-3"
	r, err := r.Submit(audit.Submitter{ClientID: "badge-gw", UserID: "u-officer", PractitionerID: officer.String()},
		audit.Actor{}, &audit.ActorClaim{Subject: "nurse.k", Roles: []string{"nurse"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A submitted record reads back flagged and naming its submitter, in every
// report; the sealer hashes the submission, so changing it breaks the chain,
// while the records around it — stored as every record was before records
// could be submitted — verify as before.
func TestAuditSubmittedRecordIsStoredReportedAndSealed(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil)

	officer := uuid.New()
	before := appendRecords(t, store, 3)
	sub := submittedRecord(t, officer)
	if err := store.Append(ctx, sub); err != nil {
		t.Fatal(err)
	}
	after := appendRecords(t, store, 2)

	got, err := store.Get(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, stored(sub)) || string(got.Canonical()) != string(stored(sub).Canonical()) {
		t.Errorf("Get returned\n%+v\nwant\n%+v", got, stored(sub))
	}
	plain, err := store.Get(ctx, before[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Submitted || plain.Submitter != nil {
		t.Errorf("a record nobody submitted reads back as submitted: %+v", plain)
	}

	// What the officer submitted is part of the officer's activity.
	for _, who := range []string{"u-officer", officer.String()} {
		activity, err := store.UserActivity(ctx, who, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(activity) != 1 || activity[0].ID != sub.ID || !activity[0].Submitted {
			t.Errorf("UserActivity(%s) = %v, want the record submitted", who, recordIDs(activity))
		}
	}
	page, _, err := store.Query(ctx, audit.Filter{Actor: "nurse.k"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].Submitter == nil || page[0].Submitter.ClientID != "badge-gw" {
		t.Errorf("Query(actor nurse.k) = %+v, want the submitted record naming its submitter", page)
	}

	sealAll(t, sealer)
	if res := verify(t, store, time.Time{}, time.Time{}); !res.Intact || res.Checked != len(before)+1+len(after) {
		t.Fatalf("verify = %+v, want all %d links intact", res, len(before)+1+len(after))
	}
	tamper(t, pool, `UPDATE audit_events SET submitter_client = 'ward-app' WHERE id = $1`, sub.ID)
	res := verify(t, store, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil || res.BrokenAt.EventID != sub.ID {
		t.Fatalf("verify after changing the submitter = %+v, want broken at %s", res, sub.ID)
	}
	tamper(t, pool, `UPDATE audit_events SET submitter_client = 'badge-gw' WHERE id = $1`, sub.ID)
	tamper(t, pool, `UPDATE audit_events SET submitted = false, submitter_client = '', submitter_user = '', submitter_practitioner = ''
		WHERE id = $1`, sub.ID)
	if res := verify(t, store, time.Time{}, time.Time{}); res.Intact || res.BrokenAt == nil || res.BrokenAt.EventID != sub.ID {
		t.Fatalf("verify after passing the record off as the server's own = %+v, want broken at %s", res, sub.ID)
	}
}

// A record the columns could not give back as it was is refused: a flag
// without a submitter, or a submitter without the flag.
func TestAuditAppendRefusesAHalfSubmittedRecord(t *testing.T) {
	store := postgres.NewAuditStore(pgtest.NewPool(t))
	flagOnly := auditRecord(time.Now(), nil)
	flagOnly.Submitted = true
	bySomeone := auditRecord(time.Now(), nil)
	bySomeone.Submitter = &audit.Submitter{ClientID: "badge-gw"}
	for name, r := range map[string]audit.Record{"flag without submitter": flagOnly, "submitter without flag": bySomeone} {
		var verr *domain.ValidationError
		if err := store.Append(t.Context(), r); !errors.As(err, &verr) {
			t.Errorf("%s: Append = %v, want a validation error", name, err)
		}
	}
}
