package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuthSettings(t *testing.T) {
	load := func(env map[string]string) (Config, error) { return Load(func(k string) string { return env[k] }) }

	c, err := load(nil)
	if err != nil || c.Auth.MFARoles != nil || c.Auth.SessionTTL != 12*time.Hour || c.Auth.LockoutThreshold != 5 || c.Auth.Audience != "" {
		t.Fatalf("defaults: %+v %v", c.Auth, err)
	}
	c, err = load(map[string]string{"AUTH_MFA_ROLES": "none", "JWT_AUDIENCE": "https://api.example.org/fhir", "JWT_EXPIRES_IN": "900"})
	if err != nil || c.Auth.MFARoles == nil || len(c.Auth.MFARoles) != 0 || c.Auth.Audience != "https://api.example.org/fhir" {
		t.Fatalf("no MFA roles: %+v %v", c.Auth, err)
	}
	c, _ = load(map[string]string{"AUTH_MFA_ROLES": "admin, pharmacist,clinician"})
	if !slices.Equal(c.Auth.MFARoles, []string{"admin", "pharmacist", "clinician"}) {
		t.Errorf("MFA roles %q", c.Auth.MFARoles)
	}
	// Access tokens live an hour at most: the revocation list stays small.
	if _, err := load(map[string]string{"JWT_EXPIRES_IN": "2h"}); err == nil || !strings.Contains(err.Error(), "JWT_EXPIRES_IN") {
		t.Errorf("a two-hour token lifetime: %v", err)
	}
	if _, err := load(map[string]string{"JWT_EXPIRES_IN": "3600"}); err != nil {
		t.Errorf("one hour refused: %v", err)
	}
}
