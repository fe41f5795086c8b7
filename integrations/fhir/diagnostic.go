package fhir

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

// A diagnostic order is two resources: the order as a ServiceRequest, and
// its report as a DiagnosticReport, both with the order's id.

// Code systems of diagnostic orders and reports.
const (
	// SystemDiagnosticService is HL7 v2 table 0074, the system of
	// DiagnosticReport.category.
	SystemDiagnosticService = "http://terminology.hl7.org/CodeSystem/v2-0074"
	// SystemRequestPriority is the request-priority code system.
	SystemRequestPriority = "http://hl7.org/fhir/request-priority"
)

// ServiceRequest is a FHIR R4 ServiceRequest: a diagnostic order.
type ServiceRequest struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         *Meta             `json:"meta,omitempty"`
	Status       string            `json:"status"`
	Intent       string            `json:"intent"`
	Category     []CodeableConcept `json:"category,omitempty"`
	Priority     string            `json:"priority,omitempty"`
	Code         *CodeableConcept  `json:"code,omitempty"`
	// OrderDetail holds each ordered test, panel or procedure of an order
	// of several; an order of one names it in code.
	OrderDetail []CodeableConcept `json:"orderDetail,omitempty"`
	Subject     Reference         `json:"subject"`
	Encounter   *Reference        `json:"encounter,omitempty"`
	AuthoredOn  string            `json:"authoredOn,omitempty"`
	Requester   *Reference        `json:"requester,omitempty"`
	ReasonCode  []CodeableConcept `json:"reasonCode,omitempty"`
	BodySite    []CodeableConcept `json:"bodySite,omitempty"`
	Note        []Annotation      `json:"note,omitempty"`
}

// Ref is ServiceRequest/id.
func (s ServiceRequest) Ref() string { return "ServiceRequest/" + s.ID }

