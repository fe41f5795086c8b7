package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/identity"
	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// identityAdminUsage lists the administrative commands on users, apps and keys.
const identityAdminUsage = `  zarish admin create-user --username NAME [--roles admin] [--practitioner ID] [--name "Full Name"] (--password-stdin | --password P)
                                                                  add a user; the first administrator is made this way
  zarish admin create-app --id ID --redirect-uris URI[,URI] [--scopes 'openid offline_access launch user/*.* patient/*.*'] [--secret S] [--first-party]
                                                                  register an app that signs people in (no secret: a public app, PKCE only)
  zarish admin rotate-signing-key [--file JWT_SIGNING_KEY_FILE]   new signing key in front; the previous one keeps verifying`

// identityAdmin are the administrative commands on identity.
var identityAdmin = map[string]func(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error{
	"create-user":        runCreateUser,
	"create-app":         runCreateApp,
	"rotate-signing-key": runRotateSigningKey,
}

// passwordInput is where --password-stdin reads from; tests replace it.
var passwordInput io.Reader = os.Stdin

// runCreateUser adds a user who signs in.
func runCreateUser(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin create-user", flag.ContinueOnError)
	fs.SetOutput(stdout)
	username := fs.String("username", "", "the sign-in name: 3-64 characters from a-z 0-9 . _ - @")
	name := fs.String("name", "", "display name (default: the username)")
	roles := fs.String("roles", string(access.RoleAdmin), "comma-separated roles: "+strings.Join(access.RoleNames(), ","))
	practitioner := fs.String("practitioner", "", "the practitioner id (required unless every role is admin or auditor)")
	password := fs.String("password", "", "the password (visible in the process list: prefer --password-stdin)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *fromStdin {
		line, err := bufio.NewReader(passwordInput).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		*password = strings.TrimRight(line, "\r\n")
	}
	var pid *uuid.UUID
	if *practitioner != "" {
		id, err := uuid.Parse(*practitioner)
		if err != nil {
			return usageError{fmt.Errorf("--practitioner %q is not a practitioner id (UUID)", *practitioner)}
		}
		pid = &id
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	v := &domain.ValidationError{}
	u, err := access.NewUser(id, *username, *name, pid, splitList(*roles))
	if err != nil && !errors.As(err, &v) {
		return err
	}
	identity.ValidatePassword(v, "password", *password, identity.NormalizeUsername(*username))
	if err := v.OrNil(); err != nil {
		return usageError{err}
	}
	hash, err := access.HashPassword(ctx, *password)
	if err != nil {
		return err
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	created, err := postgres.NewUserStore(pool).CreateUser(ctx, u, hash)
	switch {
	case errors.Is(err, domain.ErrConflict):
		return fmt.Errorf("user %q: the username is taken, or the practitioner already has an account", u.Username)
	case errors.Is(err, domain.ErrNotFound):
		return fmt.Errorf("user %q: no practitioner %s in the directory", u.Username, *practitioner)
	case err != nil:
		return err
	}
	mfa := ""
	if slices.ContainsFunc(created.Roles, func(r string) bool { return slices.Contains(mfaPolicy(cfg), r) }) {
		mfa = "; a TOTP authenticator is enrolled at the first sign-in"
	}
	fmt.Fprintf(stdout, "created user %s (%s) with roles [%s]%s\n", created.Username, created.ID, strings.Join(created.Roles, " "), mfa)
	return nil
}

func mfaPolicy(cfg config.Config) []string {
	if cfg.Auth.MFARoles == nil {
		return auth.DefaultMFARoles
	}
	return cfg.Auth.MFARoles
}

// runCreateApp registers a client that signs people in.
func runCreateApp(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin create-app", flag.ContinueOnError)
	fs.SetOutput(stdout)
	id := fs.String("id", "", "client id")
	name := fs.String("name", "", "the name the sign-in page shows")
	redirects := fs.String("redirect-uris", "", "comma-separated redirect URIs (https, or http on a loopback address)")
	scopes := fs.String("scopes", "openid profile fhirUser offline_access launch user/*.* patient/*.*", "what the app may ask for")
	secret := fs.String("secret", "", "a client secret for a server-side app; none makes a public app (PKCE only)")
	firstParty := fs.Bool("first-party", false, "an app of this hospital: signing in skips the consent step")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	c, err := auth.NewAppClient(auth.AppClient{ID: *id, Name: *name, Secret: *secret, RedirectURIs: splitList(*redirects),
		Scopes: splitList(*scopes), FirstParty: *firstParty})
	if err != nil {
		return usageError{err}
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.NewOAuthStore(pool).CreateClient(ctx, c); err != nil {
		return fmt.Errorf("create app %q: %w", *id, err)
	}
	kind := "public (PKCE, no secret)"
	if !c.Public {
		kind = "confidential"
	}
	fmt.Fprintf(stdout, "created app %s, %s, first-party %v, redirect URIs [%s], scopes [%s]\n",
		c.ID, kind, c.FirstParty, strings.Join(c.RedirectURIs, " "), strings.Join(c.Scopes, " "))
	return nil
}

// runRotateSigningKey puts a new signing key in front of the key file. The
// running processes reload it within half a minute; tokens signed with the
// previous key keep verifying (the JWKS publishes both).
func runRotateSigningKey(_ context.Context, cfg config.Config, args []string, _ *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin rotate-signing-key", flag.ContinueOnError)
	fs.SetOutput(stdout)
	def := cfg.Auth.SigningKeyFile
	if def == "" {
		def = filepath.Join(cfg.DataDir, "jwt-signing-key.pem") // zarish dev's
	}
	file := fs.String("file", def, "the PEM key file (JWT_SIGNING_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	newKID, oldKID, err := auth.RotateSigningKey(*file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signing key rotated in %s: new kid %s; previous kid %s still verifies tokens issued before\n", *file, newKID, oldKID)
	return nil
}
