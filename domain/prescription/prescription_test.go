package prescription_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

var (
	t0         = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	rxID       = uuid.MustParse("0193c000-0000-7000-8000-0000000000d1")
	otherRx    = uuid.MustParse("0193c000-0000-7000-8000-0000000000d2")
	thirdRx    = uuid.MustParse("0193c000-0000-7000-8000-0000000000d3")
	patient    = uuid.MustParse("0193c000-0000-7000-8000-0000000000aa")
	prescriber = uuid.MustParse("0193c000-0000-7000-8000-000000000001")
	pharmacist = uuid.MustParse("0193c000-0000-7000-8000-000000000002")
	nurse      = uuid.MustParse("0193c000-0000-7000-8000-000000000003")
)

const kbVersion = "2026.12.1"

// details is amoxicillin 500 mg by mouth every 8 hours for 5 days, 15
// capsules.
func details() prescription.Details {
	return prescription.Details{
		ID: rxID, PatientID: patient, Unit: "ward-3", PrescriberID: prescriber, CreatedAt: t0,
		Order: medication.Order{Name: "amoxicillin", Dose: 500, DoseUnit: "mg", Route: "po", Frequency: "q8h",
			DurationDays: 5, Indication: "community-acquired pneumonia"},
		Drug:     medication.Resolution{ID: "amoxicillin", Name: "amoxicillin", Ingredients: []string{"amoxicillin"}},
		Quantity: prescription.Quantity{Value: 15, Unit: "capsule"},
	}
}

// checkContext is a patient on warfarin (otherRx) and clarithromycin
// (thirdRx).
func checkContext() prescription.Context {
	var c prescription.Context
	c.Orders([]prescription.ActiveOrder{
		{PrescriptionID: otherRx, Order: medication.Order{Name: "warfarin"}},
		{PrescriptionID: thirdRx, Order: medication.Order{Name: "clarithromycin"}},
	})
	return c
}

func result(fs ...medication.Finding) medication.Result {
	return medication.Result{Version: kbVersion, Findings: fs}
}

// interaction is an interaction finding with the active medication at index.
func interaction(sev medication.Severity, index int) medication.Finding {
	others := []string{"warfarin", "clarithromycin"}
	return medication.Finding{Kind: medication.KindInteraction, Severity: sev, Drug: "amoxicillin",
		Other: others[index], OtherIndex: index, Rule: "rule-" + others[index], Version: kbVersion}
}

func doseFinding(sev medication.Severity) medication.Finding {
	return medication.Finding{Kind: medication.KindDose, Severity: sev, Drug: "amoxicillin", OtherIndex: -1,
		Rule: "dose-single-max", Version: kbVersion}
}

func allergyFinding(sev medication.Severity) medication.Finding {
	return medication.Finding{Kind: medication.KindAllergy, Severity: sev, Drug: "amoxicillin", Other: "Penicillin",
		OtherIndex: 0, Rule: "allergy-same-class", Version: kbVersion}
}

