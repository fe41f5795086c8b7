package access

import (
	"testing"
)

func TestParseScope(t *testing.T) {
	valid := map[string]Scope{
		"system/Patient.read":          {ContextSystem, "Patient", ActionRead},
		"user/MedicationRequest.write": {ContextUser, "MedicationRequest", ActionWrite},
		"patient/Observation.*":        {ContextPatient, "Observation", ActionAny},
		"system/*.*":                   {ContextSystem, AnyResource, ActionAny},
		"user/*.read":                  {ContextUser, AnyResource, ActionRead},
	}
	for in, want := range valid {
		got, err := ParseScope(in)
		if err != nil || got != want {
			t.Errorf("ParseScope(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("ParseScope(%q).String() = %q", in, got.String())
		}
	}
	for _, in := range []string{
		"", "openid", "launch", "offline_access", "fhirUser",
		"system", "system/", "system/Patient", "system/Patient.", "system/.read",
		"admin/Patient.read", "System/Patient.read",
		"system/patient.read", "system/Patient.Read", "system/Patient.rs", "system/Patient.cruds",
		"system/Patient.read.extra", "system/Pat-ient.read", "system/**.read", "system/Patient.read ",
	} {
		if s, err := ParseScope(in); err == nil {
			t.Errorf("ParseScope(%q) = %+v, want an error", in, s)
		}
	}
}

// TestAllows checks Principal.Allows against the SMART App Launch v1 clinical
// scope syntax, <patient|user|system>/<resourceType|*>.<read|write|*>, from
// https://hl7.org/fhir/smart-app-launch/1.0.0/scopes-and-launch-context/ and
// the context rule documented on Scope.Covers.
func TestAllows(t *testing.T) {
	tests := []struct {
		granted  []string
		required string
		want     bool
	}{
		// Exact grants.
		{[]string{"system/Patient.read"}, "system/Patient.read", true},
		{[]string{"system/Patient.read"}, "system/Patient.write", false},
		{[]string{"system/Patient.read"}, "system/Observation.read", false},
		// Resource type wildcard.
		{[]string{"system/*.*"}, "system/Patient.read", true},
		{[]string{"system/*.*"}, "system/MedicationRequest.write", true},
		{[]string{"system/*.read"}, "system/Observation.read", true},
		{[]string{"system/*.read"}, "system/Observation.write", false},
		// Action wildcard.
		{[]string{"system/Patient.*"}, "system/Patient.read", true},
		{[]string{"system/Patient.*"}, "system/Patient.write", true},
		{[]string{"system/Patient.*"}, "system/Observation.read", false},
		// A wildcard requirement needs a wildcard grant.
		{[]string{"system/Patient.read"}, "system/*.read", false},
		{[]string{"system/*.read"}, "system/*.read", true},
		{[]string{"system/*.read"}, "system/*.*", false},
		{[]string{"system/Patient.*"}, "system/Patient.*", true},
		// Contexts: system covers system and user; user only user; patient only patient.
		{[]string{"user/Patient.read"}, "system/Patient.read", false},
		{[]string{"system/Patient.read"}, "user/Patient.read", true},
		{[]string{"system/*.*"}, "user/Observation.write", true},
		{[]string{"user/*.*"}, "user/Observation.write", true},
		{[]string{"user/*.*"}, "patient/Observation.read", false},
		{[]string{"system/*.*"}, "patient/Observation.read", false},
		{[]string{"patient/Observation.read"}, "patient/Observation.read", true},
		{[]string{"patient/*.*"}, "user/Observation.read", false},
		// Several grants: any one may cover.
		{[]string{"system/Observation.write", "system/Patient.read"}, "system/Patient.read", true},
		{[]string{"system/Observation.write", "system/Patient.read"}, "system/Observation.read", false},
		// Malformed requirements and grants never match.
		{[]string{"system/*.*"}, "openid", false},
		{[]string{"system/*.*"}, "system/Patient", false},
		{[]string{"openid", "system/Patient"}, "system/Patient.read", false},
		{nil, "system/Patient.read", false},
	}
	for _, tt := range tests {
		p := Principal{Subject: "c", ClientID: "c", Scopes: tt.granted}
		if got := p.Allows(tt.required); got != tt.want {
			t.Errorf("Principal{Scopes: %q}.Allows(%q) = %v, want %v", tt.granted, tt.required, got, tt.want)
		}
	}
}

func TestScopeStrategy(t *testing.T) {
	registered := []string{"system/*.read", "system/Observation.write"}
	for requested, want := range map[string]bool{
		"system/Patient.read":      true,
		"system/*.read":            true,
		"user/Patient.read":        true,
		"system/Observation.write": true,
		"system/Observation.*":     false,
		"system/Patient.write":     false,
		"system/*.*":               false,
		"patient/Patient.read":     false,
		"openid":                   false,
	} {
		if got := ScopeStrategy(registered, requested); got != want {
			t.Errorf("ScopeStrategy(%q, %q) = %v, want %v", registered, requested, got, want)
		}
	}
	// Scopes outside the SMART grammar match exactly.
	if !ScopeStrategy([]string{"openid"}, "openid") || ScopeStrategy([]string{"openid"}, "open") {
		t.Error("non-SMART scopes must match exactly")
	}
}
