package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

// practitionerBody is POST /v1/clinical/practitioners.
type practitionerBody struct {
	Name     string                  `json:"name"`
	Roles    []careteam.Role         `json:"roles"`
	Units    []string                `json:"units"`
	Contacts []careteam.ContactPoint `json:"contacts"`
}

func (s *server) createPractitioner(c *gin.Context) {
	var b practitionerBody
	if readJSON(c, &b) == nil {
		return
	}
	id, err := s.NewID()
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := careteam.NewPractitioner(id, b.Name, b.Roles, b.Units, b.Contacts)
	if err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionCreate, "Practitioner", id.String(), nil)
	if err := s.CareTeam.CreatePractitioner(c.Request.Context(), p); err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/clinical/practitioners/"+id.String())
	c.JSON(http.StatusCreated, p)
}

func (s *server) listPractitioners(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "unit")
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, "Practitioner", "", nil)
	ps, err := s.CareTeam.ListPractitioners(c.Request.Context(), c.Query("unit"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if ps == nil {
		ps = []careteam.Practitioner{}
	}
	c.JSON(http.StatusOK, gin.H{"data": ps})
}

func (s *server) getPractitioner(c *gin.Context) {
	id, ok := uuidParam(c, "must be a practitioner id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, "Practitioner", id.String(), nil)
	p, err := s.CareTeam.GetPractitioner(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// onCallBody is POST /v1/clinical/on-call.
type onCallBody struct {
	PractitionerID uuid.UUID     `json:"practitionerId"`
	Role           careteam.Role `json:"role"`
	Unit           string        `json:"unit"`
	From           time.Time     `json:"from"`
	To             time.Time     `json:"to"`
}

func (s *server) setOnCall(c *gin.Context) {
	var b onCallBody
	if readJSON(c, &b) == nil {
		return
	}
	id, err := s.NewID()
	if err != nil {
		s.fail(c, err)
		return
	}
	o, err := careteam.NewOnCall(id, b.PractitionerID, b.Role, b.Unit, b.From, b.To)
	if err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionCreate, "PractitionerRole", id.String(), nil)
	if err := s.CareTeam.SetOnCall(c.Request.Context(), o); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, o)
}

func (s *server) listOnCall(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "at")
	at := s.Now()
	if v := c.Query("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			verr.Add("at", "must be an RFC 3339 time")
		}
		at = t
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, "PractitionerRole", "", nil)
	os, err := s.CareTeam.ListOnCall(c.Request.Context(), at)
	if err != nil {
		s.fail(c, err)
		return
	}
	if os == nil {
		os = []careteam.OnCall{}
	}
	c.JSON(http.StatusOK, gin.H{"data": os})
}

func (s *server) listPolicies(c *gin.Context) {
	auditOf(c).about(audit.ActionSearch, "PlanDefinition", "", nil)
	ps, err := s.Alerts.ListPolicies(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	rules, err := s.Alerts.ListRoutingRules(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	if ps == nil {
		ps = []alert.Policy{}
	}
	if rules == nil {
		rules = []alert.RoutingRule{}
	}
	c.JSON(http.StatusOK, gin.H{"data": ps, "routingRules": rules})
}

func (s *server) getPolicy(c *gin.Context) {
	auditOf(c).about(audit.ActionRead, "PlanDefinition", c.Param("id"), nil)
	p, err := s.Alerts.GetPolicy(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *server) createPolicy(c *gin.Context) {
	var p alert.Policy
	if readJSON(c, &p) == nil {
		return
	}
	if err := p.Validate(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionCreate, "PlanDefinition", p.ID, nil)
	if err := s.Alerts.CreatePolicy(c.Request.Context(), p); err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", location("/v1/notifications/policies", p.ID))
	c.JSON(http.StatusCreated, p)
}

func (s *server) createRoutingRule(c *gin.Context) {
	var r alert.RoutingRule
	if readJSON(c, &r) == nil {
		return
	}
	id, err := s.NewID()
	if err != nil {
		s.fail(c, err)
		return
	}
	r.ID = id
	verr := &domain.ValidationError{}
	if !r.MinSeverity.Valid() {
		verr.Add("minSeverity", "must be one of info, warning, urgent, critical")
	}
	if r.PolicyID == "" {
		verr.Add("policyId", "is required")
	} else if _, err := s.Alerts.GetPolicy(c.Request.Context(), r.PolicyID); err != nil {
		verr.Add("policyId", "names no escalation policy")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionCreate, "PlanDefinition", r.PolicyID, nil)
	if err := s.Alerts.CreateRoutingRule(c.Request.Context(), r); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, r)
}
