package audit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Code systems a FHIR AuditEvent draws on.
const (
	SystemDICOM              = "http://dicom.nema.org/resources/ontology/DCM"
	SystemRESTInteraction    = "http://hl7.org/fhir/restful-interaction"
	SystemPurposeOfUse       = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SystemSecurityRoleType   = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
	SystemSecuritySourceType = "http://terminology.hl7.org/CodeSystem/security-source-type"
	SystemEntityType         = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	SystemObjectRole         = "http://terminology.hl7.org/CodeSystem/object-role"
)

// Observer names this engine as the source of its audit events.
const Observer = "zarish"

// FHIRAuditEvent is a record rendered as a FHIR R4 AuditEvent
// (https://hl7.org/fhir/R4/auditevent.html).
type FHIRAuditEvent struct {
	ResourceType   string              `json:"resourceType"`
	ID             string              `json:"id"`
	Type           Coding              `json:"type"`
	Subtype        []Coding            `json:"subtype,omitempty"`
	Action         string              `json:"action,omitempty"`
	Recorded       string              `json:"recorded"`
	Outcome        string              `json:"outcome"`
	OutcomeDesc    string              `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept   `json:"purposeOfEvent,omitempty"`
	Agent          []FHIRAgent         `json:"agent"`
	Source         FHIRSource          `json:"source"`
	Entity         []FHIRAuditedEntity `json:"entity,omitempty"`
}

// Coding is a FHIR Coding: a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept: codings and, or only, text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value"`
}

// Reference is a FHIR Reference: a resource, or an identifier, or a name.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// FHIRAgent is an AuditEvent.agent: who took part.
type FHIRAgent struct {
	Type      *CodeableConcept  `json:"type,omitempty"`
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       Reference         `json:"who"`
	AltID     string            `json:"altId,omitempty"`
	Requestor bool              `json:"requestor"`
	Network   *FHIRNetwork      `json:"network,omitempty"`
}

// FHIRNetwork is an AuditEvent.agent.network: where the agent acted from.
type FHIRNetwork struct {
	Address string `json:"address"`
	Type    string `json:"type"` // 2: IP address
}

// FHIRSource is an AuditEvent.source: the system that reported the event.
type FHIRSource struct {
	Site     string    `json:"site,omitempty"`
	Observer Reference `json:"observer"`
	Type     []Coding  `json:"type,omitempty"`
}

// FHIRAuditedEntity is an AuditEvent.entity: data the event touched.
type FHIRAuditedEntity struct {
	What        *Reference   `json:"what,omitempty"`
	Type        *Coding      `json:"type,omitempty"`
	Role        *Coding      `json:"role,omitempty"`
	Description string       `json:"description,omitempty"`
	Detail      []FHIRDetail `json:"detail,omitempty"`
}

// FHIRDetail is an AuditEvent.entity.detail: one named value.
type FHIRDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString"`
}

// DICOM audit event types and subtypes (DICOM PS3.16 CID 400, 401).
var (
	dcmApplicationActivity = Coding{SystemDICOM, "110100", "Application Activity"}
	dcmExport              = Coding{SystemDICOM, "110106", "Export"}
	dcmPatientRecord       = Coding{SystemDICOM, "110110", "Patient Record"}
	dcmQuery               = Coding{SystemDICOM, "110112", "Query"}
	dcmSecurityAlert       = Coding{SystemDICOM, "110113", "Security Alert"}
	dcmUserAuthentication  = Coding{SystemDICOM, "110114", "User Authentication"}
	dcmLogin               = Coding{SystemDICOM, "110122", "Login"}
	dcmEmergencyOverride   = Coding{SystemDICOM, "110127", "Emergency Override Started"}
	dcmApplication         = Coding{SystemDICOM, "110150", "Application"}
	breakTheGlass          = Coding{SystemPurposeOfUse, "BTG", "break the glass"}
)

