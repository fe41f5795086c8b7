package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/identity"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

const fakeHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

func TestUserStore(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	users := postgres.NewUserStore(pool)
	pid := uuid.Must(uuid.NewV7())
	p, err := careteam.NewPractitioner(pid, "Nina Nurse", []careteam.Role{careteam.RoleNurse}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewCareTeamStore(pool).CreatePractitioner(ctx, nil, p); err != nil {
		t.Fatal(err)
	}
	u := identity.User{ID: uuid.Must(uuid.NewV7()), Username: "nina.nurse", DisplayName: "Nina", PractitionerID: &pid, Roles: []string{"nurse"}}
	created, err := users.CreateUser(ctx, u, fakeHash)
	if err != nil || created.Version != 1 || created.MFAEnrolled || !created.Active() {
		t.Fatalf("create: %+v %v", created, err)
	}
	// One account per username (whatever its case) and per practitioner.
	dup := u
	dup.ID, dup.Username = uuid.Must(uuid.NewV7()), "other"
	if _, err := users.CreateUser(ctx, dup, fakeHash); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("second account of a practitioner: %v", err)
	}
	ghost := identity.User{ID: uuid.Must(uuid.NewV7()), Username: "ghost", PractitionerID: ptr(uuid.Must(uuid.NewV7())), Roles: []string{"nurse"}}
	if _, err := users.CreateUser(ctx, ghost, fakeHash); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown practitioner: %v", err)
	}
	cred, err := users.SignInRecord(ctx, "nina.nurse")
	if err != nil || cred.PasswordHash != fakeHash || cred.User.ID != u.ID {
		t.Fatalf("sign-in record: %+v %v", cred, err)
	}

	// Lockout: the third failure locks for the base, the fourth for twice it.
	policy := postgres.LockoutPolicy{Threshold: 3, Base: time.Minute, Max: 3 * time.Minute}
	now := time.Now()
	for i := 1; i <= 5; i++ {
		n, until, err := users.RecordSignInFailure(ctx, u.ID, now, policy)
		if err != nil || n != i {
			t.Fatalf("failure %d: %d %v", i, n, err)
		}
		want := map[int]time.Duration{3: time.Minute, 4: 2 * time.Minute, 5: 3 * time.Minute}[i]
		switch {
		case want == 0 && until != nil:
			t.Errorf("failure %d locked until %v", i, until)
		case want != 0 && (until == nil || until.Sub(now).Round(time.Second) != want):
			t.Errorf("failure %d locked until %v, want %v later", i, until, want)
		}
	}
	if err := users.RecordSignIn(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := users.GetUser(ctx, u.ID); got.LockedUntil != nil || got.LastSignInAt == nil {
		t.Errorf("after a sign-in: %+v", got)
	}

	// TOTP: each step used once, never an earlier one.
	if err := users.EnrolTOTP(ctx, u.ID, []byte("sealed"), 100, []string{"h1", "h2"}); err != nil {
		t.Fatal(err)
	}
	for step, want := range map[int64]bool{100: false, 99: false, 101: true} {
		if ok, err := users.UseTOTPStep(ctx, u.ID, step); err != nil || ok != want {
			t.Errorf("step %d: %v %v, want %v", step, ok, err, want)
		}
	}
	if ok, left, err := users.UseRecoveryCode(ctx, u.ID, "h1"); !ok || left != 1 || err != nil {
		t.Errorf("recovery code: %v %d %v", ok, left, err)
	}
	if ok, _, _ := users.UseRecoveryCode(ctx, u.ID, "h1"); ok {
		t.Error("a recovery code worked twice")
	}

	// Roles change under optimistic concurrency and revoke the user's tokens.
	if _, _, err := users.SetUserRoles(ctx, u.ID, 7, []string{"clinician"}); !errors.Is(err, domain.ErrVersionMismatch) {
		t.Errorf("stale version: %v", err)
	}
	before, after, err := users.SetUserRoles(ctx, u.ID, created.Version, []string{"clinician"})
	if err != nil || before.Roles[0] != "nurse" || after.Roles[0] != "clinician" || after.Version != before.Version+1 {
		t.Errorf("set roles: %+v %+v %v", before, after, err)
	}
	store := postgres.NewOAuthStore(pool)
	revs, err := store.Revocations(ctx)
	if err != nil || len(revs) != 1 || revs[0].Kind != postgres.RevokeUser || revs[0].Subject != u.ID.String() {
		t.Errorf("revocations after a role change: %+v %v", revs, err)
	}
	page, err := users.ListUsers(ctx, identity.UserFilter{Role: "clinician"})
	if err != nil || len(page.Users) != 1 {
		t.Errorf("list by role: %+v %v", page, err)
	}
	if _, err := users.DisableUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if page, _ := users.ListUsers(ctx, identity.UserFilter{}); len(page.Users) != 0 {
		t.Errorf("a disabled user is listed by default: %+v", page)
	}
}

func ptr[T any](v T) *T { return &v }
