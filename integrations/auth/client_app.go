package auth

import (
	"errors"
	"fmt"
	"net/url"
	"slices"

	"golang.org/x/crypto/bcrypt"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// AppClient describes a client that signs people in with the authorization
// code grant and PKCE: a browser or native app (Public, no secret) or a web
// server (with a secret).
type AppClient struct {
	ID, Name string
	// Secret is empty for a public client.
	Secret string
	// RedirectURIs are where users are sent back: https, or http on a
	// loopback address for a native app or local development.
	RedirectURIs []string
	// Scopes are what the client may ask for: sign-in scopes (openid,
	// profile, fhirUser, offline_access, launch), user/ resource scopes and
	// patient/ ones (granted only in a patient's launch context); a
	// sign-in is granted no more than the user's roles allow.
	Scopes []string
	// FirstParty clients are ours: signing in skips the consent step.
	FirstParty bool
}

// NewAppClient returns an authorization-code client ready for
// postgres.OAuthStore.CreateClient or EnsureClient, reporting every problem
// at once.
func NewAppClient(a AppClient) (postgres.OAuthClient, error) {
	var errs []error
	if !validClientID(a.ID) {
		errs = append(errs, fmt.Errorf("client id %q: want 1-100 characters from A-Z a-z 0-9 . _ ~ -", a.ID))
	}
	public := a.Secret == ""
	if !public && (len(a.Secret) < MinSecretLength || len(a.Secret) > MaxSecretLength) {
		errs = append(errs, fmt.Errorf("client secret: want %d to %d bytes, got %d", MinSecretLength, MaxSecretLength, len(a.Secret)))
	}
	if len(a.RedirectURIs) == 0 {
		errs = append(errs, errors.New("redirect URIs: at least one is required"))
	}
	for _, raw := range a.RedirectURIs {
		if err := checkRedirectURI(raw); err != nil {
			errs = append(errs, err)
		}
	}
	var scopes []string
	for _, s := range a.Scopes {
		sc, err := access.ParseScope(s)
		switch {
		case slices.Contains(access.SignInScopes, s):
		case err != nil:
			errs = append(errs, err)
			continue
		case sc.Context != access.ContextUser && sc.Context != access.ContextPatient:
			errs = append(errs, fmt.Errorf("scope %q: a client that signs people in asks for user/ and patient/ scopes", s))
			continue
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if !slices.Contains(scopes, access.ScopeOpenID) {
		errs = append(errs, errors.New("scopes: openid is required (the client signs people in)"))
	}
	if err := errors.Join(errs...); err != nil {
		return postgres.OAuthClient{}, fmt.Errorf("auth: new app client: %w", err)
	}
	var hash []byte
	if !public {
		var err error
		if hash, err = bcrypt.GenerateFromPassword([]byte(a.Secret), bcrypt.DefaultCost); err != nil {
			return postgres.OAuthClient{}, fmt.Errorf("auth: hash client secret: %w", err)
		}
	}
	name := a.Name
	if name == "" {
		name = a.ID
	}
	return postgres.OAuthClient{
		ID: a.ID, Name: name, SecretHash: hash, Scopes: scopes,
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		RedirectURIs:  slices.Clone(a.RedirectURIs),
		Audience:      []string{},
		Public:        public,
		FirstParty:    a.FirstParty,
	}, nil
}

// checkRedirectURI accepts absolute https URIs, and http ones on a loopback
// host (RFC 8252 §7.3), without a fragment.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return fmt.Errorf("redirect URI %q: want an absolute URI", raw)
	case u.Fragment != "":
		return fmt.Errorf("redirect URI %q: must not have a fragment", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
		return nil
	}
	return fmt.Errorf("redirect URI %q: want https (or http on a loopback address)", raw)
}
