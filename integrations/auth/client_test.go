package auth

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestNewClient(t *testing.T) {
	c, err := NewClient("lab-interface", "s3cret-enough", "", []string{"system/Observation.write", "system/Patient.read", "system/Patient.read"})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if c.ID != "lab-interface" || c.Name != "lab-interface" {
		t.Errorf("id/name = %q/%q", c.ID, c.Name)
	}
	if !slices.Equal(c.Scopes, []string{"system/Observation.write", "system/Patient.read"}) {
		t.Errorf("scopes = %q, want deduplicated", c.Scopes)
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

func TestNewClientRejects(t *testing.T) {
	tests := []struct {
		name, id, secret string
		scopes           []string
		wantInError      string
	}{
		{"short secret", "lab", "1234567", []string{"system/*.*"}, "client secret"},
		{"long secret", "lab", strings.Repeat("x", 73), []string{"system/*.*"}, "client secret"},
		{"no scopes", "lab", "12345678", nil, "at least one"},
		{"bad scope", "lab", "12345678", []string{"system/*.*", "admin"}, `scope "admin"`},
		{"empty id", "", "12345678", []string{"system/*.*"}, "client id"},
		{"id with colon", "lab:1", "12345678", []string{"system/*.*"}, "client id"},
		{"id with space", "lab 1", "12345678", []string{"system/*.*"}, "client id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.id, tt.secret, "Lab", tt.scopes)
			if err == nil || !strings.Contains(err.Error(), tt.wantInError) {
				t.Fatalf("NewClient error = %v, want one mentioning %q", err, tt.wantInError)
			}
		})
	}
	// Every problem is reported at once.
	_, err := NewClient("", "short", "", []string{"nope"})
	for _, want := range []string{"client id", "client secret", `scope "nope"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("combined error %v does not mention %q", err, want)
		}
	}
}
