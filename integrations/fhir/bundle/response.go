package bundle

import (
	"net/http"
	"strconv"
)

// ResponseBundle is a transaction-response or batch-response Bundle.
type ResponseBundle struct {
	ResourceType string          `json:"resourceType"`
	Type         string          `json:"type"`
	Entry        []ResponseEntry `json:"entry"`
}

// ResponseEntry answers one request entry.
type ResponseEntry struct {
	Response EntryResponse `json:"response"`
}

// EntryResponse is an entry's response element.
type EntryResponse struct {
	Status   string            `json:"status"`
	Location string            `json:"location,omitempty"`
	Outcome  *OperationOutcome `json:"outcome,omitempty"`
}

// OperationOutcome is a FHIR OperationOutcome.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one issue of an OperationOutcome.
type Issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics"`
	Expression  []string `json:"expression,omitempty"`
}

// Bundle is the result as a response Bundle, one entry per request entry.
func (r Result) Bundle() ResponseBundle {
	b := ResponseBundle{ResourceType: "Bundle", Type: r.Type, Entry: make([]ResponseEntry, len(r.Entries))}
	for i, o := range r.Entries {
		resp := EntryResponse{Status: statusLine(o.Status), Location: o.Location}
		if o.Reason != "" {
			resp.Outcome = o.OperationOutcome()
		}
		b.Entry[i] = ResponseEntry{Response: resp}
	}
	return b
}

// OperationOutcome is the OperationOutcome of a refused entry.
func (o Outcome) OperationOutcome() *OperationOutcome {
	return &OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{issueOf(o)}}
}

// Outcome lists every refused entry of a refused transaction.
func (e *RefusedError) Outcome() *OperationOutcome {
	out := &OperationOutcome{ResourceType: "OperationOutcome", Issue: make([]Issue, len(e.Entries))}
	for i, o := range e.Entries {
		out.Issue[i] = issueOf(o)
	}
	return out
}

// Outcome is the reader's refusal as an OperationOutcome.
func (e *Error) Outcome() *OperationOutcome {
	expr := "Bundle"
	if e.Path != "(body)" {
		expr += "." + e.Path
	}
	return &OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: "error", Code: "structure", Diagnostics: e.Error(), Expression: []string{expr}}}}
}

func issueOf(o Outcome) Issue {
	return Issue{Severity: "error", Code: "not-supported", Diagnostics: o.Reason,
		Expression: []string{"Bundle.entry[" + strconv.Itoa(o.Index) + "]"}}
}

// statusLine is "201 Created" for 201.
func statusLine(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}