// must takes a change's result, failing the test on its error.
func must(t *testing.T) func(prescription.Prescription, error) prescription.Prescription {
	t.Helper()
	return func(p prescription.Prescription, err error) prescription.Prescription {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func newDraft(t *testing.T) prescription.Prescription {
	t.Helper()
	return must(t)(prescription.New(details()))
}

// checkedWith is the draft after its first checks found fs, a minute in.
func checkedWith(t *testing.T, fs ...medication.Finding) prescription.Prescription {
	t.Helper()
	p, _, _ := newDraft(t).Checked(result(fs...), checkContext(), prescription.ReasonOrdered, t0.Add(time.Minute))
	return p
}

func active(t *testing.T) prescription.Prescription { return checkedWith(t) }

func held(t *testing.T) prescription.Prescription {
	return checkedWith(t, interaction(medication.SeverityMajor, 0))
}

func verified(t *testing.T) prescription.Prescription {
	t.Helper()
	return must(t)(active(t).Verify(pharmacist, t0.Add(10*time.Minute)))
}

// reasonsFor gives every standing finding of p a reason.
func reasonsFor(p prescription.Prescription) map[string]string {
	out := map[string]string{}
	for _, f := range p.Standing() {
		out[f.ID] = "benefit outweighs the risk; INR checked daily"
	}
	return out
}

func kinds(p prescription.Prescription) string {
	var out []string
	for _, e := range p.Timeline {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

func fields(err error) []string {
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, f := range v.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestNew(t *testing.T) {
	p := newDraft(t)
	if p.Status != prescription.StatusDraft || p.Version != 1 || p.Findings == nil || p.Checks == nil ||
		!p.UpdatedAt.Equal(t0) || p.ActivatedAt != nil || p.EndsAt != nil {
		t.Fatalf("new prescription %+v", p)
	}
	if e := p.Last(); kinds(p) != "created" || e.Seq != 1 || e.By != prescriber || !e.At.Equal(t0) || e.Status != prescription.StatusDraft {
		t.Fatalf("timeline %+v", p.Timeline)
	}
}

func TestNewReportsEveryInvalidField(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*prescription.Details)
		fields []string
	}{
		{"valid", func(*prescription.Details) {}, nil},
		{"valid by doses per day", func(d *prescription.Details) { d.Order.Frequency, d.Order.DosesPerDay = "", 3 }, nil},
		{"empty", func(d *prescription.Details) { *d = prescription.Details{} },
			[]string{"id", "patientId", "prescriberId", "medication", "dose.value", "dose.unit", "route", "frequency", "createdAt"}},
		{"every other field wrong", func(d *prescription.Details) {
			enc := uuid.Nil
			d.EncounterID = &enc
			d.Order.Dose = math.Inf(1)
			d.Order.DoseUnit = strings.Repeat("m", 41)
			d.Order.Route = "through the nose, somehow"
			d.Order.Frequency = "whenever he likes"
			d.Order.DurationDays = -1
			d.Order.Indication = strings.Repeat("é", 501)
			d.Quantity.Value = -1
		}, []string{"encounterId", "dose.value", "dose.unit", "route", "frequency", "durationDays", "indication", "quantity.value"}},
		{"NaN dose and duration", func(d *prescription.Details) { d.Order.Dose, d.Order.DurationDays = math.NaN(), math.NaN() },
			[]string{"dose.value", "durationDays"}},
		{"duration too long", func(d *prescription.Details) { d.Order.DurationDays = 3651 }, []string{"durationDays"}},
		{"quantity without a unit", func(d *prescription.Details) { d.Quantity.Unit = " " }, []string{"quantity.unit"}},
		{"blank unit and route", func(d *prescription.Details) { d.Order.DoseUnit, d.Order.Route = "  ", " " },
			[]string{"dose.unit", "route"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := details()
			tc.edit(&d)
			p, err := prescription.New(d)
			if got := fields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, err)
			}
			if err != nil && p.Version != 0 {
				t.Fatalf("an invalid prescription was made: %+v", p)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	for _, s := range prescription.Statuses {
		closed := s == prescription.StatusCancelled || s == prescription.StatusStopped || s == prescription.StatusCompleted
		if !s.Valid() || s.Closed() != closed || s.Open() == closed {
			t.Errorf("%s: valid %v closed %v open %v", s, s.Valid(), s.Closed(), s.Open())
		}
	}
	for _, s := range []prescription.Status{"", "entered-in-error", "ACTIVE"} {
		if s.Valid() {
			t.Errorf("%q is valid", s)
		}
	}
	if prescription.Status("").Open() {
		t.Error("the empty status is open")
	}
}

// TestTransitions takes every step from every status: the allowed ones
// move the prescription on, the others are refused with
// ErrInvalidTransition and leave it as it was.
func TestTransitions(t *testing.T) {
	at := t0.Add(6 * 24 * time.Hour) // past the 5-day duration
	states := []struct {
		name  string
		build func(t *testing.T) prescription.Prescription
	}{
		{"draft", newDraft},
		{"on-hold", held},
		{"active", active},
		{"verified", verified},
		{"stopped", func(t *testing.T) prescription.Prescription {
			return must(t)(active(t).Discontinue(prescriber, "rash", t0.Add(time.Hour)))
		}},
		{"cancelled", func(t *testing.T) prescription.Prescription {
			return must(t)(newDraft(t).Cancel(prescriber, "wrong patient", t0.Add(time.Minute)))
		}},
		{"completed", func(t *testing.T) prescription.Prescription {
			return must(t)(active(t).Complete(t0.Add(5*24*time.Hour + time.Minute)))
		}},
	}
	steps := []struct {
		name    string
		allowed []string
		do      func(p prescription.Prescription) (prescription.Prescription, error)
		status  prescription.Status
		event   prescription.EventKind
	}{
		{"override", []string{"on-hold"}, func(p prescription.Prescription) (prescription.Prescription, error) {
			return p.Override(prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber, Reasons: reasonsFor(p)}, at)
		}, prescription.StatusActive, prescription.EventOverridden},
		{"verify", []string{"active"}, func(p prescription.Prescription) (prescription.Prescription, error) {
			return p.Verify(pharmacist, at)
		}, prescription.StatusActive, prescription.EventVerified},
		{"dispense", []string{"verified"}, func(p prescription.Prescription) (prescription.Prescription, error) {
			return p.Dispense(pharmacist, prescription.Quantity{Value: 15, Unit: "capsule"}, at)
		}, prescription.StatusActive, prescription.EventDispensed},
		{"administer", []string{"verified"}, func(p prescription.Prescription) (prescription.Prescription, error) {
			return p.Administer(prescription.Administration{Dose: prescription.Quantity{Value: 500, Unit: "mg"}, At: at.Add(-time.Minute), By: nurse}, at)
		}, prescription.StatusActive, prescription.EventAdministered},
		{"discontinue", []string{"on-hold", "active", "verified"}, func(p prescription.Prescription) (prescription.Prescription, error) {
			return p.Discontinue(prescriber, "rash", at)
		}, prescription.StatusStopped, prescription.EventDiscontinued},
		{"cancel", []string{"draft", "on-hold", "active", "verified"}, func(p prescription.Prescription) (prescription.Prescription, error) {
			return p.Cancel(prescriber, "entered for the wrong patient", at)
		}, prescription.StatusCancelled, prescription.EventCancelled},
		{"complete", []string{"active", "verified"}, func(p prescription.Prescription) (prescription.Prescription, error) {
			return p.Complete(at)
		}, prescription.StatusCompleted, prescription.EventCompleted},
	}
	for _, st := range steps {
		for _, s := range states {
			t.Run(st.name+"/"+s.name, func(t *testing.T) {
				before := s.build(t)
				next, err := st.do(before)
				if !slices.Contains(st.allowed, s.name) {
					if !errors.Is(err, prescription.ErrInvalidTransition) {
						t.Fatalf("refused with %v, want ErrInvalidTransition", err)
					}
					if next.Version != before.Version || next.Status != before.Status {
						t.Fatalf("a refused step changed the prescription: %s v%d", next.Status, next.Version)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				last := next.Last()
				if next.Status != st.status || next.Version != before.Version+1 || last.Kind != st.event ||
					last.Status != st.status || !last.At.Equal(at) || last.Seq != len(next.Timeline) || !next.UpdatedAt.Equal(at) {
					t.Fatalf("after %s: %s v%d, last entry %+v", st.name, next.Status, next.Version, last)
				}
				if next.Status.Closed() && next.HeldAt != nil {
					t.Fatal("a closed prescription is still held")
				}
				if len(before.Timeline) != before.Version {
					t.Fatal("the step changed the version before it")
				}
			})
		}
	}
}

func TestBlockingForEveryKindAndSeverity(t *testing.T) {
	severities := []medication.Severity{medication.SeverityContraindicated, medication.SeverityMajor, medication.SeverityModerate,
		medication.SeverityMinor, medication.SeverityHold, medication.SeverityCaution, medication.SeverityNone}
	blocking := map[medication.Kind][]medication.Severity{
		medication.KindUnavailable: severities,
		medication.KindInteraction: {medication.SeverityContraindicated, medication.SeverityMajor},
		medication.KindAllergy:     {medication.SeverityHold},
		medication.KindDuplicate: {medication.SeverityContraindicated, medication.SeverityMajor, medication.SeverityModerate,
			medication.SeverityHold},
		medication.KindDose: {medication.SeverityContraindicated, medication.SeverityMajor, medication.SeverityModerate,
			medication.SeverityHold},
		// A kind the engine does not know yet blocks when it is major or worse.
		"pregnancy": {medication.SeverityContraindicated, medication.SeverityMajor, medication.SeverityHold},
	}
	for kind, want := range blocking {
		for _, sev := range severities {
			f := medication.Finding{Kind: kind, Severity: sev}
			if got := prescription.Blocking(f); got != slices.Contains(want, sev) {
				t.Errorf("%s %q: blocking %v", kind, sev, got)
			}
		}
	}
}

func TestFirstCheck(t *testing.T) {
	draft := newDraft(t)
	at := t0.Add(time.Minute)
	ctx := checkContext()
	ctx.Basis = []prescription.Basis{{Code: "29463-7", Value: 75, Unit: "kg", At: t0.Add(-time.Hour)}}

	clean, fresh, blocking := draft.Checked(result(interaction(medication.SeverityModerate, 0)), ctx, prescription.ReasonOrdered, at)
	if clean.Status != prescription.StatusActive || fresh != 1 || blocking != 0 || kinds(clean) != "created activated" ||
		clean.ActivatedAt == nil || !clean.ActivatedAt.Equal(at) || clean.EndsAt == nil || !clean.EndsAt.Equal(at.Add(5*24*time.Hour)) {
		t.Fatalf("order with a moderate interaction: %s (%d new, %d blocking), %s", clean.Status, fresh, blocking, kinds(clean))
	}
	f := clean.Findings[0]
	if f.Blocking || f.OtherPrescriptionID == nil || *f.OtherPrescriptionID != otherRx || !f.FoundAt.Equal(at) ||
		f.ID != "interaction:rule-warfarin:amoxicillin:prescription/"+otherRx.String() {
		t.Fatalf("finding %+v", f)
	}
	c := clean.Checks[0]
	if len(clean.Checks) != 1 || c.Reason != prescription.ReasonOrdered || c.Version != kbVersion || c.Found != 1 ||
		!c.At.Equal(at) || len(c.Basis) != 1 || c.Basis[0].Code != "29463-7" {
		t.Fatalf("checks %+v", clean.Checks)
	}
	if len(draft.Findings) != 0 || len(draft.Checks) != 0 || draft.Version != 1 {
		t.Fatal("checking changed the draft")
	}

	open, _, _ := newDraft(t).Checked(result(), ctx, prescription.ReasonOrdered, at)
	d := details()
	d.Order.DurationDays = 0
	endless, _, _ := must(t)(prescription.New(d)).Checked(result(), ctx, prescription.ReasonOrdered, at)
	if open.Status != prescription.StatusActive || endless.EndsAt != nil {
		t.Fatalf("open-ended order ends at %v", endless.EndsAt)
	}

	hold, fresh, blocking := draft.Checked(result(interaction(medication.SeverityMajor, 0), doseFinding(medication.SeverityMinor)),
		ctx, prescription.ReasonOrdered, at)
	if hold.Status != prescription.StatusOnHold || fresh != 2 || blocking != 1 || hold.HeldAt == nil || !hold.HeldAt.Equal(at) ||
		hold.ActivatedAt != nil || hold.EndsAt != nil || kinds(hold) != "created held" || len(hold.Standing()) != 1 {
		t.Fatalf("order with a major interaction: %s (%d new, %d blocking), %s", hold.Status, fresh, blocking, kinds(hold))
	}
}

func TestFindingsOf(t *testing.T) {
	ctx := checkContext()
	out := prescription.FindingsOf(result(
		interaction(medication.SeverityMajor, 1),
		allergyFinding(medication.SeverityHold), // index 0 is an allergy, not an active order
		medication.Finding{Kind: medication.KindDuplicate, Severity: medication.SeverityMajor, Drug: "amoxicillin",
			Other: "Amoxil", OtherIndex: 7, Rule: "duplicate-same-ingredient"}, // beyond ctx.Active
	), ctx, t0)
	if len(out) != 3 {
		t.Fatalf("findings %+v", out)
	}
	if out[0].OtherPrescriptionID == nil || *out[0].OtherPrescriptionID != thirdRx || !out[0].Blocking {
		t.Errorf("interaction %+v", out[0])
	}
	if out[1].OtherPrescriptionID != nil || out[1].ID != "allergy:allergy-same-class:amoxicillin:penicillin" {
		t.Errorf("allergy %+v", out[1])
	}
	if out[2].OtherPrescriptionID != nil || out[2].ID != "duplicate:duplicate-same-ingredient:amoxicillin:amoxil" {
		t.Errorf("duplicate %+v", out[2])
	}
}

func TestOverrideNeedsAReasonPerStandingFinding(t *testing.T) {
	p := checkedWith(t, interaction(medication.SeverityMajor, 0), doseFinding(medication.SeverityModerate),
		interaction(medication.SeverityModerate, 1))
	standing := p.Standing()
	if p.Status != prescription.StatusOnHold || len(standing) != 2 {
		t.Fatalf("%s with %d standing", p.Status, len(standing))
	}
	reasons := reasonsFor(p)
	without := func(id string) map[string]string {
		m := map[string]string{}
		for k, v := range reasons {
			if k != id {
				m[k] = v
			}
		}
		return m
	}
	with := func(id, reason string) map[string]string {
		m := without("")
		m[id] = reason
		return m
	}
	nonBlocking := p.Findings[2].ID
	cases := []struct {
		name string
		req  prescription.OverrideRequest
	}{
		{"no reasons", prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber}},
		{"one reason missing", prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber, Reasons: without(standing[1].ID)}},
		{"blank reason", prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber, Reasons: with(standing[0].ID, " \t")}},
		{"reason too long", prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber,
			Reasons: with(standing[0].ID, strings.Repeat("x", prescription.MaxReasonLen+1))}},
		{"a finding that does not block", prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber,
			Reasons: with(nonBlocking, "fine")}},
		{"an unknown finding", prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber, Reasons: with("dose:x", "fine")}},
		{"nobody", prescription.OverrideRequest{Role: prescription.RolePrescriber, Reasons: reasons}},
		{"a nurse", prescription.OverrideRequest{By: nurse, Role: "nurse", Reasons: reasons}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.CanOverride(tc.req); !errors.Is(err, prescription.ErrInvalidArgument) {
				t.Fatalf("CanOverride: %v, want ErrInvalidArgument", err)
			}
			if next, err := p.Override(tc.req, t0.Add(time.Hour)); !errors.Is(err, prescription.ErrInvalidArgument) || next.Version != p.Version {
				t.Fatalf("Override: %v, v%d", err, next.Version)
			}
		})
	}

	at := t0.Add(time.Hour)
	padded := with(standing[0].ID, "  INR monitored daily  ")
	next, err := p.Override(prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber, Reasons: padded}, at)
	if err != nil {
		t.Fatal(err)
	}
	if next.Status != prescription.StatusActive || next.HeldAt != nil || len(next.Standing()) != 0 ||
		next.ActivatedAt == nil || !next.ActivatedAt.Equal(at) || next.EndsAt == nil || !next.EndsAt.Equal(at.Add(5*24*time.Hour)) {
		t.Fatalf("overridden: %s, held %v, activated %v", next.Status, next.HeldAt, next.ActivatedAt)
	}
	if o := next.Findings[0].Override; o == nil || o.By != prescriber || o.Role != prescription.RolePrescriber ||
		o.Reason != "INR monitored daily" || !o.At.Equal(at) {
		t.Fatalf("override %+v", o)
	}
	if next.Findings[1].Override == nil || next.Findings[2].Override != nil {
		t.Fatal("the override covered the wrong findings")
	}
	if e := next.Last(); e.Kind != prescription.EventOverridden || e.By != prescriber || e.Note != "2 finding(s) overridden by the prescriber" {
		t.Fatalf("entry %+v", e)
	}
	if p.Findings[0].Override != nil || p.Status != prescription.StatusOnHold {
		t.Fatal("the override changed the held version")
	}
}

