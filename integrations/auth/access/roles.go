package access

import (
	"fmt"
	"slices"
	"strings"
)

// Role is the job an OAuth2 client acts in. Each role grants a fixed set of
// system-context SMART v1 scopes (see Role.Scopes), on top of the scopes the
// client is registered with.
type Role string

// The roles a client may hold.
const (
	RoleClinician  Role = "clinician"
	RoleNurse      Role = "nurse"
	RolePharmacist Role = "pharmacist"
	RoleLab        Role = "lab"
	RoleScheduler  Role = "scheduler"
	RoleAdmin      Role = "admin"
	RoleAuditor    Role = "auditor"
	RoleOperator   Role = "operator"
)

// Roles lists every role, in the order the documentation shows them.
var Roles = []Role{RoleClinician, RoleNurse, RolePharmacist, RoleLab, RoleScheduler, RoleAdmin, RoleAuditor, RoleOperator}

// readWrite returns system/<type>.read and system/<type>.write for each type.
func readWrite(types ...string) []string {
	out := make([]string, 0, 2*len(types))
	for _, t := range types {
		out = append(out, ContextSystem+"/"+t+"."+ActionRead, ContextSystem+"/"+t+"."+ActionWrite)
	}
	return out
}

// readOnly returns system/<type>.read for each type.
func readOnly(types ...string) []string {
	out := make([]string, 0, len(types))
	for _, t := range types {
		out = append(out, ContextSystem+"/"+t+"."+ActionRead)
	}
	return out
}

// roleScopes is the scopes each role grants. Least privilege throughout:
//
//   - clinician: the whole clinical record, including prescribing and
//     ordering tests (ServiceRequest) and collecting their specimens
//     (Specimen); reads the diagnostic reports the laboratory writes.
//   - nurse: the clinical record without prescribing (MedicationRequest is read
//     only) and without ordering procedures or tests (ServiceRequest is read
//     only); records the doses given (MedicationAdministration) and collects
//     specimens (Specimen); takes a procedure's steps — check-in, the
//     safety checklist, start and completion, the booking of a hold —
//     without requesting one (Procedure: read and, in SMART v2 form, u).
//   - pharmacist: reads the patient, allergies and observations (weight, renal
//     function) that dose checks need and the doses given, writes
//     MedicationRequest (verification, overrides) and MedicationDispense.
//   - lab: reads the patient and orders, receives and rejects specimens
//     (Specimen), writes Observation and DiagnosticReport.
//   - scheduler: books Procedure and ServiceRequest, reads Patient and
//     Encounter, and the directory to find staff.
//   - admin: the care-team directory, on-call, alert policies and routing
//     rules, the outbox's dead letters (Endpoint: events Kafka refused,
//     listed without their data, and requeued), and the users who sign in
//     and their sessions (Person); no clinical records.
//   - auditor: the audit trail only.
//   - operator: the care processes as the Temporal Web UI shows them — the
//     workflows as FHIR Tasks, and their sealed payloads opened through the
//     codec endpoint (Binary: the only role that reads it, every opening
//     audited); no clinical record otherwise.
//
// Every role the alert routing can reach (clinician, nurse, pharmacist, lab,
// scheduler) also reads and acknowledges alerts (Flag) and its inbox
// (Communication). No role grants ScopeEmergency or AuditEvent.write: those
// are registered on a client explicitly.
func roleScopes(r Role) []string {
	switch r {
	case RoleClinician:
		return slices.Concat(
			readWrite("Patient", "Encounter", "DocumentReference", "CarePlan", "AllergyIntolerance",
				"MedicationRequest", "MedicationAdministration", "Observation", "Procedure", "ServiceRequest",
				"Specimen", "Flag", "Communication"),
			readOnly("DiagnosticReport", "ImagingStudy", "Schedule", "Practitioner", "PractitionerRole", "Task"))
	case RoleNurse:
		return slices.Concat(
			readWrite("Patient", "Encounter", "DocumentReference", "CarePlan", "AllergyIntolerance",
				"MedicationAdministration", "Observation", "Specimen", "Flag", "Communication"),
			readOnly("MedicationRequest", "Procedure", "ServiceRequest", "DiagnosticReport", "ImagingStudy",
				"Practitioner", "PractitionerRole", "Task"),
			[]string{ContextSystem + "/Procedure.u"})
	case RolePharmacist:
		return slices.Concat(
			readWrite("MedicationRequest", "MedicationDispense", "Flag", "Communication"),
			readOnly("Patient", "AllergyIntolerance", "Observation", "MedicationAdministration"))
	case RoleLab:
		return slices.Concat(
			readWrite("Observation", "DiagnosticReport", "ImagingStudy", "Specimen", "Flag", "Communication"),
			readOnly("Patient", "ServiceRequest"))
	case RoleScheduler:
		return slices.Concat(
			readWrite("Procedure", "ServiceRequest", "Schedule", "Flag", "Communication"),
			readOnly("Patient", "Encounter", "Practitioner", "PractitionerRole"))
	case RoleAdmin:
		return readWrite("Practitioner", "PractitionerRole", "PlanDefinition", "Endpoint", "Person", "Subscription")
	case RoleAuditor:
		return readOnly("AuditEvent")
	case RoleOperator:
		return readOnly("Task", "Binary")
	}
	return nil
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Scopes returns the scopes r grants; none for an unknown role.
func (r Role) Scopes() []string { return roleScopes(r) }

// ValidateRoles checks every name against Roles, deduplicating, and reports
// each unknown one.
func ValidateRoles(names []string) ([]string, []error) {
	var (
		out  []string
		errs []error
	)
	for _, n := range names {
		if !Role(n).Valid() {
			errs = append(errs, fmt.Errorf("role %q is not one of %s", n, roleList()))
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, errs
}

func roleList() string { return strings.Join(RoleNames(), ", ") }

// RoleNames returns the names of Roles, for usage texts and errors.
func RoleNames() []string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return names
}

// GrantableScopes returns what a client registered with scopes and roles may
// be granted: its own scopes, then those its roles grant, without duplicates.
// Roles that are not (or no longer) known grant nothing.
func GrantableScopes(scopes, roles []string) []string {
	out := slices.Clone(scopes)
	for _, r := range roles {
		for _, s := range Role(r).Scopes() {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
