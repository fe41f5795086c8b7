package access

import (
	"slices"
	"strings"
	"testing"
)

func TestRoleCatalogue(t *testing.T) {
	want := []string{"clinician", "nurse", "pharmacist", "lab", "scheduler", "admin", "auditor", "operator"}
	if !slices.Equal(RoleNames(), want) {
		t.Fatalf("roles = %q, want %q", RoleNames(), want)
	}
	for _, r := range Roles {
		t.Run(string(r), func(t *testing.T) {
			if !r.Valid() {
				t.Errorf("%s is not valid", r)
			}
			scopes := r.Scopes()
			if len(scopes) == 0 {
				t.Fatalf("%s grants nothing", r)
			}
			for i, s := range scopes {
				sc, err := ParseScope(s)
				if err != nil {
					t.Errorf("%s grants %q: %v", r, s, err)
					continue
				}
				// Roles name what they grant: no wildcards, system context
				// (the route table asks for system scopes).
				if sc.Context != ContextSystem || sc.ResourceType == AnyResource || sc.Perms == PermsAll {
					t.Errorf("%s grants %q, want system/<Type>.<read|write>", r, s)
				}
				if slices.Contains(scopes[:i], s) {
					t.Errorf("%s grants %q twice", r, s)
				}
				if s == "system/AuditEvent.write" {
					t.Errorf("%s may forge audit events", r)
				}
			}
			if slices.Contains(scopes, ScopeEmergency) {
				t.Errorf("%s breaks the glass by default", r)
			}
		})
	}
	for _, unknown := range []Role{"", "surgeon", "Nurse"} {
		if unknown.Valid() || unknown.Scopes() != nil {
			t.Errorf("unknown role %q is valid or grants %q", unknown, unknown.Scopes())
		}
	}
}

// TestRoleScopes pins what each role may and may not do.
func TestRoleScopes(t *testing.T) {
	tests := []struct {
		role        Role
		allows, not string // space-separated scopes
	}{
		{RoleClinician,
			"system/Patient.write system/Encounter.write system/DocumentReference.write system/CarePlan.write system/AllergyIntolerance.write system/MedicationRequest.write system/Observation.write system/Procedure.write system/ServiceRequest.write system/DiagnosticReport.read system/Flag.write system/Communication.read system/Practitioner.read",
			"system/DiagnosticReport.write system/Practitioner.write system/PlanDefinition.write system/AuditEvent.read"},
		{RoleNurse,
			"system/Patient.write system/Encounter.write system/DocumentReference.write system/CarePlan.write system/AllergyIntolerance.write system/Observation.write system/MedicationRequest.read system/Flag.write system/PractitionerRole.read",
			"system/MedicationRequest.write system/ServiceRequest.write system/Procedure.write system/PractitionerRole.write system/AuditEvent.read"},
		{RolePharmacist,
			"system/Patient.read system/AllergyIntolerance.read system/MedicationRequest.write system/MedicationRequest.read system/Observation.read",
			"system/Patient.write system/AllergyIntolerance.write system/Encounter.read system/DocumentReference.read system/AuditEvent.read"},
		{RoleLab,
			"system/Patient.read system/ServiceRequest.read system/Observation.write system/DiagnosticReport.write",
			"system/Patient.write system/MedicationRequest.read system/DocumentReference.read system/Encounter.read"},
		{RoleScheduler,
			"system/Patient.read system/Encounter.read system/Procedure.write system/ServiceRequest.write system/Practitioner.read",
			"system/Patient.write system/Encounter.write system/DocumentReference.read system/Observation.read system/MedicationRequest.read"},
		{RoleAdmin,
			"system/Practitioner.write system/PractitionerRole.write system/PlanDefinition.write system/PlanDefinition.read system/Endpoint.read system/Endpoint.write",
			"system/Patient.read system/Encounter.read system/DocumentReference.read system/Flag.read system/Communication.read system/AuditEvent.read"},
		{RoleAuditor,
			"system/AuditEvent.read",
			"system/AuditEvent.write system/Patient.read system/Encounter.read system/DocumentReference.read system/Practitioner.read system/Flag.read"},
		{RoleOperator,
			"system/Task.read system/Binary.read",
			"system/Task.write system/Binary.write system/Patient.read system/Observation.read system/Encounter.read system/AuditEvent.read system/Flag.read"},
	}
	if len(tests) != len(Roles) {
		t.Fatalf("%d roles pinned, %d known", len(tests), len(Roles))
	}
	for _, tt := range tests {
		p := Principal{Scopes: tt.role.Scopes()}
		for _, s := range strings.Fields(tt.allows) {
			if !p.Allows(s) {
				t.Errorf("%s does not allow %s", tt.role, s)
			}
		}
		for _, s := range strings.Fields(tt.not) {
			if p.Allows(s) {
				t.Errorf("%s allows %s", tt.role, s)
			}
		}
	}
}

func TestGrantableScopes(t *testing.T) {
	if got := GrantableScopes([]string{"system/Patient.read"}, nil); !slices.Equal(got, []string{"system/Patient.read"}) {
		t.Errorf("without roles = %q", got)
	}
	got := GrantableScopes([]string{"emergency", "system/AuditEvent.read"}, []string{"auditor", "retired-role", "admin"})
	want := slices.Concat([]string{"emergency", "system/AuditEvent.read"}, RoleAdmin.Scopes())
	if !slices.Equal(got, want) {
		t.Errorf("GrantableScopes = %q, want %q (own first, no duplicates, unknown roles grant nothing)", got, want)
	}
	// The result is the caller's to keep: changing it changes no role.
	got[2] = "system/*.*"
	if slices.Contains(RoleAdmin.Scopes(), "system/*.*") {
		t.Error("GrantableScopes aliases the role table")
	}
}
