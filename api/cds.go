package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/cds"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/note"
)

// CarePlanReminders reports a patient's care-plan activities that are past
// due at now. A nil one in Deps means the patient has no care plans.
type CarePlanReminders interface {
	OverdueActivities(ctx context.Context, patientID uuid.UUID, now time.Time) ([]cds.OverdueActivity, error)
}

// CDSServices is the CDS Hooks discovery answer.
type CDSServices struct {
	Services []cds.Service `json:"services"`
}

const entityGuidance = "GuidanceResponse"

// What decision support reads of the other services' stores.
type (
	cdsEncounters interface {
		GetEncounter(ctx context.Context, id uuid.UUID) (encounter.Record, error)
		ListEncounters(ctx context.Context, f encounter.Filter) (encounter.Page, error)
	}
	cdsAlerts interface {
		ListAlerts(ctx context.Context, f alert.Filter) (alert.Page, error)
	}
	cdsAllergies interface {
		ListForPatient(ctx context.Context, patientID uuid.UUID, onlyActive bool) ([]allergy.Allergy, error)
	}
	cdsNotes interface {
		ListForEncounter(ctx context.Context, encounterID uuid.UUID) ([]note.Note, error)
	}
)

// cdsRoutes serve the CDS Hooks services of /v1/clinical/cds-services:
// they read the patient's record from the stores and answer cards.
type cdsRoutes struct {
	*edge
	patients   patientLookup
	encounters cdsEncounters
	alerts     cdsAlerts
	allergies  cdsAllergies
	notes      cdsNotes
	// reminders is nil when there are no care plans.
	reminders CarePlanReminders
	// medications and medicationContext serve the order hooks; with no
	// knowledge base (nil) those services are not offered.
	medications       *medication.Registry
	medicationContext MedicationContext
}

func (s *cdsRoutes) routes() []Route {
	const scope = "system/Patient.read"
	return append([]Route{
		{http.MethodGet, "/v1/clinical/cds-services", scope, entityGuidance, s.cdsDiscovery},
		{http.MethodPost, "/v1/clinical/cds-services/:id", scope, entityGuidance, s.callCDSService},
	}, s.orderRoutes()...)
}

// cdsDiscovery serves GET /v1/clinical/cds-services; the order hooks'
// services are listed when a medication knowledge base is loaded.
func (s *cdsRoutes) cdsDiscovery(c *gin.Context) {
	auditOf(c).about(audit.ActionRead, entityGuidance, "", nil)
	services := cds.Services()
	if s.medications != nil {
		services = append(services, orderServices()...)
	}
	c.JSON(http.StatusOK, CDSServices{Services: services})
}

// callCDSService serves POST /v1/clinical/cds-services/{id}: it checks the
// hook request, gathers the facts the service reads from the stores and
// answers the cards the rules give, most urgent first.
func (s *cdsRoutes) callCDSService(c *gin.Context) {
	audited := auditOf(c)
	audited.about(audit.ActionRead, entityGuidance, "", nil)
	svc, ok := cds.FindService(c.Param("id"))
	if !ok {
		abort(c, http.StatusNotFound, CodeNotFound, "No such CDS service; GET /v1/clinical/cds-services lists them.")
		return
	}
	var req cds.Request
	if readJSON(c, &req) == nil {
		return
	}
	sub, err := req.Validate(svc)
	if err != nil {
		s.fail(c, err)
		return
	}
	audited.about(audit.ActionRead, entityGuidance, sub.HookInstance.String(), &sub.PatientID)
	ctx := c.Request.Context()
	if _, err := s.patients.Get(ctx, sub.PatientID); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			abort(c, http.StatusNotFound, CodeNotFound, "No such patient.")
			return
		}
		s.fail(c, err)
		return
	}
	f := cds.Facts{Subject: sub, Now: s.now()}
	if sub.EncounterID != uuid.Nil && readable(c)("Encounter") {
		f.Encounter, err = s.encounters.GetEncounter(ctx, sub.EncounterID)
		if errors.Is(err, domain.ErrNotFound) || (err == nil && f.Encounter.PatientID != sub.PatientID) {
			fieldError(c, "context.encounterId", "is not an encounter of this patient")
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
	}
	if err := s.gatherFacts(ctx, svc, &f, readable(c)); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cds.Response{Cards: cds.Cards(svc.ID, f)})
}