// DiagnosticReport is a FHIR R4 DiagnosticReport: the report of an order.
type DiagnosticReport struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id"`
	Meta               *Meta             `json:"meta,omitempty"`
	BasedOn            []Reference       `json:"basedOn,omitempty"`
	Status             string            `json:"status"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Code               CodeableConcept   `json:"code"`
	Subject            Reference         `json:"subject"`
	Encounter          *Reference        `json:"encounter,omitempty"`
	EffectiveDateTime  string            `json:"effectiveDateTime,omitempty"`
	Issued             string            `json:"issued,omitempty"`
	ResultsInterpreter []Reference       `json:"resultsInterpreter,omitempty"`
	Result             []Reference       `json:"result,omitempty"`
	Conclusion         string            `json:"conclusion,omitempty"`
	ConclusionCode     []CodeableConcept `json:"conclusionCode,omitempty"`
}

// Ref is DiagnosticReport/id.
func (d DiagnosticReport) Ref() string { return "DiagnosticReport/" + d.ID }

// ServiceRequestStatuses are the FHIR R4 request-status codes
// (http://hl7.org/fhir/ValueSet/request-status).
var ServiceRequestStatuses = []string{"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}

// OrderStatus is the ServiceRequest.status of a report's status: the order
// is active until its report is verified (completed), revoked when
// cancelled, and entered-in-error when withdrawn so.
func OrderStatus(s diagnostic.Status) string {
	switch {
	case s == diagnostic.StatusCancelled:
		return "revoked"
	case s == diagnostic.StatusEnteredInError:
		return "entered-in-error"
	case s.Verified():
		return "completed"
	case s.Valid():
		return "active"
	}
	return "unknown"
}

// OrderStatusesOf are our statuses whose order has ServiceRequest.status
// code; none for a code no order of ours has (draft, on-hold, unknown).
func OrderStatusesOf(code string) []diagnostic.Status {
	var out []diagnostic.Status
	for _, s := range diagnostic.Statuses {
		if OrderStatus(s) == code {
			out = append(out, s)
		}
	}
	return out
}

// DiagnosticReportStatuses are the FHIR R4 DiagnosticReport.status codes
// (http://hl7.org/fhir/ValueSet/diagnostic-report-status). Our statuses bear
// the same names; unknown is a code no report of ours has.
var DiagnosticReportStatuses = []string{"registered", "partial", "preliminary", "final", "amended", "corrected",
	"appended", "cancelled", "entered-in-error", "unknown"}

// ReportStatusOf is our status of a DiagnosticReport.status code, false for
// a code no report of ours has.
func ReportStatusOf(code string) (diagnostic.Status, bool) {
	s := diagnostic.Status(code)
	return s, s.Valid()
}

// orderCategories are each category as a ServiceRequest.category
// (http://hl7.org/fhir/ValueSet/servicerequest-category, SNOMED CT) and as a
// DiagnosticReport.category (HL7 v2 table 0074).
var orderCategories = map[diagnostic.Category]struct{ order, report Coding }{
	diagnostic.CategoryLaboratory: {
		Coding{System: SystemSNOMED, Code: "108252007", Display: "Laboratory procedure"},
		Coding{System: SystemDiagnosticService, Code: "LAB", Display: "Laboratory"}},
	diagnostic.CategoryImaging: {
		Coding{System: SystemSNOMED, Code: "363679005", Display: "Imaging"},
		Coding{System: SystemDiagnosticService, Code: "RAD", Display: "Radiology"}},
}

// OrderCategoryOf is our category of a ServiceRequest.category code
// (system|code or the code alone) or a DiagnosticReport.category code.
func OrderCategoryOf(token string) (diagnostic.Category, bool) {
	system, code, found := strings.Cut(token, "|")
	if !found {
		system, code = "", token
	}
	for cat, c := range orderCategories {
		for _, coding := range []Coding{c.order, c.report} {
			if coding.Code == code && (system == "" || system == coding.System) {
				return cat, true
			}
		}
	}
	return "", false
}

// itemCode is an ordered item as a concept in its own system.
func itemCode(it diagnostic.Item) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: it.System, Code: it.Code, Display: it.Display}}, Text: it.Display}
}

// orderCode is what was ordered as one concept: the item of an order of
// one, or the items' names of an order of several.
func orderCode(o diagnostic.Order) CodeableConcept {
	if len(o.Items) == 1 {
		return itemCode(o.Items[0])
	}
	names := make([]string, len(o.Items))
	for i, it := range o.Items {
		names[i] = it.Display
	}
	return CodeableConcept{Text: strings.Join(names, "; ")}
}

// FromOrder is r's order as a FHIR ServiceRequest (intent order): what was
// ordered (an order of several items names them in code's text and lists
// each in orderDetail), its category, priority, the clinical question as
// the reason, the specimen requirements as a note, and the body sites of
// imaging.
func FromOrder(r diagnostic.Report) ServiceRequest {
	o := r.Order
	cat := orderCategories[o.Category()]
	code := orderCode(o)
	out := ServiceRequest{
		ResourceType: "ServiceRequest",
		ID:           o.ID.String(),
		Meta:         versionMeta(r.Version, r.UpdatedAt),
		Status:       OrderStatus(r.Status),
		Intent:       "order",
		Category:     []CodeableConcept{{Coding: []Coding{cat.order}}},
		Priority:     string(o.Priority),
		Code:         &code,
		Subject:      *reference("Patient", o.PatientID.String()),
	}
	if len(o.Items) > 1 {
		for _, it := range o.Items {
			out.OrderDetail = append(out.OrderDetail, itemCode(it))
		}
	}
	if o.EncounterID != nil {
		out.Encounter = reference("Encounter", o.EncounterID.String())
	}
	if !o.CreatedAt.IsZero() {
		out.AuthoredOn = instant(o.CreatedAt)
	}
	if o.OrdererID != uuid.Nil {
		out.Requester = reference("Practitioner", o.OrdererID.String())
	}
	if o.ClinicalInfo != "" {
		out.ReasonCode = []CodeableConcept{{Text: o.ClinicalInfo}}
	}
	if o.SpecimenNotes != "" {
		out.Note = []Annotation{{Text: o.SpecimenNotes}}
	}
	for _, it := range o.Items {
		if b := it.BodySite; b != nil {
			out.BodySite = append(out.BodySite, CodeableConcept{Coding: []Coding{{System: b.System, Code: b.Code, Display: b.Display}},
				Text: b.Display})
		}
	}
	return out
}

// FromReport is r as a FHIR DiagnosticReport: based on its order, with its
// results as references to their Observations, the specimen collection
// time as the effective time, the verifier as the results interpreter,
// issued when verified (the latest version) or, before, when every test
// was resulted, and the conclusion with its SNOMED CT codes.
func FromReport(r diagnostic.Report) DiagnosticReport {
	o := r.Order
	out := DiagnosticReport{
		ResourceType: "DiagnosticReport",
		ID:           o.ID.String(),
		Meta:         versionMeta(r.Version, r.UpdatedAt),
		BasedOn:      []Reference{*reference("ServiceRequest", o.ID.String())},
		Status:       string(r.Status),
		Category:     []CodeableConcept{{Coding: []Coding{orderCategories[o.Category()].report}}},
		Code:         orderCode(o),
		Subject:      *reference("Patient", o.PatientID.String()),
		Conclusion:   r.Conclusion,
	}
	if o.EncounterID != nil {
		out.Encounter = reference("Encounter", o.EncounterID.String())
	}
	var collected []time.Time
	for _, s := range r.Specimens {
		if !s.CollectedAt.IsZero() {
			collected = append(collected, s.CollectedAt)
		}
	}
	if len(collected) > 0 {
		out.EffectiveDateTime = instant(slices.MinFunc(collected, func(a, b time.Time) int { return a.Compare(b) }))
	}
	if v, ok := r.Latest(); ok {
		out.Issued = instant(v.At)
	} else if r.ResultedAt != nil {
		out.Issued = instant(*r.ResultedAt)
	}
	if v := r.Verification; v != nil && v.By != uuid.Nil {
		out.ResultsInterpreter = []Reference{*reference("Practitioner", v.By.String())}
	}
	for _, res := range r.Results {
		ref := reference("Observation", res.ObservationID.String())
		ref.Display = res.Display
		out.Result = append(out.Result, *ref)
	}
	for _, c := range r.Codes {
		system := c.System
		if system == "" {
			system = SystemSNOMED
		}
		out.ConclusionCode = append(out.ConclusionCode, CodeableConcept{Coding: []Coding{{System: system, Code: c.Code, Display: c.Display}},
			Text: c.Display})
	}
	return out
}
