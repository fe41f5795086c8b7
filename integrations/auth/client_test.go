package auth

import (
	"slices"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"golang.org/x/crypto/bcrypt"
)

func TestNewClient(t *testing.T) {
	c, err := NewClient("lab-interface", "s3cret-enough", "", []string{"system/Observation.write", "system/Patient.read", "system/Patient.read"}, nil)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if c.ID != "lab-interface" || c.Name != "lab-interface" {
		t.Errorf("id/name = %q/%q", c.ID, c.Name)
	}
	if !slices.Equal(c.Scopes, []string{"system/Observation.write", "system/Patient.read"}) {
		t.Errorf("scopes = %q, want deduplicated", c.Scopes)
	}
	if len(c.Roles) != 0 {
		t.Errorf("roles = %q, want none", c.Roles)
	}
	if !slices.Equal(c.GrantTypes, []string{"client_credentials"}) {
		t.Errorf("grant types = %q", c.GrantTypes)
	}
	if err := bcrypt.CompareHashAndPassword(c.SecretHash, []byte("s3cret-enough")); err != nil {
		t.Errorf("secret hash does not match the secret: %v", err)
	}
	if strings.Contains(string(c.SecretHash), "s3cret-enough") {
		t.Error("secret stored in clear")
	}
}

func TestNewClientWithRoles(t *testing.T) {
	// Roles alone are enough; they are deduplicated, and the client's own
	// scopes stay only what was given: role scopes are added when granting.
	c, err := NewClient("ward-7", "s3cret-enough", "Ward 7 tablets", nil, []string{"nurse", "clinician", "nurse"})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if !slices.Equal(c.Roles, []string{"nurse", "clinician"}) || len(c.Scopes) != 0 {
		t.Errorf("roles = %q, scopes = %q", c.Roles, c.Scopes)
	}
	grantable := access.GrantableScopes(c.Scopes, c.Roles)
	if !slices.Contains(grantable, "system/MedicationRequest.write") || !slices.Contains(grantable, "system/Observation.write") {
		t.Errorf("grantable = %q, want the union of nurse and clinician", grantable)
	}

	// Both together.
	c, err = NewClient("pharmacy", "s3cret-enough", "", []string{"emergency"}, []string{"pharmacist"})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	grantable = access.GrantableScopes(c.Scopes, c.Roles)
	if grantable[0] != "emergency" || !slices.Contains(grantable, "system/MedicationRequest.write") {
		t.Errorf("grantable = %q, want own scopes first, then the pharmacist's", grantable)
	}
}

func TestNewClientRejects(t *testing.T) {
	tests := []struct {
		name, id, secret string
		scopes, roles    []string
		wantInError      string
	}{
		{"short secret", "lab", "1234567", []string{"system/*.*"}, nil, "client secret"},
		{"long secret", "lab", strings.Repeat("x", 73), []string{"system/*.*"}, nil, "client secret"},
		{"no scopes nor roles", "lab", "12345678", nil, nil, "at least one scope or role"},
		{"bad scope", "lab", "12345678", []string{"system/*.*", "admin"}, nil, `scope "admin"`},
		{"unknown role", "lab", "12345678", nil, []string{"nurse", "surgeon"}, `role "surgeon"`},
		{"role given as a scope", "lab", "12345678", []string{"system/Patient.read"}, []string{"system/Patient.read"}, `role "system/Patient.read"`},
		{"empty id", "", "12345678", []string{"system/*.*"}, nil, "client id"},
		{"id with colon", "lab:1", "12345678", []string{"system/*.*"}, nil, "client id"},
		{"id with space", "lab 1", "12345678", []string{"system/*.*"}, nil, "client id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.id, tt.secret, "Lab", tt.scopes, tt.roles)
			if err == nil || !strings.Contains(err.Error(), tt.wantInError) {
				t.Fatalf("NewClient error = %v, want one mentioning %q", err, tt.wantInError)
			}
		})
	}
	// Every problem is reported at once, and an unknown role names the known ones.
	_, err := NewClient("", "short", "", []string{"nope"}, []string{"doctor"})
	for _, want := range []string{"client id", "client secret", `scope "nope"`, `role "doctor"`, "clinician, nurse, pharmacist"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("combined error %v does not mention %q", err, want)
		}
	}
}