func TestContraindicatedFindingNeedsThePharmacist(t *testing.T) {
	p := checkedWith(t, interaction(medication.SeverityContraindicated, 1))
	req := prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber, Reasons: reasonsFor(p)}
	if _, err := p.Override(req, t0.Add(time.Hour)); !errors.Is(err, prescription.ErrPharmacistRequired) ||
		errors.Is(err, prescription.ErrInvalidArgument) {
		t.Fatalf("prescriber's override: %v, want ErrPharmacistRequired", err)
	}
	req.By, req.Role = pharmacist, prescription.RolePharmacist
	next, err := p.Override(req, t0.Add(time.Hour))
	if err != nil || next.Status != prescription.StatusActive || next.Findings[0].Override.Role != prescription.RolePharmacist {
		t.Fatalf("pharmacist's override: %s, %v", next.Status, err)
	}
	// A major finding beside it is the prescriber's to override, but the
	// contraindicated one still needs the pharmacist.
	both := checkedWith(t, interaction(medication.SeverityMajor, 0), interaction(medication.SeverityContraindicated, 1))
	req = prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber, Reasons: reasonsFor(both)}
	if err := both.CanOverride(req); !errors.Is(err, prescription.ErrPharmacistRequired) {
		t.Fatalf("mixed findings by the prescriber: %v", err)
	}
}