// purposes are the HL7 v3 PurposeOfUse codes this engine names, each with
// the words callers may use for it besides the code itself.
var purposes = []struct {
	code    Coding
	aliases []string
}{
	{Coding{SystemPurposeOfUse, "TREAT", "treatment"}, []string{"treatment"}},
	{Coding{SystemPurposeOfUse, "ETREAT", "Emergency Treatment"}, []string{"emergency", "emergency treatment"}},
	{Coding{SystemPurposeOfUse, "HPAYMT", "healthcare payment"}, []string{"payment", "healthcare payment"}},
	{Coding{SystemPurposeOfUse, "HOPERAT", "healthcare operations"}, []string{"operations", "healthcare operations"}},
	{Coding{SystemPurposeOfUse, "HRESCH", "healthcare research"}, []string{"research", "healthcare research"}},
	{Coding{SystemPurposeOfUse, "PUBHLTH", "public health"}, []string{"public health"}},
	{Coding{SystemPurposeOfUse, "PATRQT", "patient requested"}, []string{"patient request", "patient requested"}},
	{Coding{SystemPurposeOfUse, "HQUALIMP", "health quality improvement"}, []string{"quality", "quality improvement"}},
	{Coding{SystemPurposeOfUse, "COVERAGE", "coverage under policy or program"}, []string{"coverage"}},
	{Coding{SystemPurposeOfUse, "HLEGAL", "legal"}, []string{"legal"}},
	{Coding{SystemPurposeOfUse, "SYSADMN", "system administration"}, []string{"system administration", "administration"}},
	{Coding{SystemPurposeOfUse, "BTG", "break the glass"}, []string{"break the glass", "break-glass", "emergency access"}},
}

// purposeCode finds the PurposeOfUse code for what a caller named, in any
// case, with hyphens or underscores for spaces, or as the code itself.
func purposeCode(purpose string) (Coding, bool) {
	key := strings.ToLower(strings.NewReplacer("-", " ", "_", " ").Replace(strings.TrimSpace(purpose)))
	for _, p := range purposes {
		if key == strings.ToLower(p.code.Code) {
			return p.code, true
		}
		for _, a := range p.aliases {
			if key == strings.ReplaceAll(a, "-", " ") {
				return p.code, true
			}
		}
	}
	return Coding{}, false
}

// FHIR renders the record as a FHIR R4 AuditEvent. The type is a DICOM audit
// event type: Patient Record for reads and writes, Query for searches, Export,
// User Authentication for logins, Security Alert for refusals, security events
// and break-the-glass access, Application Activity for admin actions. The
// subtype is the REST interaction (read, create, update, delete, search-type)
// where there is one. The agent is the acting user (the requestor, with the
// network address) and, when different, the client application; the source is
// this engine; the entities are the patient(s) and the resource touched.
//
// A submitted record says so: its source's observer is the submitting
// client (this engine stays the site that recorded it), a user who
// submitted it is one more agent, not the requestor, the asserted actor is
// marked as the submitter's word, and the entity detail "submitted" is
// "true".
func (r Record) FHIR() FHIRAuditEvent {
	ev := FHIRAuditEvent{
		ResourceType: "AuditEvent",
		ID:           r.ID.String(),
		Type:         r.fhirType(),
		Subtype:      r.fhirSubtypes(),
		Action:       r.fhirAction(),
		Recorded:     r.Time.UTC().Format(time.RFC3339Nano),
		Outcome:      r.fhirOutcome(),
		OutcomeDesc:  r.Description,
		Agent:        r.fhirAgents(),
		Source: FHIRSource{
			Site:     Observer,
			Observer: Reference{Display: Observer},
			Type:     []Coding{{SystemSecuritySourceType, "4", "Application Server"}},
		},
		Entity: r.fhirEntities(),
	}
	if r.Submitted && r.Submitter != nil {
		ev.Source = FHIRSource{
			Site:     Observer,
			Observer: Reference{Identifier: &Identifier{Value: r.Submitter.ClientID}, Display: "submitted by client " + r.Submitter.ClientID},
		}
		if agent, ok := r.submitterAgent(); ok {
			ev.Agent = append(ev.Agent, agent)
		}
	}
	if p := r.fhirPurpose(); p != nil {
		ev.PurposeOfEvent = append(ev.PurposeOfEvent, *p)
	}
	if r.BreakGlass != "" {
		ev.PurposeOfEvent = append(ev.PurposeOfEvent, CodeableConcept{
			Coding: []Coding{breakTheGlass},
			Text:   r.BreakGlass,
		})
	}
	return ev
}

func (r Record) fhirType() Coding {
	switch {
	case r.BreakGlass != "", r.Action == ActionDenied, r.Action == ActionSecurity:
		return dcmSecurityAlert
	case r.Action == ActionLogin:
		return dcmUserAuthentication
	case r.Action == ActionSearch:
		return dcmQuery
	case r.Action == ActionExport:
		return dcmExport
	case r.Action == ActionAdmin:
		return dcmApplicationActivity
	default:
		return dcmPatientRecord
	}
}

