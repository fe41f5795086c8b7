// Package api is the REST edge: the Gin router, its middleware, one handler
// file per service, the error envelope and the OpenAPI document.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"golang.org/x/time/rate"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// TokenVerifier checks a bearer token and says who presented it.
type TokenVerifier interface {
	Verify(ctx context.Context, bearer string) (access.Principal, error)
}

// Deps is what the router needs; cmd/zarish builds it.
type Deps struct {
	Logger   *slog.Logger
	Version  string
	Patients PatientStore
	Audit    AuditStore
	Inbox    Inbox
	// Temporal starts and drives the workflows; Alerts, CareTeam and
	// Deliveries are the alerts' read model, directory and delivery log.
	Temporal   client.Client
	Alerts     AlertStore
	CareTeam   CareTeam
	Deliveries Deliveries
	Encounters EncounterStore
	// StepKeys claims the Idempotency-Keys of workflow steps.
	StepKeys  StepKeys
	Notes     NoteStore
	CarePlans CarePlanStore
	Allergies AllergyStore
	// Observations are vital signs and laboratory results, NEWS2 and the
	// patients' SpO2 scale decisions.
	Observations ObservationStore
	// Medications is the medication knowledge base (its loaded versions);
	// MedicationContext what its checks read about a patient.
	Medications       *medication.Registry
	MedicationContext MedicationContext
	// Prescriptions are the prescriptions' read model.
	Prescriptions PrescriptionStore
	// Diagnostics are the diagnostic reports' read model, one per order;
	// DiagnosticCatalogue the orderable tests (nil: the catalogue built
	// into the binary).
	Diagnostics         DiagnosticStore
	DiagnosticCatalogue *diagnostic.Catalogue
	// DICOM is the index of the DICOM instances received (STOW-RS, QIDO-RS,
	// WADO-RS); DICOMDir the folder their files are stored in, and
	// DICOMLimits what one STOW-RS request may send (zero: the defaults).
	DICOM       DICOMStore
	DICOMDir    string
	DICOMLimits DICOMLimits
	// Subscriptions are the third parties our events are delivered to by
	// webhook; SubscriptionsAllowPrivate lets their endpoints be on loopback
	// and private networks (development only).
	Subscriptions             SubscriptionStore
	SubscriptionsAllowPrivate bool
	// FHIRImport imports FHIR transaction and batch Bundles (POST /fhir/R4).
	FHIRImport BundleImporter
	// HL7v2 applies HL7 v2 messages, and HL7v2Messages reads the stored
	// ones.
	HL7v2         HL7v2Ingest
	HL7v2Messages HL7v2Messages
	// Procedures are the procedures' read model, resource directory and
	// allocations.
	Procedures ProcedureStore
	// CareReminders reports overdue care-plan activities to decision
	// support; nil means no care plans.
	CareReminders CarePlanReminders
	// DeadLetters are the outbox events Kafka refused for good.
	DeadLetters OutboxDeadLetters
	Verifier    TokenVerifier
	// Token serves the OAuth2 token endpoint; JWKS the signing keys.
	Token, JWKS http.Handler
	// SignIn is the rest of the authorization server (sign-in pages,
	// introspection, revocation, userinfo, discovery); Users and Sessions
	// the people who sign in and their sessions.
	SignIn   SignIn
	Users    UserDirectory
	Sessions SignInSessions
	// Launches are SMART launch contexts (EHR launch); nil makes none.
	Launches LaunchContexts
	Health   *Health
	Metrics  *Metrics
	// Console serves the clinical console's pages under /console, outside
	// the API's token check: it signs people in itself and calls the API
	// with their tokens. Nil serves none.
	Console http.Handler
	// PayloadCodec opens sealed workflow payloads for the Temporal Web UI
	// (CodecDecodePath); nil answers payloads as they come.
	PayloadCodec converter.PayloadCodec
	// CodecOrigins are the Web UI origins a browser may call the codec
	// endpoint from.
	CodecOrigins []string
	// Registry keeps the service instances' heartbeats (GET /v1/services);
	// TaskQueues are the worker queues it lists, HeartbeatInterval how
	// often instances beat.
	Registry          ServiceRegistry
	TaskQueues        []string
	HeartbeatInterval time.Duration
	// RateLimits are the request budgets; the zero value is unlimited.
	RateLimits RateLimits
	// MaxStreamsPerClient caps the live notification streams one OAuth2
	// client holds open at once; 0 means DefaultMaxStreamsPerClient.
	MaxStreamsPerClient int
	// TrustedProxies are the load balancers (IPs or CIDRs) whose
	// X-Forwarded-For names the client; with none the client is the
	// connection's peer.
	TrustedProxies []string
	// Now and NewID are the clock and id source; tests replace them.
	Now   func() time.Time
	NewID func() (uuid.UUID, error)
}