func TestRecheck(t *testing.T) {
	major := interaction(medication.SeverityMajor, 0)
	overridden := must(t)(checkedWith(t, major).Override(prescription.OverrideRequest{
		By: prescriber, Role: prescription.RolePrescriber, Reasons: reasonsFor(checkedWith(t, major))}, t0.Add(time.Hour)))
	activatedAt, endsAt := *overridden.ActivatedAt, *overridden.EndsAt

	t.Run("an overridden finding found again stays overridden", func(t *testing.T) {
		at := t0.Add(2 * time.Hour)
		next, fresh, blocking := overridden.Checked(result(major), checkContext(), prescription.ReasonNewMedication, at)
		f := next.Findings[0]
		if next.Status != prescription.StatusActive || fresh != 0 || blocking != 0 || next.Last().Kind != prescription.EventRechecked ||
			f.Override == nil || !f.FoundAt.Equal(t0.Add(time.Minute)) || len(next.Checks) != 2 || next.Checks[1].Found != 0 {
			t.Fatalf("%s (%d new, %d blocking), finding %+v", next.Status, fresh, blocking, f)
		}
	})

	t.Run("the same interaction with another prescription is new", func(t *testing.T) {
		ctx := checkContext()
		ctx.Active[0] = uuid.MustParse("0193c000-0000-7000-8000-0000000000d9") // warfarin prescribed again
		next, fresh, blocking := overridden.Checked(result(major), ctx, prescription.ReasonNewMedication, t0.Add(2*time.Hour))
		if next.Status != prescription.StatusOnHold || fresh != 1 || blocking != 1 {
			t.Fatalf("%s (%d new, %d blocking)", next.Status, fresh, blocking)
		}
	})

	at := t0.Add(3 * time.Hour)
	heldAgain, fresh, blocking := overridden.Checked(result(major, allergyFinding(medication.SeverityHold)), checkContext(),
		prescription.ReasonNewAllergy, at)
	t.Run("a new blocking finding holds an active prescription", func(t *testing.T) {
		if heldAgain.Status != prescription.StatusOnHold || fresh != 1 || blocking != 1 || heldAgain.HeldAt == nil ||
			!heldAgain.HeldAt.Equal(at) || heldAgain.Last().Kind != prescription.EventHeld || heldAgain.Last().By != uuid.Nil {
			t.Fatalf("%s (%d new, %d blocking), %s", heldAgain.Status, fresh, blocking, kinds(heldAgain))
		}
		if s := heldAgain.Standing(); len(s) != 1 || s[0].Kind != medication.KindAllergy || heldAgain.Findings[0].Override == nil {
			t.Fatalf("standing %+v", s)
		}
		if overridden.Status != prescription.StatusActive || len(overridden.Findings) != 1 {
			t.Fatal("the recheck changed the version before it")
		}
	})

	t.Run("a new finding that does not block leaves it active", func(t *testing.T) {
		next, fresh, blocking := overridden.Checked(result(major, allergyFinding(medication.SeverityCaution)), checkContext(),
			prescription.ReasonNewAllergy, at)
		if next.Status != prescription.StatusActive || fresh != 1 || blocking != 0 || next.Last().Kind != prescription.EventRechecked {
			t.Fatalf("%s (%d new, %d blocking)", next.Status, fresh, blocking)
		}
	})

	t.Run("a held prescription whose findings are gone is active", func(t *testing.T) {
		later := at.Add(time.Hour)
		next, fresh, _ := heldAgain.Checked(result(), checkContext(), "recheck", later)
		if next.Status != prescription.StatusActive || fresh != 0 || next.HeldAt != nil || len(next.Findings) != 0 ||
			next.Last().Kind != prescription.EventActivated || !next.ActivatedAt.Equal(activatedAt) || !next.EndsAt.Equal(endsAt) {
			t.Fatalf("%s, held %v, findings %d, activated %v", next.Status, next.HeldAt, len(next.Findings), next.ActivatedAt)
		}
		// The first hold, cleared by its own checks, is activated then.
		first := held(t)
		next, _, _ = first.Checked(result(), checkContext(), "recheck", later)
		if next.Status != prescription.StatusActive || next.ActivatedAt == nil || !next.ActivatedAt.Equal(later) {
			t.Fatalf("first hold cleared: %s, activated %v", next.Status, next.ActivatedAt)
		}
	})

	t.Run("a still-held prescription stays held from the first hold", func(t *testing.T) {
		next, _, _ := heldAgain.Checked(result(major, allergyFinding(medication.SeverityHold), doseFinding(medication.SeverityMajor)),
			checkContext(), "recheck", at.Add(time.Hour))
		if next.Status != prescription.StatusOnHold || !next.HeldAt.Equal(at) || next.Last().Kind != prescription.EventRechecked ||
			len(next.Standing()) != 2 {
			t.Fatalf("%s, held %v, %s", next.Status, next.HeldAt, kinds(next))
		}
	})

	t.Run("a closed prescription is not checked", func(t *testing.T) {
		stopped := must(t)(overridden.Discontinue(prescriber, "course changed", at))
		next, fresh, blocking := stopped.Checked(result(allergyFinding(medication.SeverityHold)), checkContext(), "recheck", at.Add(time.Hour))
		if next.Status != prescription.StatusStopped || next.Version != stopped.Version || fresh != 0 || blocking != 0 {
			t.Fatalf("%s v%d", next.Status, next.Version)
		}
	})
}