// interaction is the FHIR REST interaction the record describes: named by
// its action, or for a refusal by the HTTP method refused.
func (r Record) interaction() string {
	switch r.Action {
	case ActionRead:
		return "read"
	case ActionCreate:
		return "create"
	case ActionUpdate:
		return "update"
	case ActionDelete:
		return "delete"
	case ActionSearch:
		return "search-type"
	case ActionDenied, ActionSecurity:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return "read"
		case http.MethodPost:
			return "create"
		case http.MethodPut, http.MethodPatch:
			return "update"
		case http.MethodDelete:
			return "delete"
		}
	}
	return ""
}

func (r Record) fhirSubtypes() []Coding {
	var out []Coding
	if i := r.interaction(); i != "" {
		out = append(out, Coding{SystemRESTInteraction, i, i})
	}
	if r.Action == ActionLogin {
		out = append(out, dcmLogin)
	}
	if r.BreakGlass != "" {
		out = append(out, dcmEmergencyOverride)
	}
	return out
}

// fhirAction is the AuditEvent action code: C, R, U, D or E (execute).
func (r Record) fhirAction() string {
	switch r.interaction() {
	case "create":
		return "C"
	case "read":
		return "R"
	case "update":
		return "U"
	case "delete":
		return "D"
	}
	if r.Action == ActionExport {
		return "R"
	}
	return "E" // searches, logins, admin and security operations
}

func (r Record) fhirOutcome() string {
	switch r.Outcome {
	case OutcomeSuccess:
		return "0"
	case OutcomeDenied:
		return "4"
	default:
		return "8"
	}
}

func (r Record) fhirPurpose() *CodeableConcept {
	p := strings.TrimSpace(r.Purpose)
	if p == "" {
		return nil
	}
	if c, ok := purposeCode(p); ok {
		return &CodeableConcept{Coding: []Coding{c}, Text: p}
	}
	return &CodeableConcept{Text: p}
}

// SystemUserID names the users of this server in AuditEvent identifiers.
const SystemUserID = "urn:zarish:user"

func (r Record) fhirAgents() []FHIRAgent {
	if r.Actor.UserID != "" || r.Actor.PractitionerID != "" {
		return r.personAgents()
	}
	user := FHIRAgent{
		Type:      &CodeableConcept{Coding: []Coding{{SystemSecurityRoleType, "humanuser", "human user"}}},
		Who:       Reference{Identifier: &Identifier{Value: r.Actor.Subject}},
		Requestor: true,
	}
	if r.Actor.Subject == "" || r.Actor.Subject == r.Actor.ClientID {
		// A client acting for itself.
		user.Type = &CodeableConcept{Coding: []Coding{dcmApplication}}
		user.Who = Reference{Identifier: &Identifier{Value: r.Actor.ClientID}}
	} else if r.Actor.ClientID != "" {
		user.AltID = r.Actor.ClientID
	}
	if r.Actor.Asserted {
		user.Type.Text = r.assertedBy()
	}
	if user.Who.Identifier.Value == "" {
		user.Who = Reference{Display: "unidentified"} // FHIR allows no empty value
	}
	for _, role := range r.Actor.Roles {
		user.Role = append(user.Role, CodeableConcept{Text: role})
	}
	if r.SourceIP != "" {
		user.Network = &FHIRNetwork{Address: r.SourceIP, Type: "2"}
	}
	agents := []FHIRAgent{user}
	if r.Actor.ClientID != "" && r.Actor.Subject != "" && r.Actor.Subject != r.Actor.ClientID {
		agents = append(agents, FHIRAgent{
			Type: &CodeableConcept{Coding: []Coding{dcmApplication}},
			Who:  Reference{Identifier: &Identifier{Value: r.Actor.ClientID}},
		})
	}
	return agents
}

