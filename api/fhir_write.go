package api

// creates are the FHIR create interactions, by resource type; each type
// is one the resource table serves.
func (s *fhirRoutes) creates() map[string]fhirCreate {
	return map[string]fhirCreate{}
}
