package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// builtInDevSecret is the dev client's secret when ZARISH_DEV_CLIENT_SECRET
// is unset: printed in the banner and in the README, so fit only for a
// database nobody else reaches.
const builtInDevSecret = "dev-secret"

// devAppClientID is the public, first-party app `zarish dev` registers for
// trying the sign-in (authorization code with PKCE) from a local tool.
const devAppClientID = "dev-app"

// devAppRedirects are where dev-app may send users back: a local tool's
// loopback listener (RFC 8252 §7.3).
var devAppRedirects = []string{"http://127.0.0.1:8765/callback", "http://localhost:8765/callback"}

// demoUser is a user `zarish dev` seeds: its sign-in, role and practitioner.
type demoUser struct {
	Username, Password, Name string
	Role                     access.Role
	// Practitioner is the care-team role of its practitioner; empty for
	// a user without one.
	Practitioner careteam.Role
}

// demoUsers are the people of the dev stack, one per job the care
// processes ask for. Their passwords are printed in the banner.
var demoUsers = []demoUser{
	{"nurse.nadia", "demo-password-nurse", "Nadia Akter (nurse)", access.RoleNurse, careteam.RoleNurse},
	{"dr.karim", "demo-password-physician", "Dr. Karim Hossain (physician)", access.RoleClinician, careteam.RolePhysician},
	{"pharm.farhana", "demo-password-pharmacist", "Farhana Islam (pharmacist)", access.RolePharmacist, careteam.RolePharmacist},
	{"lab.rahim", "demo-password-lab", "Rahim Uddin (laboratory scientist)", access.RoleLab, careteam.RoleLab},
	{"path.imran", "demo-password-pathologist", "Dr. Imran Chowdhury (pathologist)", access.RoleLab, careteam.RolePathologist},
	{"rad.tania", "demo-password-radiologist", "Dr. Tania Rahman (radiologist)", access.RoleLab, careteam.RoleRadiologist},
	// The auditor is also the privacy officer, on call for break-the-glass
	// reviews (seedDevOnCall).
	{"audit.sara", "demo-password-auditor", "Sara Ahmed (auditor)", access.RoleAuditor, careteam.RolePrivacyOfficer},
	// The operator watches the care processes in the Temporal Web UI, and
	// opens their sealed payloads there; no practitioner.
	{"ops.omar", "demo-password-operator", "Omar Faruk (operator)", access.RoleOperator, ""},
}

// demoNamespace makes the demo practitioners' and users' ids stable, so a
// restart of `zarish dev` finds them again.
var demoNamespace = uuid.MustParse("6b0d1f8e-3a55-5c1e-9d0c-7a1e2f3b4c5d")

// demoPractitionerID is the practitioner id of a demo user.
func demoPractitionerID(username string) uuid.UUID {
	return uuid.NewSHA1(demoNamespace, []byte("practitioner/"+username))
}

// refuseBuiltInSecretRemotely stops `zarish dev` from registering the
// published dev secret in a database that is not on this machine.
func refuseBuiltInSecretRemotely(databaseURL, secret string) error {
	if secret != builtInDevSecret {
		return nil
	}
	pc, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	hosts := []string{pc.Host}
	for _, f := range pc.Fallbacks {
		hosts = append(hosts, f.Host)
	}
	for _, h := range hosts {
		if !localHost(h) {
			return fmt.Errorf("refusing the built-in dev client secret %q against the database on %s, which is not this machine: "+
				"set ZARISH_DEV_CLIENT_SECRET to a secret of your own", builtInDevSecret, h)
		}
	}
	return nil
}

// localHost reports whether h is this machine: a Unix socket directory,
// localhost or a loopback address.
func localHost(h string) bool {
	if h == "" || strings.HasPrefix(h, "/") || strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// seedDevIdentity registers the dev app and the demo users with their
// practitioners, unless they exist.
func seedDevIdentity(ctx context.Context, pool *pgxpool.Pool, store *postgres.OAuthStore, logger *slog.Logger) error {
	app, err := auth.NewAppClient(auth.AppClient{
		ID: devAppClientID, Name: "ZARISH dev app", RedirectURIs: devAppRedirects, FirstParty: true,
		Scopes: []string{access.ScopeOpenID, access.ScopeProfile, access.ScopeFHIRUser, access.ScopeOfflineAccess, access.ScopeLaunch,
			"user/*.*", "patient/*.*"},
	})
	if err != nil {
		return fmt.Errorf("dev app: %w", err)
	}
	if _, err := store.EnsureClient(ctx, app); err != nil {
		return fmt.Errorf("dev app: %w", err)
	}
	team := postgres.NewCareTeamStore(pool)
	users := postgres.NewUserStore(pool)
	for _, d := range demoUsers {
		if _, err := users.SignInRecord(ctx, d.Username); err == nil {
			continue
		} else if !errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("demo user %s: %w", d.Username, err)
		}
		var practitioner *uuid.UUID
		if d.Practitioner != "" {
			id := demoPractitionerID(d.Username)
			p, err := careteam.NewPractitioner(id, strings.TrimSpace(strings.Split(d.Name, "(")[0]), []careteam.Role{d.Practitioner},
				[]string{"ward-3"}, []careteam.ContactPoint{{System: careteam.ContactEmail, Value: d.Username + "@zarish.invalid"}})
			if err != nil {
				return fmt.Errorf("demo practitioner %s: %w", d.Username, err)
			}
			if err := team.CreatePractitioner(ctx, nil, p); err != nil && !errors.Is(err, domain.ErrConflict) {
				return fmt.Errorf("demo practitioner %s: %w", d.Username, err)
			}
			practitioner = &id
		}
		u, err := access.NewUser(uuid.NewSHA1(demoNamespace, []byte("user/"+d.Username)), d.Username, d.Name, practitioner, []string{string(d.Role)})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", d.Username, err)
		}
		hash, err := access.HashPassword(ctx, d.Password)
		if err != nil {
			return err
		}
		if _, err := users.EnsureUser(ctx, u, hash); err != nil {
			return fmt.Errorf("demo user %s: %w", d.Username, err)
		}
		logger.Info("created demo user", "username", d.Username, "role", d.Role)
	}
	return nil
}

// printDemoUsers writes the sign-in part of the banner.
func printDemoUsers(w io.Writer, apiURL string, mfaRoles []string) {
	if mfaRoles == nil {
		mfaRoles = auth.DefaultMFARoles
	}
	fmt.Fprintf(w, "  Sign in       %s/v1/auth/oauth2/authorize   (app %s, PKCE S256; discovery: %s/.well-known/openid-configuration)\n",
		apiURL, devAppClientID, apiURL)
	fmt.Fprintf(w, "  Demo users    (second factor on first sign-in for: %s)\n", strings.Join(mfaRoles, ", "))
	for _, d := range demoUsers {
		fmt.Fprintf(w, "    %-14s %-26s %s\n", d.Username, d.Password, d.Role)
	}
}