// readable reports, for a FHIR resource type, whether the caller may read
// it: its scopes cover <context>/<Type>.read, or it broke the glass for a
// clinical read. Decision support builds its cards only from what the
// caller may read.
func readable(c *gin.Context) func(resource string) bool {
	p, _ := principal(c)
	glass := auditOf(c).rec.BreakGlass != ""
	return func(resource string) bool {
		scope := "system/" + resource + ".read"
		return p.Allows(scope) || (glass && breakGlassReaches(scope))
	}
}

// gatherFacts reads what svc's rules need into f, each kind of fact only
// when may says the caller may read that resource type.
func (s *cdsRoutes) gatherFacts(ctx context.Context, svc cds.Service, f *cds.Facts, may func(resource string) bool) error {
	patientID := f.Subject.PatientID
	var err error
	alerts := func() error {
		if may("Flag") {
			f.Alerts, err = s.activeAlerts(ctx, patientID)
		}
		return err
	}
	allergies := func() error {
		if may("AllergyIntolerance") {
			if f.Allergies, err = s.allergies.ListForPatient(ctx, patientID, true); err != nil {
				return fmt.Errorf("allergies: %w", err)
			}
		}
		return nil
	}
	switch svc.ID {
	case cds.ServicePatientView:
		if err := alerts(); err != nil {
			return err
		}
		if err := allergies(); err != nil {
			return err
		}
		if s.reminders != nil && may("CarePlan") {
			if f.Overdue, err = s.reminders.OverdueActivities(ctx, patientID, f.Now); err != nil {
				return fmt.Errorf("overdue care-plan activities: %w", err)
			}
		}
	case cds.ServiceEncounterStart:
		if err := alerts(); err != nil {
			return err
		}
		if err := allergies(); err != nil {
			return err
		}
		if may("Encounter") {
			if f.Encounters, err = s.openEncounters(ctx, patientID); err != nil {
				return err
			}
		}
	case cds.ServiceEncounterDischarge:
		if may("DocumentReference") {
			if f.Notes, err = s.notes.ListForEncounter(ctx, f.Subject.EncounterID); err != nil {
				return fmt.Errorf("notes: %w", err)
			}
		}
	}
	return nil
}

// activeAlerts returns the patient's open and acknowledged alerts.
func (s *cdsRoutes) activeAlerts(ctx context.Context, patientID uuid.UUID) ([]alert.Record, error) {
	return allPages(func(cursor string) ([]alert.Record, string, error) {
		page, err := s.alerts.ListAlerts(ctx, alert.Filter{Active: true, PatientID: patientID, Limit: 200, Cursor: cursor})
		if err != nil {
			return nil, "", fmt.Errorf("active alerts: %w", err)
		}
		return page.Alerts, page.Next, nil
	})
}

// openEncounters returns the patient's encounters that are neither
// discharged nor cancelled.
func (s *cdsRoutes) openEncounters(ctx context.Context, patientID uuid.UUID) ([]encounter.Record, error) {
	return allPages(func(cursor string) ([]encounter.Record, string, error) {
		page, err := s.encounters.ListEncounters(ctx, encounter.Filter{Open: true, PatientID: patientID, Limit: 200, Cursor: cursor})
		if err != nil {
			return nil, "", fmt.Errorf("open encounters: %w", err)
		}
		return page.Encounters, page.Next, nil
	})
}

// allPages reads every page that page returns, following its cursors.
func allPages[T any](page func(cursor string) ([]T, string, error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		items, next, err := page(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