type server struct {
	Deps
	*edge
	log *slog.Logger
	// failOpenWarn spaces out the warnings about a failing rate limit store.
	failOpenWarn *rate.Sometimes
	// streams counts each client's open live streams.
	streams *streamCount
}

// tokenPath is the OAuth2 token endpoint.
const tokenPath = "/v1/auth/oauth2/token"

// Route is one API operation, the SMART scope it needs ("" = public) and the
// kind of resource its audit records name.
type Route struct {
	Method, Path, Scope, Entity string
	handler                     gin.HandlerFunc
}

// NewRouter builds the HTTP handler for every route.
func NewRouter(d Deps) *gin.Engine {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = uuid.NewV7
	}
	log := d.Logger.With("component", "api")
	s := &server{Deps: d, edge: &edge{log: log, now: d.Now, newID: d.NewID, steps: d.StepKeys}, log: log, failOpenWarn: newFailOpenWarn(),
		streams: newStreamCount(d.MaxStreamsPerClient)}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// No redirects for a trailing slash: gin answers them before any
	// middleware, so they would go unaudited; /v1/patients/ is a 404.
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	// Only a trusted proxy may say who the client is: the address goes into
	// audit records and per-address rate limits.
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		s.log.Error("invalid trusted proxies; trusting none", "error", err)
		_ = r.SetTrustedProxies(nil)
	}
	routes := s.routes()
	entities := map[string]string{}
	for _, rt := range routes {
		entities[rt.Method+" "+rt.Path] = rt.Entity
	}
	r.Use(withRequestID(), securityHeaders(), traced(), s.recovery(), d.Metrics.middleware(), s.accessLog(), s.audited(entities))
	// Unmatched /v1 requests spend the address's budget like any anonymous one.
	r.NoRoute(s.limitUnmatched(), func(c *gin.Context) { abort(c, http.StatusNotFound, CodeNotFound, "No such route.") })
	r.NoMethod(s.limitUnmatched(), func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "This route does not accept "+methodLabel(c.Request.Method)+".")
	})
	// Every route's input is checked against the OpenAPI document's limits.
	specs, err := inputSpecs(routes)
	if err != nil {
		s.log.Error("OpenAPI document not loaded; input is checked without its limits", "error", err)
	}

	// Each route needs one SMART v2 permission (see requirements).
	required := requirements(routes)
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		handlers := []gin.HandlerFunc{}
		switch {
		case rt.Scope != "":
			// Spends the client's budget once the token is verified, or the
			// IP's when there is no valid token.
			handlers = append(handlers, s.authorize(required[key]))
		case rt.Path == tokenPath:
			// The token endpoint spends its own per-IP budget, audited as a login.
		case apiPath(rt.Path):
			handlers = append(handlers, s.limitByIP())
		default:
			// The probes and /metrics: only their route group's budget.
			handlers = append(handlers, s.limitGroupByIP())
		}
		handlers = append(handlers, s.checkedInput(specs[key]))
		if rt.Scope != "" {
			handlers = append(handlers, s.confine(rt, required[key], specs[key]))
		}
		handlers = append(handlers, rt.handler)
		r.Handle(rt.Method, rt.Path, handlers...)
	}
	if d.Console != nil {
		console := gin.WrapH(d.Console)
		for _, path := range []string{"/console", "/console/*path"} {
			r.GET(path, console)
			r.HEAD(path, console)
			r.POST(path, console)
			r.OPTIONS(path, console)
		}
	}
	return r
}

