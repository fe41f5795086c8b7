package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/identity"
)

// LaunchContexts stores SMART launch contexts (EHR launch): the patient an
// app is opened for, under an opaque value the app presents when it signs
// its user in.
type LaunchContexts interface {
	CreateLaunch(ctx context.Context, value string, l identity.Launch) error
}

// launchRoutes serves POST /v1/auth/launches.
type launchRoutes struct {
	*edge
	store LaunchContexts
}

func (s *launchRoutes) routes() []Route {
	// Opening an app for a patient needs no more than reading that patient.
	return []Route{{http.MethodPost, "/v1/auth/launches", "system/Patient.read", "Patient", s.create}}
}

type launchBody struct {
	PatientID   string `json:"patientId"`
	EncounterID string `json:"encounterId"`
}

type launchView struct {
	Launch      string     `json:"launch"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	ExpiresAt   time.Time  `json:"expiresAt"`
}

// create makes a launch context for a patient (and encounter): the app
// being opened sends its value as the launch parameter of its
// authorization request, with the launch scope; the sign-in's patient/
// scopes are then granted, confined to that patient. It is used once and
// expires after identity.LaunchTTL.
func (s *launchRoutes) create(c *gin.Context) {
	if s.store == nil {
		abort(c, http.StatusServiceUnavailable, CodeUnavailable, "This server makes no launch contexts.")
		return
	}
	var b launchBody
	if readJSON(c, &b) == nil {
		return
	}
	verr := &domain.ValidationError{}
	patient := requiredUUID(verr, "patientId", b.PatientID)
	var encounter *uuid.UUID
	if b.EncounterID != "" {
		if id, err := uuid.Parse(b.EncounterID); err != nil {
			verr.Add("encounterId", "must be an encounter id (UUID)")
		} else {
			encounter = &id
		}
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		s.fail(c, err)
		return
	}
	value := base64.RawURLEncoding.EncodeToString(raw)
	p, _ := principal(c)
	now := s.now().UTC()
	l := identity.Launch{PatientID: patient, EncounterID: encounter, ClientID: p.ClientID,
		CreatedAt: now, ExpiresAt: now.Add(identity.LaunchTTL)}
	if id, err := uuid.Parse(p.UserID); err == nil {
		l.UserID = &id
	}
	auditOf(c).about(audit.ActionCreate, "Patient", patient.String(), &patient)
	if err := s.store.CreateLaunch(c.Request.Context(), value, l); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, launchView{Launch: value, PatientID: patient, EncounterID: encounter, ExpiresAt: l.ExpiresAt})
}