// personAgents are the agents of a record that names a person: the person
// (a signed-in user, or a practitioner a machine client asserted) and the
// client. The one who made the request is the requestor: the user, or for
// an asserted practitioner the client, whose word it is.
func (r Record) personAgents() []FHIRAgent {
	person := FHIRAgent{
		Type: &CodeableConcept{Coding: []Coding{{SystemSecurityRoleType, "humanuser", "human user"}}},
	}
	if r.Actor.PractitionerID != "" {
		person.Who.Reference = "Practitioner/" + r.Actor.PractitionerID
	}
	if r.Actor.UserID != "" {
		person.Who.Identifier = &Identifier{System: SystemUserID, Value: r.Actor.UserID}
	}
	for _, role := range r.Actor.Roles {
		person.Role = append(person.Role, CodeableConcept{Text: role})
	}
	client := FHIRAgent{
		Type: &CodeableConcept{Coding: []Coding{dcmApplication}},
		Who:  Reference{Identifier: &Identifier{Value: r.Actor.ClientID}},
	}
	if r.Actor.ClientID == "" {
		client.Who = Reference{Display: "unidentified"}
	}
	network := (*FHIRNetwork)(nil)
	if r.SourceIP != "" {
		network = &FHIRNetwork{Address: r.SourceIP, Type: "2"}
	}
	if r.Actor.Asserted {
		person.Type.Text = r.assertedBy()
		client.Requestor, client.Network = true, network
		return []FHIRAgent{client, person}
	}
	person.Requestor, person.Network = true, network
	person.AltID = r.Actor.ClientID
	return []FHIRAgent{person, client}
}

// assertedBy says whose word an asserted actor is.
func (r Record) assertedBy() string {
	if r.Submitted {
		return "asserted by the submitter, not signed in"
	}
	return "asserted by the client (X-On-Behalf-Of), not signed in"
}

// submitterAgent is the agent of the signed-in user who submitted the
// record, if one did: not the requestor of the event the record describes.
func (r Record) submitterAgent() (FHIRAgent, bool) {
	by := r.Submitter
	if by == nil || (by.UserID == "" && by.PractitionerID == "") {
		return FHIRAgent{}, false
	}
	a := FHIRAgent{
		Type:  &CodeableConcept{Coding: []Coding{{SystemSecurityRoleType, "humanuser", "human user"}}, Text: "submitted this record"},
		AltID: by.ClientID,
	}
	if by.PractitionerID != "" {
		a.Who.Reference = "Practitioner/" + by.PractitionerID
	}
	if by.UserID != "" {
		a.Who.Identifier = &Identifier{System: SystemUserID, Value: by.UserID}
	}
	return a, true
}

func (r Record) fhirEntities() []FHIRAuditedEntity {
	var out []FHIRAuditedEntity
	patientRole := func(id string) FHIRAuditedEntity {
		return FHIRAuditedEntity{
			What: &Reference{Reference: "Patient/" + id},
			Type: &Coding{SystemEntityType, "1", "Person"},
			Role: &Coding{SystemObjectRole, "1", "Patient"},
		}
	}
	seen := map[string]bool{}
	if r.PatientID != nil {
		out = append(out, patientRole(r.PatientID.String()))
		seen[r.PatientID.String()] = true
	}
	for _, id := range r.PatientIDs {
		if !seen[id.String()] {
			out = append(out, patientRole(id.String()))
			seen[id.String()] = true
		}
	}

	var details []FHIRDetail
	for _, d := range []FHIRDetail{
		{"requestId", r.RequestID}, {"method", r.Method}, {"route", r.Route}, {"userAgent", r.UserAgent},
	} {
		if d.ValueString != "" {
			details = append(details, d)
		}
	}
	if r.Status != 0 {
		details = append(details, FHIRDetail{"status", strconv.Itoa(r.Status)})
	}
	if r.Submitted {
		details = append(details, FHIRDetail{"submitted", "true"})
	}

	if r.EntityType == "Patient" && r.EntityID != "" && seen[r.EntityID] {
		// The patient is the resource touched: one entity says both.
		for i := range out {
			if out[i].What.Reference == "Patient/"+r.EntityID {
				out[i].Detail = details
			}
		}
		return out
	}
	if r.EntityType == "" && r.EntityID == "" && len(details) == 0 {
		return out
	}
	e := FHIRAuditedEntity{
		Type:   &Coding{SystemEntityType, "2", "System Object"},
		Role:   &Coding{SystemObjectRole, "4", "Domain Resource"},
		Detail: details,
	}
	switch {
	case r.Action == ActionSearch:
		e.Role = &Coding{SystemObjectRole, "24", "Query"}
		e.What = &Reference{Type: r.EntityType}
	case r.EntityID != "":
		e.What = &Reference{Reference: r.EntityType + "/" + r.EntityID}
	case r.EntityType != "":
		e.What = &Reference{Type: r.EntityType}
	}
	return append(out, e)
}