// routes is the one table of the API: the router, the auth middleware and the
// OpenAPI completeness test all read it. Each service's routes hang off a
// struct holding the shared edge and only that service's dependencies.
func (s *server) routes() []Route {
	// The FHIR creates run the same handlers as these services' own routes.
	patients := &patientRoutes{edge: s.edge, store: s.Patients}
	observations := &observationRoutes{edge: s.edge, store: s.Observations}
	prescriptions := &prescriptionRoutes{edge: s.edge, store: s.Prescriptions, kb: s.Medications, patients: s.Patients,
		encounters: s.Encounters, directory: s.CareTeam, temporal: s.Temporal}
	diagnostics := &diagnosticRoutes{edge: s.edge, store: s.Diagnostics, catalogue: s.DiagnosticCatalogue,
		observations: observations, patients: s.Patients,
		encounters: s.Encounters, directory: s.CareTeam, temporal: s.Temporal}
	return slices.Concat(s.sharedRoutes(),
		patients.routes(),
		(&noteRoutes{edge: s.edge, store: s.Notes}).routes(),
		(&carePlanRoutes{edge: s.edge, store: s.CarePlans, temporal: s.Temporal}).routes(),
		(&allergyRoutes{edge: s.edge, store: s.Allergies, patients: s.Patients}).routes(),
		observations.routes(),
		(&cdsRoutes{edge: s.edge, patients: s.Patients, encounters: s.Encounters, alerts: s.Alerts,
			allergies: s.Allergies, notes: s.Notes, reminders: s.CareReminders,
			medications: s.Medications, medicationContext: s.MedicationContext}).routes(),
		(&medicationRoutes{edge: s.edge, registry: s.Medications}).routes(),
		(&careTeamRoutes{edge: s.edge, directory: s.CareTeam, policies: s.Alerts}).routes(),
		(&inboxRoutes{edge: s.edge, inbox: s.Inbox, streams: s.streams, auditLog: s.Audit}).routes(),
		(&deliveryRoutes{edge: s.edge, store: s.Deliveries}).routes(),
		(&deadLetterRoutes{edge: s.edge, store: s.DeadLetters}).routes(),
		(&hl7v2Routes{edge: s.edge, ingest: s.HL7v2, messages: s.HL7v2Messages}).routes(),
		(&subscriptionRoutes{edge: s.edge, store: s.Subscriptions, allowPrivate: s.SubscriptionsAllowPrivate}).routes(),
		(&fhirRoutes{edge: s.edge, patients: s.Patients, observations: s.Observations,
			encounters: s.Encounters, allergies: s.Allergies, temporal: s.Temporal, directory: s.CareTeam,
			prescriptions: s.Prescriptions, diagnostics: s.Diagnostics, procedures: s.Procedures,
			carePlans: s.CarePlans, alerts: s.Alerts, auditTrail: s.Audit,
			writers: fhirWriters{patients: patients, observations: observations,
				prescriptions: prescriptions, diagnostics: diagnostics}}).routes(),
		(&fhirImportRoutes{edge: s.edge, importer: s.FHIRImport}).routes(),
		(&dicomRoutes{edge: s.edge, store: s.DICOM, patients: s.Patients, auditLog: s.Audit, dir: s.DICOMDir, limits: s.DICOMLimits,
			temporal: s.Temporal}).routes(),
		(&auditRoutes{edge: s.edge, store: s.Audit}).routes(),
		(&encounterRoutes{edge: s.edge, store: s.Encounters, temporal: s.Temporal}).routes(),
		prescriptions.routes(),
		diagnostics.routes(),
		(&procedureRoutes{edge: s.edge, store: s.Procedures, patients: s.Patients, encounters: s.Encounters,
			temporal: s.Temporal}).routes(),
		(&authRoutes{edge: s.edge, endpoints: s.SignIn, users: s.Users, sessions: s.Sessions,
			admitSignIn: func(c *gin.Context) bool { return s.admit(c, keyToken, c.ClientIP(), s.RateLimits.Token) }}).routes(),
		(&launchRoutes{edge: s.edge, store: s.Launches}).routes(),
		(&alertRoutes{edge: s.edge, store: s.Alerts, deliveries: s.Deliveries, temporal: s.Temporal, directory: s.CareTeam}).routes(),
		(&codecRoutes{edge: s.edge, codec: s.PayloadCodec, origins: s.CodecOrigins}).routes(),
		(&servicesRoutes{edge: s.edge, store: s.Registry, temporal: s.Temporal, queues: s.TaskQueues, interval: s.HeartbeatInterval}).routes(),
	)
}

// sharedRoutes are the routes whose handlers hang off the server: health,
// metrics, the OpenAPI document, and the token and key endpoints.
func (s *server) sharedRoutes() []Route {
	return []Route{
		{http.MethodGet, "/health", "", "", s.health},
		{http.MethodGet, "/ready", "", "", s.ready},
		{http.MethodGet, "/metrics", "", "", gin.WrapH(s.Metrics.Handler())},
		{http.MethodGet, "/v1/openapi.json", "", "OpenAPI", serveOpenAPI},
		{http.MethodPost, tokenPath, "", "Client", s.token},
		{http.MethodGet, "/v1/auth/jwks.json", "", "JWKS", gin.WrapH(s.JWKS)},
	}
}

// Routes lists the API's routes (for documentation and tests).
func Routes() []Route {
	s := &server{Deps: Deps{Metrics: NewMetrics()}}
	return s.routes()
}
