package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// CodePatientContext: a token confined to its launch patient reached for
// another patient's data, or for a write that names no patient.
const CodePatientContext = "PATIENT_CONTEXT"

// streamPath is the live notification stream.
const streamPath = "/v1/notifications/stream"

// ctxLaunchPatient holds the patient a request is confined to: set when the
// only grant that allowed it is a patient/ scope (access.Principal.Grant).
const ctxLaunchPatient = "zarish.launchPatient"

// launchPatient returns the patient the request is confined to, if any.
func launchPatient(c *gin.Context) (uuid.UUID, bool) {
	v, ok := c.Get(ctxLaunchPatient)
	if !ok {
		return uuid.Nil, false
	}
	id, ok := v.(uuid.UUID)
	return id, ok
}

// confine keeps a request made with a patient/ grant to the token's launch
// patient (SMART App Launch: patient-level scopes reach the patient in
// context only; OWASP API1 object-level authorization). Three checks:
//
//   - before the handler, every patient the request names — the path's
//     patient (/v1/patients/:id…), a patientId query parameter, the body's
//     patientId — must be the launch patient;
//   - a write must name the launch patient so: a write addressed only by
//     another resource's id (sign a note, discharge an encounter) cannot be
//     checked before it happens, so it is refused; a live stream cannot be
//     checked as it goes, so it is refused too;
//   - a read that lists by patient and names none is narrowed to the launch
//     patient (patientId is added to its query); and after the handler, a
//     read whose audit record discloses any other patient is withheld (see
//     withheldForPatientContext), so no route can leak past the check.
func (s *server) confine(rt Route, required string, spec inputSpec) gin.HandlerFunc {
	sc, _ := access.ParseScope(required)
	write := sc.Perms&(access.PermCreate|access.PermUpdate|access.PermDelete) != 0
	_, listsByPatient := spec.params["query:patientId"]
	patientPath := strings.HasPrefix(rt.Path, "/v1/patients/:id")
	stream := rt.Path == streamPath
	return func(c *gin.Context) {
		patient, ok := launchPatient(c)
		if !ok {
			c.Next()
			return
		}
		if stream {
			refusePatientContext(c, "", "A token confined to one patient cannot hold a live stream, which may carry any patient's data.")
			return
		}
		named := false
		check := func(field, value string) bool {
			if value == "" {
				return true
			}
			if id, err := uuid.Parse(value); err != nil || id != patient {
				refusePatientContext(c, field, "This token reaches only the patient it was launched for.")
				return false
			}
			named = true
			return true
		}
		if patientPath && !check("id", c.Param("id")) {
			return
		}
		for _, v := range c.Request.URL.Query()["patientId"] {
			if !check("patientId", v) {
				return
			}
		}
		if field, body, ok := bodyPatientID(c); ok && !check(field, body) {
			return
		}
		switch {
		case write && !named:
			refusePatientContext(c, "", "A token confined to one patient may write only requests that name that patient (patientId, or a FHIR resource's subject).")
			return
		case !write && !named && listsByPatient:
			q := c.Request.URL.Query()
			q.Set("patientId", patient.String())
			c.Request.URL.RawQuery = q.Encode()
		}
		c.Next()
	}
}

// bodyPatientID returns the patient a JSON body names, and the field that
// names it — patientId, or for a FHIR resource its subject
// (Patient/<id>) — leaving the body to be read again by the handler.
func bodyPatientID(c *gin.Context) (field, id string, ok bool) {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || !strings.Contains(r.Header.Get("Content-Type"), "json") {
		return "", "", false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, bodyLimit(c)))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil || len(raw) == 0 {
		return "", "", false
	}
	var b struct {
		PatientID *string `json:"patientId"`
		Subject   *struct {
			Reference string `json:"reference"`
		} `json:"subject"`
	}
	if json.Unmarshal(raw, &b) != nil {
		return "", "", false
	}
	switch {
	case b.PatientID != nil:
		if *b.PatientID == "" {
			return "patientId", "-", true // present but empty: not the launch patient
		}
		return "patientId", *b.PatientID, true
	case b.Subject != nil && strings.HasPrefix(r.URL.Path, fhirBase+"/"):
		ref, isPatient := strings.CutPrefix(b.Subject.Reference, "Patient/")
		if !isPatient || ref == "" {
			return "subject", "-", true // not a patient: not the launch patient
		}
		return "subject", ref, true
	}
	return "", "", false
}

func refusePatientContext(c *gin.Context, field, message string) {
	var details []domain.FieldError
	if field != "" {
		details = append(details, domain.FieldError{Field: field, Message: "is not the patient this token was launched for"})
	}
	abort(c, http.StatusForbidden, CodePatientContext, message, details...)
}

// withheldForPatientContext reports whether a confined request's answer
// names a patient other than its launch patient — checked on the audit
// record, which names every patient a response discloses.
func withheldForPatientContext(c *gin.Context, a *auditing) bool {
	patient, ok := launchPatient(c)
	if !ok {
		return false
	}
	if a.rec.PatientID != nil && *a.rec.PatientID != patient {
		return true
	}
	for _, id := range a.rec.PatientIDs {
		if id != patient {
			return true
		}
	}
	return false
}
