package api

import (
	"context"
	"net/url"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// fhirPrescriptions are the prescriptions MedicationRequests are made of.
type fhirPrescriptions interface {
	Get(ctx context.Context, id uuid.UUID) (prescription.Prescription, error)
	List(ctx context.Context, f prescription.Filter) (prescription.Page, error)
}

// prescriptionMaxPage is the largest prescription page the store serves.
const prescriptionMaxPage = 200

// systemMedicationRequestStatus is the code system of MedicationRequest.status.
const systemMedicationRequestStatus = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"

func (s *fhirRoutes) readMedicationRequest(c *gin.Context) {
	if unserved(c, s.prescriptions != nil, "prescriptions") {
		return
	}
	readFHIR(s, c, entityPrescription, s.prescriptions.Get, func(p prescription.Prescription) (uuid.UUID, int, any) {
		return p.Details.PatientID, p.Version, fhir.FromPrescription(p)
	})
}

// searchMedicationRequests answers GET /fhir/R4/MedicationRequest: the
// prescriptions of a patient (or of every patient), in a status, newest
// order first.
func (s *fhirRoutes) searchMedicationRequests(c *gin.Context, q url.Values) {
	if unserved(c, s.prescriptions != nil, "prescriptions") {
		return
	}
	f := prescription.Filter{Cursor: q.Get(fhirCursor)}
	var err error
	if f.Limit, err = countParam(q, 50, prescriptionMaxPage); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if f.PatientID, err = patientParam(c, "patient", q.Get("patient")); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	statuses, none, err := statusParam(q, systemMedicationRequestStatus, fhir.MedicationRequestStatuses, oneStatus(fhir.MedicationRequestStatusOf))
	switch {
	case err != nil:
		s.fhirFail(c, err, nil)
		return
	case none:
		searchSet(c, q, []fhir.MedicationRequest{}, "")
		return
	}
	f.Status = statuses[0]
	page, err := s.prescriptions.List(c.Request.Context(), f)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	a := auditOf(c)
	out := make([]fhir.MedicationRequest, 0, len(page.Prescriptions))
	for _, p := range page.Prescriptions {
		a.disclosed(p.Details.PatientID)
		out = append(out, fhir.FromPrescription(p))
	}
	searchSet(c, q, out, page.Next)
}
