package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

// escalationPolicies is what the policy routes need of the alerts' store:
// the escalation policies and the rules that route alerts to them.
type escalationPolicies interface {
	CreatePolicy(ctx context.Context, rec *audit.Record, p alert.Policy) error
	GetPolicy(ctx context.Context, id string) (alert.Policy, error)
	ListPolicies(ctx context.Context) ([]alert.Policy, error)
	CreateRoutingRule(ctx context.Context, rec *audit.Record, r alert.RoutingRule) error
	ListRoutingRules(ctx context.Context) ([]alert.RoutingRule, error)
}

// careTeamRoutes serve who is reached: the practitioner directory and its
// on-call rota (/v1/clinical), and the escalation policies and routing
// rules (/v1/notifications).
type careTeamRoutes struct {
	*edge
	directory CareTeam
	policies  escalationPolicies
}

func (s *careTeamRoutes) routes() []Route {
	return []Route{
		{http.MethodPost, "/v1/clinical/practitioners", "system/Practitioner.write", "Practitioner", s.createPractitioner},
		{http.MethodGet, "/v1/clinical/practitioners", "system/Practitioner.read", "Practitioner", s.listPractitioners},
		{http.MethodGet, "/v1/clinical/practitioners/:id", "system/Practitioner.read", "Practitioner", s.getPractitioner},
		{http.MethodPost, "/v1/clinical/on-call", "system/PractitionerRole.write", "PractitionerRole", s.setOnCall},
		{http.MethodGet, "/v1/clinical/on-call", "system/PractitionerRole.read", "PractitionerRole", s.listOnCall},

		{http.MethodGet, "/v1/notifications/policies", "system/PlanDefinition.read", "PlanDefinition", s.listPolicies},
		{http.MethodPost, "/v1/notifications/policies", "system/PlanDefinition.write", "PlanDefinition", s.createPolicy},
		{http.MethodGet, "/v1/notifications/policies/:id", "system/PlanDefinition.read", "PlanDefinition", s.getPolicy},
		{http.MethodPost, "/v1/notifications/routing-rules", "system/PlanDefinition.write", "PlanDefinition", s.createRoutingRule},
	}
}

// practitionerBody is POST /v1/clinical/practitioners.
type practitionerBody struct {
	Name     string                  `json:"name"`
	Roles    []careteam.Role         `json:"roles"`
	Units    []string                `json:"units"`
	Contacts []careteam.ContactPoint `json:"contacts"`
}

func (s *careTeamRoutes) createPractitioner(c *gin.Context) {
	var b practitionerBody
	if readJSON(c, &b) == nil {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := careteam.NewPractitioner(id, b.Name, b.Roles, b.Units, b.Contacts)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "Practitioner", id.String(), nil)
	if err := s.directory.CreatePractitioner(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), p); err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.Header("Location", "/v1/clinical/practitioners/"+id.String())
	c.JSON(http.StatusCreated, p)
}

func (s *careTeamRoutes) listPractitioners(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "unit")
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, "Practitioner", "", nil)
	ps, err := s.directory.ListPractitioners(c.Request.Context(), c.Query("unit"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if ps == nil {
		ps = []careteam.Practitioner{}
	}
	c.JSON(http.StatusOK, gin.H{"data": ps})
}

func (s *careTeamRoutes) getPractitioner(c *gin.Context) {
	id, ok := uuidParam(c, "must be a practitioner id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, "Practitioner", id.String(), nil)
	p, err := s.directory.GetPractitioner(c.Request.Context(), id)
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

func (s *careTeamRoutes) setOnCall(c *gin.Context) {
	var b onCallBody
	if readJSON(c, &b) == nil {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	o, err := careteam.NewOnCall(id, b.PractitionerID, b.Role, b.Unit, b.From, b.To)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "PractitionerRole", id.String(), nil)
	if err := s.directory.SetOnCall(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), o); err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.JSON(http.StatusCreated, o)
}

func (s *careTeamRoutes) listOnCall(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "at")
	at := s.now()
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
	os, err := s.directory.ListOnCall(c.Request.Context(), at)
	if err != nil {
		s.fail(c, err)
		return
	}
	if os == nil {
		os = []careteam.OnCall{}
	}
	c.JSON(http.StatusOK, gin.H{"data": os})
}

func (s *careTeamRoutes) listPolicies(c *gin.Context) {
	auditOf(c).about(audit.ActionSearch, "PlanDefinition", "", nil)
	ps, err := s.policies.ListPolicies(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	rules, err := s.policies.ListRoutingRules(c.Request.Context())
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

func (s *careTeamRoutes) getPolicy(c *gin.Context) {
	auditOf(c).about(audit.ActionRead, "PlanDefinition", c.Param("id"), nil)
	p, err := s.policies.GetPolicy(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *careTeamRoutes) createPolicy(c *gin.Context) {
	var p alert.Policy
	if readJSON(c, &p) == nil {
		return
	}
	if err := p.Validate(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "PlanDefinition", p.ID, nil)
	if err := s.policies.CreatePolicy(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), p); err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.Header("Location", location("/v1/notifications/policies", p.ID))
	c.JSON(http.StatusCreated, p)
}

func (s *careTeamRoutes) createRoutingRule(c *gin.Context) {
	var r alert.RoutingRule
	if readJSON(c, &r) == nil {
		return
	}
	id, err := s.newID()
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
	} else if _, err := s.policies.GetPolicy(c.Request.Context(), r.PolicyID); err != nil {
		verr.Add("policyId", "names no escalation policy")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "PlanDefinition", r.PolicyID, nil)
	if err := s.policies.CreateRoutingRule(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), r); err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.JSON(http.StatusCreated, r)
}
