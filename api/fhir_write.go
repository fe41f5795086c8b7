package api

// fhirWriters are the services whose own handlers the FHIR creates run.
type fhirWriters struct {
	patients      *patientRoutes
	observations  *observationRoutes
	prescriptions *prescriptionRoutes
	diagnostics   *diagnosticRoutes
}

// creates are the FHIR create interactions, by resource type; each type
// is one the resource table serves.
func (s *fhirRoutes) creates() map[string]fhirCreate {
	return map[string]fhirCreate{}
}
