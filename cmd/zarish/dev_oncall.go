package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

// devOnCallRoles are the on-call roles `zarish dev` puts its demo
// practitioners on, hospital-wide: the privacy officer, whom every
// break-the-glass access alerts for review, and the pharmacist, whom a held
// prescription nobody acts on alerts.
var devOnCallRoles = []careteam.Role{careteam.RolePrivacyOfficer, careteam.RolePharmacist}

// devOnCallSpan is how far ahead of each start the demo shifts run.
const devOnCallSpan = 365 * 24 * time.Hour

// onCallDirectory is what seeding the demo on-call rota needs.
type onCallDirectory interface {
	CreatePractitioner(ctx context.Context, rec *audit.Record, p careteam.Practitioner) error
	SetOnCall(ctx context.Context, rec *audit.Record, o careteam.OnCall) error
}

// seedDevOnCall puts each demo practitioner holding one of devOnCallRoles
// on call for it hospital-wide, from the start of today (UTC) for a year:
// the shift has an id of its own, so every start renews it. The
// practitioner is created first when missing (a demo user seeded before it
// had one).
func seedDevOnCall(ctx context.Context, team onCallDirectory, now time.Time, logger *slog.Logger) error {
	from := now.UTC().Truncate(24 * time.Hour)
	for _, d := range demoUsers {
		if d.Practitioner == "" || !slices.Contains(devOnCallRoles, d.Practitioner) {
			continue
		}
		id := demoPractitionerID(d.Username)
		p, err := careteam.NewPractitioner(id, strings.TrimSpace(strings.Split(d.Name, "(")[0]), []careteam.Role{d.Practitioner},
			[]string{"ward-3"}, []careteam.ContactPoint{{System: careteam.ContactEmail, Value: d.Username + "@zarish.invalid"}})
		if err != nil {
			return fmt.Errorf("demo practitioner %s: %w", d.Username, err)
		}
		if err := team.CreatePractitioner(ctx, nil, p); err != nil && !errors.Is(err, domain.ErrConflict) {
			return fmt.Errorf("demo practitioner %s: %w", d.Username, err)
		}
		shift, err := careteam.NewOnCall(demoOnCallID(d.Practitioner, d.Username), id, d.Practitioner, "", from, from.Add(devOnCallSpan))
		if err != nil {
			return fmt.Errorf("demo on-call %s: %w", d.Username, err)
		}
		if err := team.SetOnCall(ctx, nil, shift); err != nil {
			return fmt.Errorf("demo on-call %s: %w", d.Username, err)
		}
		logger.Debug("demo practitioner on call", "username", d.Username, "role", d.Practitioner, "until", shift.To)
	}
	return nil
}

// demoOnCallID is the id of a demo user's shift in role: stable, so that
// each start of `zarish dev` renews the same shift.
func demoOnCallID(role careteam.Role, username string) uuid.UUID {
	return uuid.NewSHA1(demoNamespace, []byte("on-call/"+string(role)+"/"+username))
}
