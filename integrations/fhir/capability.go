package fhir

// CapabilityStatement is what the FHIR server serves.
type CapabilityStatement struct {
	ResourceType   string                    `json:"resourceType"`
	Status         string                    `json:"status"`
	Date           string                    `json:"date"`
	Kind           string                    `json:"kind"`
	Software       *CapabilitySoftware       `json:"software,omitempty"`
	Implementation *CapabilityImplementation `json:"implementation,omitempty"`
	FHIRVersion    string                    `json:"fhirVersion"`
	Format         []string                  `json:"format"`
	Rest           []CapabilityRest          `json:"rest"`
}

// CapabilitySoftware names the software.
type CapabilitySoftware struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// CapabilityImplementation names this installation.
type CapabilityImplementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// CapabilityRest is the RESTful server's resources and security.
type CapabilityRest struct {
	Mode     string               `json:"mode"`
	Security *CapabilitySecurity  `json:"security,omitempty"`
	Resource []CapabilityResource `json:"resource"`
}

// CapabilitySecurity names the security services.
type CapabilitySecurity struct {
	Service     []CodeableConcept `json:"service"`
	Description string            `json:"description,omitempty"`
}

// CapabilityResource is one resource type, its interactions and its search
// parameters.
type CapabilityResource struct {
	Type string `json:"type"`
	// Versioning is versioned where every version of a resource is kept
	// (vread and history-instance serve them); omitted where only the
	// current version is.
	Versioning string `json:"versioning,omitempty"`
	// Documentation says what the interactions do beyond the parameters
	// listed: the _sort a search honours.
	Documentation string                  `json:"documentation,omitempty"`
	Interaction   []CapabilityInteraction `json:"interaction"`
	SearchParam   []SearchParam           `json:"searchParam,omitempty"`
	Operation     []CapabilityOperation   `json:"operation,omitempty"`
}

// CapabilityOperation is an operation on the resource type, by the
// OperationDefinition it follows.
type CapabilityOperation struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// OperationEverything is Patient/{id}/$everything.
var OperationEverything = CapabilityOperation{Name: "everything",
	Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"}

// CapabilityInteraction is one interaction: create, read, vread,
// history-instance or search-type.
type CapabilityInteraction struct {
	Code string `json:"code"`
}

// SearchParam is one search parameter of a resource type.
type SearchParam struct {
	Name string `json:"name"`
	// Type is a search-param-type code: token, string, date, reference…
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// The interactions the API serves.
const (
	InteractionRead   = "read"
	InteractionSearch = "search-type"
	// InteractionVRead reads one version of a resource.
	InteractionVRead = "vread"
	// InteractionHistory lists every version of a resource.
	InteractionHistory = "history-instance"
	// InteractionCreate is POST to the type: a new resource.
	InteractionCreate = "create"
)

// SMARTOnFHIR is the restful-security-service of SMART on FHIR.
var SMARTOnFHIR = CodeableConcept{Coding: []Coding{{
	System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR", Display: "SMART-on-FHIR",
}}, Text: "OAuth2 bearer tokens with SMART on FHIR scopes"}