func TestVerify(t *testing.T) {
	p := active(t)
	if _, err := p.Verify(uuid.Nil, t0); !errors.Is(err, prescription.ErrInvalidArgument) {
		t.Fatalf("verify by nobody: %v", err)
	}
	at := t0.Add(10 * time.Minute)
	v := must(t)(p.Verify(pharmacist, at))
	if v.VerifiedBy == nil || *v.VerifiedBy != pharmacist || !v.VerifiedAt.Equal(at) || v.Last().By != pharmacist || p.VerifiedBy != nil {
		t.Fatalf("verified %+v", v)
	}
	if _, err := v.Verify(pharmacist, at); !errors.Is(err, prescription.ErrInvalidTransition) {
		t.Fatalf("verified twice: %v", err)
	}
}

func TestDispense(t *testing.T) {
	p := verified(t)
	at := t0.Add(time.Hour)
	first := must(t)(p.Dispense(pharmacist, prescription.Quantity{Value: 10, Unit: " Capsule "}, at))
	if d := first.Dispenses[0]; len(first.Dispenses) != 1 || d.Quantity.Unit != "capsule" || d.By != pharmacist ||
		first.Dispensed() != 10 || first.Last().Note != "10 capsule (10 of 15 dispensed)" {
		t.Fatalf("first fill %+v, note %q", first.Dispenses, first.Last().Note)
	}
	if _, err := first.Dispense(pharmacist, prescription.Quantity{Value: 6, Unit: "capsule"}, at); !errors.Is(err, prescription.ErrInvalidArgument) {
		t.Fatalf("beyond the total: %v", err)
	}
	rest := must(t)(first.Dispense(pharmacist, prescription.Quantity{Value: 5, Unit: "capsule"}, at))
	if rest.Dispensed() != 15 || len(first.Dispenses) != 1 {
		t.Fatalf("dispensed %v", rest.Dispensed())
	}
	if _, err := rest.Dispense(pharmacist, prescription.Quantity{Value: 0.5, Unit: "capsule"}, at); !errors.Is(err, prescription.ErrInvalidArgument) {
		t.Fatalf("after the total: %v", err)
	}

	for _, tc := range []struct {
		name string
		by   uuid.UUID
		q    prescription.Quantity
	}{
		{"nobody", uuid.Nil, prescription.Quantity{Value: 1, Unit: "capsule"}},
		{"zero", pharmacist, prescription.Quantity{Unit: "capsule"}},
		{"negative", pharmacist, prescription.Quantity{Value: -1, Unit: "capsule"}},
		{"NaN", pharmacist, prescription.Quantity{Value: math.NaN(), Unit: "capsule"}},
		{"infinite", pharmacist, prescription.Quantity{Value: math.Inf(1), Unit: "capsule"}},
		{"another unit", pharmacist, prescription.Quantity{Value: 1, Unit: "tablet"}},
	} {
		if _, err := p.Dispense(tc.by, tc.q, at); !errors.Is(err, prescription.ErrInvalidArgument) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	// Without a total any amount goes, in a unit the pharmacist names, up to
	// MaxDispenses fills.
	d := details()
	d.Quantity = prescription.Quantity{}
	open, _, _ := must(t)(prescription.New(d)).Checked(result(), checkContext(), prescription.ReasonOrdered, t0)
	open = must(t)(open.Verify(pharmacist, t0))
	if _, err := open.Dispense(pharmacist, prescription.Quantity{Value: 1}, at); !errors.Is(err, prescription.ErrInvalidArgument) {
		t.Fatalf("fill without a unit: %v", err)
	}
	for i := range prescription.MaxDispenses {
		if open, _ = open.Dispense(pharmacist, prescription.Quantity{Value: 21, Unit: "capsule"}, at); len(open.Dispenses) != i+1 {
			t.Fatalf("fill %d refused", i+1)
		}
	}
	if _, err := open.Dispense(pharmacist, prescription.Quantity{Value: 1, Unit: "capsule"}, at); !errors.Is(err, prescription.ErrInvalidTransition) {
		t.Fatalf("fill %d: %v", prescription.MaxDispenses+1, err)
	}
}

func TestAdminister(t *testing.T) {
	p := verified(t)
	now := t0.Add(2 * time.Hour)
	given := prescription.Administration{Dose: prescription.Quantity{Value: 500, Unit: "MG"}, At: now.Add(-10 * time.Minute), By: nurse}
	next := must(t)(p.Administer(given, now))
	if a := next.Administrations[0]; a.Dose.Unit != "mg" || !next.Given() || next.Last().Note != "given 500 mg" ||
		!next.Last().At.Equal(now) || next.Last().By != nurse {
		t.Fatalf("administered %+v, note %q", next.Administrations, next.Last().Note)
	}

	notGiven := prescription.Administration{NotGiven: true, Reason: " patient vomiting ", At: now, By: nurse,
		Dose: prescription.Quantity{Value: 500, Unit: "mg"}}
	missed := must(t)(p.Administer(notGiven, now))
	if a := missed.Administrations[0]; a.Dose != (prescription.Quantity{}) || a.Reason != "patient vomiting" || missed.Given() ||
		missed.Last().Note != "not given: patient vomiting" {
		t.Fatalf("not given %+v", a)
	}

	bad := []struct {
		name string
		edit func(*prescription.Administration)
	}{
		{"nobody", func(a *prescription.Administration) { a.By = uuid.Nil }},
		{"another unit", func(a *prescription.Administration) { a.Dose.Unit = "g" }},
		{"no dose", func(a *prescription.Administration) { a.Dose.Value = 0 }},
		{"infinite dose", func(a *prescription.Administration) { a.Dose.Value = math.Inf(1) }},
		{"no time", func(a *prescription.Administration) { a.At = time.Time{} }},
		{"in the future", func(a *prescription.Administration) { a.At = now.Add(6 * time.Minute) }},
		{"before it was written", func(a *prescription.Administration) { a.At = t0.Add(-time.Minute) }},
		{"not given without a reason", func(a *prescription.Administration) { a.NotGiven, a.Reason = true, "  " }},
		{"reason too long", func(a *prescription.Administration) {
			a.NotGiven, a.Reason = true, strings.Repeat("x", prescription.MaxReasonLen+1)
		}},
	}
	for _, tc := range bad {
		a := given
		tc.edit(&a)
		if _, err := p.Administer(a, now); !errors.Is(err, prescription.ErrInvalidArgument) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// A clock a little ahead on the ward is tolerated.
	soon := given
	soon.At = now.Add(4 * time.Minute)
	if _, err := p.Administer(soon, now); err != nil {
		t.Errorf("recorded 4 minutes ahead: %v", err)
	}
	if _, err := active(t).Administer(given, now); !errors.Is(err, prescription.ErrInvalidTransition) {
		t.Fatalf("given before verification: %v", err)
	}
}

func TestDiscontinueAndCancelNeedAReason(t *testing.T) {
	p := active(t)
	for _, tc := range []struct {
		name   string
		by     uuid.UUID
		reason string
	}{
		{"nobody", uuid.Nil, "rash"},
		{"no reason", prescriber, " "},
		{"reason too long", prescriber, strings.Repeat("x", prescription.MaxReasonLen+1)},
	} {
		if _, err := p.Discontinue(tc.by, tc.reason, t0); !errors.Is(err, prescription.ErrInvalidArgument) {
			t.Errorf("discontinue, %s: %v", tc.name, err)
		}
		if _, err := p.Cancel(tc.by, tc.reason, t0); !errors.Is(err, prescription.ErrInvalidArgument) {
			t.Errorf("cancel, %s: %v", tc.name, err)
		}
	}
	stopped := must(t)(held(t).Discontinue(prescriber, " rash ", t0.Add(time.Hour)))
	if stopped.Status != prescription.StatusStopped || stopped.HeldAt != nil || stopped.Last().Note != "rash" {
		t.Fatalf("stopped %+v", stopped.Last())
	}
}

func TestCancelOnlyBeforeAnyWasDispensedOrGiven(t *testing.T) {
	p := verified(t)
	at := t0.Add(time.Hour)
	dispensed := must(t)(p.Dispense(pharmacist, prescription.Quantity{Value: 1, Unit: "capsule"}, at))
	given := must(t)(p.Administer(prescription.Administration{Dose: prescription.Quantity{Value: 500, Unit: "mg"}, At: at, By: nurse}, at))
	missed := must(t)(p.Administer(prescription.Administration{NotGiven: true, Reason: "refused", At: at, By: nurse}, at))
	for name, q := range map[string]prescription.Prescription{"dispensed": dispensed, "given": given} {
		if _, err := q.Cancel(prescriber, "wrong drug", at); !errors.Is(err, prescription.ErrInvalidTransition) {
			t.Errorf("cancel once %s: %v", name, err)
		}
		if _, err := q.Discontinue(prescriber, "wrong drug", at); err != nil {
			t.Errorf("discontinue once %s: %v", name, err)
		}
	}
	if c, err := missed.Cancel(prescriber, "wrong drug", at); err != nil || c.Status != prescription.StatusCancelled {
		t.Fatalf("cancel with only a dose not given: %v", err)
	}
}

func TestNextDose(t *testing.T) {
	verifiedAt := t0.Add(10 * time.Minute)
	build := func(t *testing.T, edit func(*prescription.Details)) prescription.Prescription {
		t.Helper()
		d := details()
		edit(&d)
		p, _, _ := must(t)(prescription.New(d)).Checked(result(), checkContext(), prescription.ReasonOrdered, t0)
		return p
	}
	give := func(t *testing.T, p prescription.Prescription, at time.Time, notGiven bool) prescription.Prescription {
		t.Helper()
		a := prescription.Administration{Dose: prescription.Quantity{Value: 500, Unit: "mg"}, At: at, By: nurse}
		if notGiven {
			a = prescription.Administration{NotGiven: true, Reason: "asleep", At: at, By: nurse}
		}
		return must(t)(p.Administer(a, at.Add(time.Hour)))
	}
	due := func(t *testing.T, p prescription.Prescription, want time.Time) {
		t.Helper()
		got, ok := p.NextDose()
		if want.IsZero() {
			if ok {
				t.Fatalf("a dose is due at %v", got)
			}
			return
		}
		if !ok || !got.Equal(want) {
			t.Fatalf("next dose %v (%v), want %v", got, ok, want)
		}
	}

	t.Run("q8h", func(t *testing.T) {
		p := build(t, func(*prescription.Details) {})
		due(t, p, time.Time{}) // not verified yet
		p = must(t)(p.Verify(pharmacist, verifiedAt))
		due(t, p, verifiedAt)
		first := t0.Add(30 * time.Minute)
		p = give(t, p, first, false)
		due(t, p, first.Add(8*time.Hour))
		second := first.Add(9 * time.Hour)
		p = give(t, p, second, true) // not given counts too
		due(t, p, second.Add(8*time.Hour))
		p = give(t, p, first.Add(time.Hour), false) // recorded late, given earlier
		due(t, p, second.Add(8*time.Hour))
		held, _, _ := p.Checked(result(interaction(medication.SeverityMajor, 0)), checkContext(), "recheck", second)
		due(t, held, time.Time{})
		due(t, must(t)(p.Discontinue(prescriber, "done", second)), time.Time{})
	})
	t.Run("doses per day", func(t *testing.T) {
		p := build(t, func(d *prescription.Details) { d.Order.Frequency, d.Order.DosesPerDay = "", 3 })
		p = give(t, must(t)(p.Verify(pharmacist, verifiedAt)), verifiedAt, false)
		due(t, p, verifiedAt.Add(8*time.Hour))
	})
	t.Run("stat", func(t *testing.T) {
		p := must(t)(build(t, func(d *prescription.Details) { d.Order.Frequency = "stat" }).Verify(pharmacist, verifiedAt))
		due(t, p, verifiedAt)
		due(t, give(t, p, verifiedAt, false), time.Time{})
	})
	t.Run("prn", func(t *testing.T) {
		p := must(t)(build(t, func(d *prescription.Details) { d.Order.PRN = true }).Verify(pharmacist, verifiedAt))
		due(t, p, time.Time{})
	})
}

func TestCompleteOnlyAfterItsDuration(t *testing.T) {
	p := verified(t)
	end := *p.EndsAt
	if !end.Equal(t0.Add(time.Minute + 5*24*time.Hour)) {
		t.Fatalf("ends at %v", end)
	}
	if _, err := p.Complete(end.Add(-time.Nanosecond)); !errors.Is(err, prescription.ErrInvalidTransition) {
		t.Fatalf("completed early: %v", err)
	}
	done := must(t)(p.Complete(end))
	if done.Status != prescription.StatusCompleted || done.Last().Kind != prescription.EventCompleted || done.Last().By != uuid.Nil {
		t.Fatalf("completed %+v", done.Last())
	}
	if _, err := done.Complete(end.Add(time.Hour)); !errors.Is(err, prescription.ErrInvalidTransition) {
		t.Fatalf("completed twice: %v", err)
	}
	d := details()
	d.Order.DurationDays = 0
	endless, _, _ := must(t)(prescription.New(d)).Checked(result(), checkContext(), prescription.ReasonOrdered, t0)
	if _, err := endless.Complete(t0.Add(10 * 365 * 24 * time.Hour)); !errors.Is(err, prescription.ErrInvalidTransition) {
		t.Fatalf("open-ended order completed: %v", err)
	}
}

// Checks that could not run keep what earlier checks found, overrides
// included, and hold the order; once they run again the overridden problem
// stays overridden and the order is active again.
func TestChecksFailedKeepOverrides(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	d := prescription.Details{ID: uuid.New(), PatientID: uuid.New(), PrescriberID: uuid.New(), CreatedAt: at,
		Drug:  medication.Resolution{ID: "ibuprofen", Name: "ibuprofen", Ingredients: []string{"ibuprofen"}},
		Order: medication.Order{Name: "ibuprofen", Dose: 400, DoseUnit: "mg", Route: "oral", Frequency: "tds"}}
	p, err := prescription.New(d)
	if err != nil {
		t.Fatal(err)
	}
	major := medication.Finding{Kind: medication.KindInteraction, Severity: medication.SeverityMajor, Drug: "ibuprofen",
		Other: "warfarin", OtherIndex: 0, Rule: "warfarin-nsaid", Version: "v1"}
	other := uuid.New()
	ctx := prescription.Context{Active: []uuid.UUID{other}}
	p, _, _ = p.Checked(medication.Result{Version: "v1", Findings: []medication.Finding{major}}, ctx, prescription.ReasonOrdered, at)
	reasons := map[string]string{p.Findings[0].ID: "short course, INR watched"}
	p, err = p.Override(prescription.OverrideRequest{By: d.PrescriberID, Role: prescription.RolePrescriber, Reasons: reasons}, at)
	if err != nil || p.Status != prescription.StatusActive {
		t.Fatalf("override: %v, %s", err, p.Status)
	}
	failed := medication.Finding{Kind: medication.KindUnavailable, OtherIndex: -1, Rule: "unavailable-checks-failed", Explanation: "no database"}
	held, fresh := p.ChecksFailed(failed, prescription.ReasonNewAllergy, at.Add(time.Minute))
	if !fresh || held.Status != prescription.StatusOnHold || len(held.Findings) != 2 || held.Findings[0].Override == nil {
		t.Fatalf("failed checks: fresh %v, %s, %+v", fresh, held.Status, held.Findings)
	}
	again, fresh := held.ChecksFailed(failed, prescription.ReasonNewAllergy, at.Add(2*time.Minute))
	if fresh || len(again.Findings) != 2 {
		t.Fatalf("failed again: fresh %v, %+v", fresh, again.Findings)
	}
	back, n, _ := again.Checked(medication.Result{Version: "v1", Findings: []medication.Finding{major}}, ctx, prescription.ReasonNewAllergy, at.Add(3*time.Minute))
	if n != 0 || back.Status != prescription.StatusActive || len(back.Findings) != 1 || back.Findings[0].Override == nil {
		t.Fatalf("checks back: %d new, %s, %+v", n, back.Status, back.Findings)
	}
}

func TestCreatedAfter(t *testing.T) {
	earlier := uuid.MustParse("0193bfff-ffff-7fff-bfff-ffffffffffff") // a millisecond before rxID, larger in every later byte
	v4 := uuid.MustParse("ffffffff-ffff-4fff-bfff-ffffffffffff")
	tests := []struct {
		name      string
		id, other uuid.UUID
		want      bool
	}{
		{"later millisecond", rxID, earlier, true},
		{"earlier millisecond", earlier, rxID, false},
		{"same millisecond, later bytes", otherRx, rxID, true},
		{"same millisecond, earlier bytes", rxID, otherRx, false},
		{"itself", rxID, rxID, false},
		{"not version 7", v4, rxID, false},
		{"beside one not version 7", rxID, v4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := prescription.CreatedAfter(tt.id, tt.other); got != tt.want {
				t.Fatalf("CreatedAfter(%s, %s) = %v, want %v", tt.id, tt.other, got, tt.want)
			}
		})
	}
}
