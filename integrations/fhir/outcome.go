package fhir

// OperationOutcome is how the FHIR API says why it refused or failed.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one problem of an OperationOutcome.
type Issue struct {
	// Severity is fatal, error, warning or information.
	Severity string `json:"severity"`
	// Code is an issue-type code (http://hl7.org/fhir/ValueSet/issue-type).
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// The issue-type codes the API answers with.
const (
	IssueInvalid      = "invalid"
	IssueNotFound     = "not-found"
	IssueForbidden    = "forbidden"
	IssueLogin        = "login"
	IssueProcessing   = "processing"
	IssueNotSupported = "not-supported"
	IssueException    = "exception"
	IssueTimeout      = "timeout"
	// IssueIncomplete says an answer holds less than was asked for.
	IssueIncomplete = "incomplete"
	// IssueSuppressed says content was left out of an answer on purpose.
	IssueSuppressed = "suppressed"
)

// Outcome is an OperationOutcome of one error, naming the parameters or
// elements at fault in expression.
func Outcome(code, diagnostics string, expression ...string) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{
		Severity: "error", Code: code, Diagnostics: diagnostics, Expression: expression,
	}}}
}
