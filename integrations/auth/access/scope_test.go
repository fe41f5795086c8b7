package access

import (
	"slices"
	"testing"
)

func TestParseScope(t *testing.T) {
	valid := map[string]Scope{
		"system/Patient.read":          {ContextSystem, "Patient", PermsRead, true},
		"user/MedicationRequest.write": {ContextUser, "MedicationRequest", PermsWrite, true},
		"patient/Observation.*":        {ContextPatient, "Observation", PermsAll, true},
		"system/*.*":                   {ContextSystem, AnyResource, PermsAll, true},
		"user/*.read":                  {ContextUser, AnyResource, PermsRead, true},
		// SMART v2 (STU2 §3.0.2): permissions c, r, u, d, s in that order.
		"patient/Observation.rs":       {ContextPatient, "Observation", PermRead | PermSearch, false},
		"user/*.cruds":                 {ContextUser, AnyResource, PermsAll, false},
		"system/Patient.c":             {ContextSystem, "Patient", PermCreate, false},
		"system/Patient.ud":            {ContextSystem, "Patient", PermUpdate | PermDelete, false},
		"user/Encounter.cus":           {ContextUser, "Encounter", PermCreate | PermUpdate | PermSearch, false},
		"system/Observation.s":         {ContextSystem, "Observation", PermSearch, false},
		"patient/*.r":                  {ContextPatient, AnyResource, PermRead, false},
		"system/DiagnosticReport.crud": {ContextSystem, "DiagnosticReport", PermCreate | PermRead | PermUpdate | PermDelete, false},
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
		"system/patient.read", "system/Patient.Read", "system/Patient.sr", "system/Patient.rr",
		"system/Patient.x", "system/Patient.CRUDS", "system/Patient.rs?category=vital-signs", "system/Patient.rsx",
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
		// SMART v2 permissions: a grant covers a requirement whose every
		// permission it holds; v1 read is rs and write cud.
		{[]string{"system/Patient.rs"}, "system/Patient.read", true},
		{[]string{"system/Patient.r"}, "system/Patient.read", false},
		{[]string{"system/Patient.read"}, "system/Patient.r", true},
		{[]string{"system/Patient.read"}, "system/Patient.s", true},
		{[]string{"system/Patient.read"}, "system/Patient.c", false},
		{[]string{"system/Patient.write"}, "system/Patient.c", true},
		{[]string{"system/Patient.write"}, "system/Patient.u", true},
		{[]string{"system/Patient.write"}, "system/Patient.d", true},
		{[]string{"system/Patient.write"}, "system/Patient.s", false},
		{[]string{"system/Patient.cu"}, "system/Patient.write", false},
		{[]string{"system/Patient.cud"}, "system/Patient.write", true},
		{[]string{"system/Patient.c"}, "system/Patient.u", false},
		{[]string{"system/*.cruds"}, "system/Observation.d", true},
		{[]string{"system/*.*"}, "system/Observation.s", true},
		{[]string{"system/Observation.s"}, "system/Observation.r", false},
		{[]string{"user/*.rs"}, "user/Encounter.r", true},
		{[]string{"user/*.rs"}, "system/Encounter.r", false},
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

// TestGrantConfinesPatientScopes: a patient/ grant reaches a route's
// system/ requirement only with a launch patient, and then only confined to
// it; a user/ or system/ grant that covers the requirement is never
// confined.
func TestGrantConfinesPatientScopes(t *testing.T) {
	const patient = "0190a3a0-0000-7000-8000-000000000001"
	tests := []struct {
		name              string
		p                 Principal
		required          string
		allowed, confined bool
	}{
		{"patient grant, launch patient", Principal{UserID: "u", Patient: patient, Scopes: []string{"patient/Observation.rs"}}, "system/Observation.s", true, true},
		{"patient grant, no launch patient", Principal{UserID: "u", Scopes: []string{"patient/Observation.rs"}}, "system/Observation.s", false, false},
		{"patient grant lacks the permission", Principal{UserID: "u", Patient: patient, Scopes: []string{"patient/Observation.rs"}}, "system/Observation.c", false, false},
		{"patient wildcard v1", Principal{UserID: "u", Patient: patient, Scopes: []string{"patient/*.read"}}, "system/Encounter.r", true, true},
		{"patient grant, other type", Principal{UserID: "u", Patient: patient, Scopes: []string{"patient/Observation.rs"}}, "system/Encounter.r", false, false},
		{"user grant wins over patient grant", Principal{UserID: "u", Patient: patient, Scopes: []string{"patient/*.*", "user/Encounter.rs"}}, "system/Encounter.s", true, false},
		{"system grant", Principal{Patient: patient, Scopes: []string{"system/*.*"}}, "system/Encounter.s", true, false},
		{"openid is a user's", Principal{UserID: "u", Patient: patient, Scopes: []string{"patient/*.*"}}, ScopeOpenID, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allowed, confined := tt.p.Grant(tt.required)
			if allowed != tt.allowed || confined != tt.confined {
				t.Errorf("Grant(%q) = %v, %v; want %v, %v", tt.required, allowed, confined, tt.allowed, tt.confined)
			}
		})
	}
}

// TestUserScopes: a sign-in is granted what it asks for as far as the
// user's roles reach, v1 and v2 alike; patient/ scopes only in a launch
// context.
func TestUserScopes(t *testing.T) {
	nurse := []string{string(RoleNurse)}
	tests := []struct {
		requested []string
		roles     []string
		inPatient bool
		want      []string
	}{
		{[]string{"openid", "user/Patient.read"}, nurse, false, []string{"openid", "user/Patient.read"}},
		{[]string{"user/Patient.rs"}, nurse, false, []string{"user/Patient.rs"}},
		// A nurse reads prescriptions but does not write them.
		{[]string{"user/MedicationRequest.cruds"}, nurse, false, []string{"user/MedicationRequest.rs"}},
		{[]string{"user/MedicationRequest.write"}, nurse, false, nil},
		{[]string{"user/MedicationRequest.*"}, nurse, false, []string{"user/MedicationRequest.read"}},
		// system/ scopes are not for people.
		{[]string{"system/Patient.read"}, nurse, false, nil},
		// patient/ scopes need a launch context.
		{[]string{"patient/Observation.rs"}, nurse, false, nil},
		{[]string{"patient/Observation.rs"}, nurse, true, []string{"patient/Observation.rs"}},
		{[]string{"patient/MedicationRequest.cruds"}, nurse, true, []string{"patient/MedicationRequest.rs"}},
		// An auditor reads the audit trail only.
		{[]string{"user/*.rs"}, []string{string(RoleAuditor)}, false, []string{"user/AuditEvent.rs"}},
	}
	for _, tt := range tests {
		got := UserScopes(tt.requested, tt.roles, tt.inPatient)
		if !slices.Equal(got, tt.want) {
			t.Errorf("UserScopes(%q, %q, %v) = %q, want %q", tt.requested, tt.roles, tt.inPatient, got, tt.want)
		}
	}
}
