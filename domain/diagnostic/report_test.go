package diagnostic_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

func TestNewReport(t *testing.T) {
	r := newReport(t, request())
	if r.Status != diagnostic.StatusRegistered || r.Version != 1 || r.Specimens == nil || r.Results == nil || !r.UpdatedAt.Equal(t0) {
		t.Fatalf("new report %+v", r)
	}
	if e := r.Last(); kinds(r) != "ordered" || e.Seq != 1 || e.By != orderer || e.Status != diagnostic.StatusRegistered {
		t.Fatalf("timeline %+v", r.Timeline)
	}
	if _, err := diagnostic.New(diagnostic.Request{}, catalogue); fields(err) == nil {
		t.Fatal("an empty request made a report")
	}
	if (diagnostic.Report{}).Last() != (diagnostic.Entry{}) {
		t.Fatal("an empty report has a last entry")
	}
	if diagnostic.Source(reportID) != "diagnostic/"+reportID.String() {
		t.Fatal("source")
	}
}

func TestStatuses(t *testing.T) {
	for _, s := range diagnostic.Statuses {
		closed := s == diagnostic.StatusCancelled || s == diagnostic.StatusEnteredInError
		verified := s == diagnostic.StatusFinal || s == diagnostic.StatusAmended || s == diagnostic.StatusCorrected || s == diagnostic.StatusAppended
		visible := verified || s == diagnostic.StatusPartial || s == diagnostic.StatusPreliminary
		if !s.Valid() || s.Closed() != closed || s.Verified() != verified || s.Visible() != visible {
			t.Errorf("%s: valid %v closed %v verified %v visible %v", s, s.Valid(), s.Closed(), s.Verified(), s.Visible())
		}
	}
	if diagnostic.Status("unknown").Valid() {
		t.Error("unknown is not used")
	}
}

func TestResultsMakeThePreliminaryReport(t *testing.T) {
	r := collectedAndReceived(t, newReport(t, request()))
	results := normalResults(t)
	r = must(t)(r.Record(results[0], t0.Add(time.Hour)))
	if r.Status != diagnostic.StatusPartial || !r.Status.Visible() || r.ResultedAt != nil {
		t.Fatalf("one result: %s", r.Status)
	}
	if done, total := r.Resulted(); done != 1 || total != 8 || len(r.Missing()) != 7 {
		t.Fatalf("resulted %d of %d", done, total)
	}
	na, ok := r.Result(observation.CodeSodium)
	if !ok || na.Text() != "140 mmol/L" || na.ObservationVersion != 1 || !na.RecordedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("sodium %+v", na)
	}
	if _, ok := r.Result(observation.CodePotassium); ok {
		t.Fatal("potassium before it arrived")
	}
	for _, o := range results[1:] {
		r = must(t)(r.Record(o, t0.Add(2*time.Hour)))
	}
	if r.Status != diagnostic.StatusPreliminary || r.ResultedAt == nil || !r.ResultedAt.Equal(t0.Add(2*time.Hour)) || len(r.Missing()) != 0 {
		t.Fatalf("all resulted: %s at %v", r.Status, r.ResultedAt)
	}
	if ts := r.Stages(); ts.Resulted == nil || !ts.Resulted.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("resulted stage %v", ts.Resulted)
	}

	// A repeated delivery, and an older version, change nothing.
	again := must(t)(r.Record(results[0], t0.Add(3*time.Hour)))
	if again.Version != r.Version {
		t.Fatal("a repeated delivery changed the report")
	}
	// A newer version replaces the result.
	k2 := amended(t, results[1], 4.4, "mmol/L")
	r2 := must(t)(r.Record(k2, t0.Add(3*time.Hour)))
	if k, _ := r2.Result(observation.CodePotassium); k.Text() != "4.4 mmol/L" || k.ObservationVersion != 2 || len(r2.Results) != 8 {
		t.Fatalf("newer version: %+v", k)
	}
	if older := must(t)(r2.Record(results[1], t0.Add(4*time.Hour))); older.Version != r2.Version {
		t.Fatal("an older version replaced a newer one")
	}
	// Another observation of the same code replaces the earlier one.
	other := quantity(t, "k-repeat", observation.CodePotassium, 4.0, "mmol/L")
	r3 := must(t)(r2.Record(other, t0.Add(4*time.Hour)))
	if k, _ := r3.Result(observation.CodePotassium); k.ObservationID != other.ID || !strings.Contains(r3.Last().Note, "replacing observation") {
		t.Fatalf("replacement: %+v / %s", k, r3.Last().Note)
	}
	// A withdrawal removes it, and the report waits for it again.
	void, err := observation.Void(other, "wrong patient's sample", observation.Performer{ClientID: "lis"}, t0.Add(5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r4 := must(t)(r3.Record(void, t0.Add(5*time.Hour)))
	if _, ok := r4.Result(observation.CodePotassium); ok || r4.Status != diagnostic.StatusPartial || r4.ResultedAt != nil ||
		r4.Last().Kind != diagnostic.EventResultWithdrawn {
		t.Fatalf("withdrawn: %s, %v", r4.Status, r4.Last())
	}
	if again := must(t)(r4.Record(void, t0.Add(6*time.Hour))); again.Version != r4.Version {
		t.Fatal("withdrawing a result it no longer has changed the report")
	}
	if len(r.Results) != 8 {
		t.Fatal("recording changed the report it was made on")
	}
}

func TestCanRecordRefusals(t *testing.T) {
	r := newReport(t, request())
	notReceived := must(t)(r.Collect(collection("S1", "sst-gold", t0.Add(time.Minute)), t0.Add(time.Minute)))
	ready := collectedAndReceived(t, r)
	na := quantity(t, "na", observation.CodeSodium, 140, "mmol/L")
	otherPatient := na
	otherPatient.PatientID = stranger
	noID := na
	noID.ID = uuid.Nil
	noValue := na
	noValue.Value = nil
	crp := quantity(t, "crp", observation.CodeCRP, 5, "mg/L")
	imaging := newReport(t, request("36643-5"))
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"imaging report", imaging.CanRecord(na), diagnostic.ErrInvalidTransition},
		{"final", final(t).CanRecord(na), diagnostic.ErrInvalidTransition},
		{"cancelled", must(t)(ready.Cancel(orderer, "duplicate order", t0.Add(time.Hour))).CanRecord(na), diagnostic.ErrInvalidTransition},
		{"no id", ready.CanRecord(noID), diagnostic.ErrInvalidArgument},
		{"another patient", ready.CanRecord(otherPatient), diagnostic.ErrInvalidArgument},
		{"not ordered", ready.CanRecord(crp), diagnostic.ErrInvalidArgument},
		{"no value", ready.CanRecord(noValue), diagnostic.ErrInvalidArgument},
		{"tube not received", notReceived.CanRecord(na), diagnostic.ErrInvalidTransition},
		{"no tube", r.CanRecord(na), diagnostic.ErrInvalidTransition},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := ready.Record(crp, t0); err == nil {
		t.Error("Record accepted what CanRecord refuses")
	}
}

// flagged is the default order whose potassium fell from 6.5 to 4.2
// mmol/L within a day: an implausible change to review.
func flagged(t *testing.T) (diagnostic.Report, string) {
	t.Helper()
	r := collectedAndReceived(t, newReport(t, request()))
	for _, o := range normalResults(t) {
		if o.Code == observation.CodePotassium {
			o = o.WithDelta([]observation.Result{{ID: obsID("k-yesterday"), Code: o.Code, Value: 6.5, Time: o.EffectiveAt.Add(-12 * time.Hour)}})
			if len(o.DeltaFlags) == 0 {
				t.Fatal("no delta flag")
			}
		}
		r = must(t)(r.Record(o, t0.Add(time.Hour)))
	}
	return r, r.Flags[0].ID
}

func TestDeltaFlagsAreReviewedBeforeVerification(t *testing.T) {
	r, id := flagged(t)
	if len(r.Unreviewed()) != 1 || r.Flags[0].Code != observation.CodePotassium || r.Flags[0].Delta.Code != observation.DeltaImplausible {
		t.Fatalf("flags %+v", r.Flags)
	}
	_, err := r.Verify(verification(), time.Hour)
	if !errors.Is(err, diagnostic.ErrUnreviewedFlags) || !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("verify with a flag unreviewed: %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"nobody", r.CanReviewFlag(id, uuid.Nil, "ok"), diagnostic.ErrInvalidArgument},
		{"unknown flag", r.CanReviewFlag("nope", scientist, "ok"), diagnostic.ErrInvalidArgument},
		{"no note", r.CanReviewFlag(id, scientist, "  "), diagnostic.ErrInvalidArgument},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	reviewed := must(t)(r.ReviewFlag(id, scientist, " potassium treated overnight; fall expected ", t0.Add(70*time.Minute)))
	f := reviewed.Flags[0]
	if f.Review == nil || f.Review.By != scientist || f.Review.Note != "potassium treated overnight; fall expected" || len(reviewed.Unreviewed()) != 0 {
		t.Fatalf("review %+v", f.Review)
	}
	if r.Flags[0].Review != nil {
		t.Fatal("the review changed the report it was made on")
	}
	if _, err := reviewed.ReviewFlag(id, scientist, "again", t0.Add(71*time.Minute)); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("reviewed twice: %v", err)
	}
	done := must(t)(reviewed.Verify(verification(), time.Hour))
	if done.Status != diagnostic.StatusFinal {
		t.Fatal("not verified after the review")
	}
	if err := done.CanReviewFlag(id, scientist, "late"); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("review after verification: %v", err)
	}
	// A new version of the flagged result is reviewed again.
	k, _ := reviewed.Result(observation.CodePotassium)
	var o observation.Observation
	for _, x := range normalResults(t) {
		if x.ID == k.ObservationID {
			o = x
		}
	}
	next := amended(t, o, 4.3, "mmol/L").WithDelta([]observation.Result{{ID: obsID("k-yesterday"), Code: o.Code, Value: 6.5, Time: o.EffectiveAt.Add(-12 * time.Hour)}})
	again := must(t)(reviewed.Record(next, t0.Add(80*time.Minute)))
	if len(again.Unreviewed()) != 1 {
		t.Fatalf("a new version's flags: %+v", again.Flags)
	}
}

func TestVerify(t *testing.T) {
	r := resulted(t)
	v := verification()
	v.Conclusion = "  within limits  "
	v.Codes = []diagnostic.Coding{{Code: "17621005", Display: "Normal"}}
	done := must(t)(r.Verify(v, 4*time.Hour))
	if done.Status != diagnostic.StatusFinal || done.Verification.By != scientist || done.Conclusion != "within limits" ||
		done.Codes[0].System != diagnostic.SystemSNOMED || len(done.Versions) != 1 {
		t.Fatalf("verified %+v", done)
	}
	ver, ok := done.Latest()
	if !ok || ver.Number != 1 || ver.Status != diagnostic.StatusFinal || len(ver.Content.Results) != 8 || ver.Content.Conclusion != "within limits" {
		t.Fatalf("version 1 %+v", ver)
	}
	if due, ok := done.ReleaseDue(); !ok || !due.Equal(v.At.Add(4*time.Hour)) || done.Release.Held {
		t.Fatalf("release due %v %v", due, ok)
	}
	if ts := done.Stages(); ts.Verified == nil || !ts.Verified.Equal(v.At) {
		t.Fatal("verified stage")
	}
	if _, ok := r.Latest(); ok {
		t.Fatal("a version before verification")
	}

	bad := func(edit func(*diagnostic.Verification)) diagnostic.Verification {
		v := verification()
		edit(&v)
		return v
	}
	cases := []struct {
		name string
		r    diagnostic.Report
		v    diagnostic.Verification
		want error
	}{
		{"nobody", r, bad(func(v *diagnostic.Verification) { v.By = uuid.Nil }), diagnostic.ErrInvalidArgument},
		{"partial", must(t)(collectedAndReceived(t, newReport(t, request())).Record(normalResults(t)[0], t0)), verification(), diagnostic.ErrInvalidTransition},
		{"registered", newReport(t, request()), verification(), diagnostic.ErrInvalidTransition},
		{"already final", done, verification(), diagnostic.ErrInvalidTransition},
		{"radiologist on a laboratory report", r, bad(func(v *diagnostic.Verification) { v.Role = diagnostic.RoleRadiologist }), diagnostic.ErrInvalidArgument},
		{"no role", r, bad(func(v *diagnostic.Verification) { v.Role = "" }), diagnostic.ErrInvalidArgument},
		{"before the order", r, bad(func(v *diagnostic.Verification) { v.At = t0.Add(-time.Hour) }), diagnostic.ErrInvalidArgument},
		{"before the last result", r, bad(func(v *diagnostic.Verification) { v.At = t0.Add(59 * time.Minute) }), diagnostic.ErrInvalidArgument},
		{"long conclusion", r, bad(func(v *diagnostic.Verification) { v.Conclusion = strings.Repeat("x", diagnostic.MaxConclusionLen+1) }), diagnostic.ErrInvalidArgument},
		{"not a SNOMED CT id", r, bad(func(v *diagnostic.Verification) { v.Codes = []diagnostic.Coding{{Code: "17621006"}} }), diagnostic.ErrInvalidArgument},
		{"another system", r, bad(func(v *diagnostic.Verification) {
			v.Codes = []diagnostic.Coding{{System: "http://hl7.org/fhir/sid/icd-10", Code: "N17.9"}}
		}), diagnostic.ErrInvalidArgument},
		{"code twice", r, bad(func(v *diagnostic.Verification) {
			v.Codes = []diagnostic.Coding{{Code: "17621005"}, {Code: "17621005"}}
		}), diagnostic.ErrInvalidArgument},
		{"too many codes", r, bad(func(v *diagnostic.Verification) {
			v.Codes = slices.Repeat([]diagnostic.Coding{{Code: "17621005"}}, diagnostic.MaxConclusionCodes+1)
		}), diagnostic.ErrInvalidArgument},
		{"long display", r, bad(func(v *diagnostic.Verification) {
			v.Codes = []diagnostic.Coding{{Code: "17621005", Display: strings.Repeat("x", diagnostic.MaxNoteLen+1)}}
		}), diagnostic.ErrInvalidArgument},
	}
	for _, tc := range cases {
		if _, err := tc.r.Verify(tc.v, time.Hour); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := r.Verify(verification(), -time.Second); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Errorf("negative delay: %v", err)
	}
	partial := must(t)(collectedAndReceived(t, newReport(t, request())).Record(normalResults(t)[0], t0))
	if err := partial.CanVerify(verification()); !strings.Contains(err.Error(), "2823-3") {
		t.Errorf("the refusal does not name what is missing: %v", err)
	}
	pathologist := bad(func(v *diagnostic.Verification) { v.Role = diagnostic.RolePathologist })
	if _, err := r.Verify(pathologist, 0); err != nil {
		t.Errorf("a pathologist verifies: %v", err)
	}
}

func TestSensitiveReportIsHeld(t *testing.T) {
	// HIV results are not in the observation catalogue yet, so the held
	// release is shown on a renal panel ordered with the genetic test's
	// sensitivity: the order's Sensitive decides.
	r := resulted(t)
	r.Order.Items[0].Sensitive = true
	done := must(t)(r.Verify(verification(), time.Hour))
	if !done.Release.Held || done.Release.Due != nil {
		t.Fatalf("release %+v", done.Release)
	}
	if _, ok := done.ReleaseDue(); ok {
		t.Fatal("a held report has a release time")
	}
	if _, err := done.ReleaseWhenDue(t0.Add(48 * time.Hour)); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("a held report released itself: %v", err)
	}
	if _, err := done.Open(patient, diagnostic.ReaderPatient, t0.Add(3*time.Hour)); !errors.Is(err, diagnostic.ErrNotReleased) {
		t.Fatalf("the patient opened a held report: %v", err)
	}
	rel := must(t)(done.ReleaseNow(clinician, t0.Add(5*time.Hour)))
	if !rel.Released() || rel.Release.By != clinician || !strings.Contains(rel.Last().Note, "held") {
		t.Fatalf("released %+v", rel.Release)
	}
	if _, err := rel.ReleaseNow(clinician, t0.Add(6*time.Hour)); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("released twice: %v", err)
	}
	opened := must(t)(rel.Open(patient, diagnostic.ReaderPatient, t0.Add(6*time.Hour)))
	if len(opened.OpenedBy(1)) != 1 || opened.Stages().Read != nil {
		t.Fatal("the patient's opening is recorded but is not the read stage")
	}
}

func TestReleaseWhenDue(t *testing.T) {
	f := final(t)
	due, _ := f.ReleaseDue()
	if _, err := f.ReleaseWhenDue(due.Add(-time.Second)); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("released early: %v", err)
	}
	rel := must(t)(f.ReleaseWhenDue(due))
	if !rel.Released() || rel.Release.By != uuid.Nil || rel.Last().Kind != diagnostic.EventReleased {
		t.Fatalf("release %+v", rel.Release)
	}
	if _, ok := rel.ReleaseDue(); ok {
		t.Fatal("a released report is still due")
	}
	early := must(t)(f.ReleaseNow(clinician, due.Add(-time.Hour)))
	if !early.Released() {
		t.Fatal("a clinician's early release")
	}
	if err := resulted(t).CanReleaseNow(clinician); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("an unverified report released: %v", err)
	}
	if err := f.CanReleaseNow(uuid.Nil); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("released by nobody: %v", err)
	}
	withdrawn := must(t)(rel.Withdraw(scientist, "wrong patient", due.Add(time.Hour)))
	if withdrawn.Released() {
		t.Fatal("the patient still sees a withdrawn report")
	}
}

func TestNotifyAndOpen(t *testing.T) {
	r := collectedAndReceived(t, newReport(t, request()))
	if _, err := r.Open(clinician, diagnostic.ReaderClinician, t0.Add(time.Hour)); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("opened with nothing to show: %v", err)
	}
	partial := must(t)(r.Record(normalResults(t)[0], t0.Add(time.Hour)))
	prelim := must(t)(partial.Open(clinician, diagnostic.ReaderClinician, t0.Add(65*time.Minute)))
	if o := prelim.Openings[0]; o.Version != 0 || o.Who != clinician || prelim.Stages().Read != nil {
		t.Fatalf("preliminary opening %+v", o)
	}
	f := final(t)
	sent := must(t)(f.Notify(diagnostic.Recipient{Who: orderer, Role: diagnostic.ReaderClinician, Channel: " inapp ", At: t0.Add(91 * time.Minute)}))
	if rc := sent.Recipients[0]; rc.Version != 1 || rc.Channel != "inapp" || sent.Last().Kind != diagnostic.EventNotified {
		t.Fatalf("recipient %+v", rc)
	}
	read := must(t)(sent.Open(orderer, diagnostic.ReaderClinician, t0.Add(100*time.Minute)))
	read = must(t)(read.Open(clinician, diagnostic.ReaderClinician, t0.Add(110*time.Minute)))
	if ts := read.Stages(); ts.Read == nil || !ts.Read.Equal(t0.Add(100*time.Minute)) {
		t.Fatalf("read stage %v, want the first clinician opening", ts.Read)
	}
	if got := read.OpenedBy(1); len(got) != 2 || got[0].Who != orderer || got[1].Who != clinician {
		t.Fatalf("opened version 1: %+v", got)
	}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"patient before release", f.CanNotify(diagnostic.Recipient{Who: patient, Role: diagnostic.ReaderPatient, Channel: "sms", At: t0}), diagnostic.ErrNotReleased},
		{"nobody", f.CanNotify(diagnostic.Recipient{Role: diagnostic.ReaderClinician, Channel: "sms"}), diagnostic.ErrInvalidArgument},
		{"unknown role", f.CanNotify(diagnostic.Recipient{Who: orderer, Role: "relative", Channel: "sms"}), diagnostic.ErrInvalidArgument},
		{"no channel", f.CanNotify(diagnostic.Recipient{Who: orderer, Role: diagnostic.ReaderClinician, At: t0}), diagnostic.ErrInvalidArgument},
		{"no time", f.CanNotify(diagnostic.Recipient{Who: orderer, Role: diagnostic.ReaderClinician, Channel: "sms"}), diagnostic.ErrInvalidArgument},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := f.Notify(diagnostic.Recipient{Who: orderer, Role: diagnostic.ReaderClinician}); err == nil {
		t.Error("Notify accepted what CanNotify refuses")
	}
	// The report stops recording openings past the limit, without refusing.
	many := f
	for i := 0; i < diagnostic.MaxOpenings; i++ {
		many.Openings = append(many.Openings, diagnostic.Opening{Who: clinician, Role: diagnostic.ReaderClinician, Version: 1})
	}
	if again := must(t)(many.Open(clinician, diagnostic.ReaderClinician, t0.Add(5*time.Hour))); len(again.Openings) != diagnostic.MaxOpenings {
		t.Fatal("an opening past the limit was recorded")
	}
	for i := 0; i < diagnostic.MaxRecipients; i++ {
		many.Recipients = append(many.Recipients, diagnostic.Recipient{Who: clinician})
	}
	if err := many.CanNotify(diagnostic.Recipient{Who: orderer, Role: diagnostic.ReaderClinician, Channel: "sms", At: t0}); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("recipient past the limit: %v", err)
	}
	if diagnostic.Reader("relative").Valid() {
		t.Fatal("relative is not a reader")
	}
}

func TestCancelAndWithdraw(t *testing.T) {
	r := resulted(t)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"cancel by nobody", r.CanCancel(uuid.Nil, "duplicate"), diagnostic.ErrInvalidArgument},
		{"cancel without reason", r.CanCancel(orderer, " "), diagnostic.ErrInvalidArgument},
		{"cancel a long reason", r.CanCancel(orderer, strings.Repeat("x", diagnostic.MaxReasonLen+1)), diagnostic.ErrInvalidArgument},
		{"cancel a final report", final(t).CanCancel(orderer, "duplicate"), diagnostic.ErrInvalidTransition},
		{"withdraw by nobody", r.CanWithdraw(uuid.Nil, "wrong patient"), diagnostic.ErrInvalidArgument},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	c := must(t)(r.Cancel(orderer, " duplicate order ", t0.Add(2*time.Hour)))
	if c.Status != diagnostic.StatusCancelled || c.Last().Note != "duplicate order" || len(c.Versions) != 0 {
		t.Fatalf("cancelled %+v", c.Last())
	}
	if _, err := c.Cancel(orderer, "again", t0); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Errorf("cancelled twice: %v", err)
	}
	if _, err := c.Withdraw(orderer, "again", t0); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Errorf("withdrew a cancelled report: %v", err)
	}
	if len(c.Awaiting()) != 0 {
		t.Error("a cancelled order awaits tubes")
	}
	// Before verification, a withdrawal makes no version.
	if w := must(t)(r.Withdraw(orderer, "ordered on the wrong patient", t0.Add(2*time.Hour))); w.Status != diagnostic.StatusEnteredInError || len(w.Versions) != 0 {
		t.Fatalf("withdrawn before verification %+v", w)
	}
	// After, every version is kept and one more says it was withdrawn.
	f := final(t)
	w := must(t)(f.Withdraw(scientist, "sample from another patient", t0.Add(5*time.Hour)))
	last, _ := w.Latest()
	if w.Status != diagnostic.StatusEnteredInError || len(w.Versions) != 2 || last.Status != diagnostic.StatusEnteredInError ||
		last.Reason != "sample from another patient" || len(last.Content.Results) != 8 ||
		!slices.Equal(last.Changes, []diagnostic.Change{{Field: diagnostic.FieldStatus, Previous: "final", New: "entered-in-error"}}) {
		t.Fatalf("withdrawn %+v", last)
	}
	if _, err := w.Open(clinician, diagnostic.ReaderClinician, t0.Add(6*time.Hour)); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("a withdrawn report opened: %v", err)
	}
	if next, breaches := w.Overdue(t0.Add(100 * time.Hour)); len(breaches) != 0 || next.Version != w.Version {
		t.Fatal("a withdrawn report is overdue")
	}
	if _, ok := w.NextDeadline(t0); ok {
		t.Fatal("a withdrawn report has a deadline")
	}
	full := f
	full.Versions = slices.Repeat(f.Versions, diagnostic.MaxVersions)
	if err := full.CanWithdraw(scientist, "x"); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("withdrawal past the version limit: %v", err)
	}
}

func TestTimelineOfALaboratoryReport(t *testing.T) {
	f := final(t)
	want := "ordered specimen-collected specimen-received specimen-collected specimen-received " +
		strings.TrimSpace(strings.Repeat("result-recorded ", 8)) + " verified"
	if kinds(f) != want {
		t.Fatalf("timeline %s", kinds(f))
	}
	for i, e := range f.Timeline {
		if e.Seq != i+1 {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	if f.Version != len(f.Timeline) || !f.UpdatedAt.Equal(f.Last().At) || f.Last().Status != diagnostic.StatusFinal {
		t.Fatalf("version %d of %d entries", f.Version, len(f.Timeline))
	}
}

func TestValidationErrorsAreDomainErrors(t *testing.T) {
	_, err := diagnostic.NewOrder(diagnostic.Request{}, catalogue)
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) != 5 {
		t.Fatalf("err = %v", err)
	}
}

func TestReportSurvivesJSON(t *testing.T) {
	// The workflow's state is its query result and continue-as-new payload:
	// a report must come back from JSON as it was.
	r, k := critical(t)
	r = must(t)(r.Attempt(k, diagnostic.Attempt{To: clinician, By: caller, At: t0.Add(65 * time.Minute), Reached: true}))
	r = must(t)(r.Confirm(k, diagnostic.ReadBack{Receiver: clinician, Entered: "6.8", At: t0.Add(66 * time.Minute)}, caller))
	for _, o := range normalResults(t) {
		if o.Code != observation.CodePotassium {
			r = must(t)(r.Record(o, t0.Add(time.Hour)))
		}
	}
	r = must(t)(r.Verify(verification(), time.Hour))
	r = must(t)(r.Amend(diagnostic.Amendment{By: scientist, Reason: "comment", Addendum: "Potassium telephoned to the ward."}, t0.Add(2*time.Hour)))
	r = must(t)(r.Open(clinician, diagnostic.ReaderClinician, t0.Add(3*time.Hour)))
	r, _ = r.Overdue(t0.Add(48 * time.Hour))
	img := newReport(t, imagingRequest("24725-4"))
	img = must(t)(img.LinkStudy(study("24725-4", diagnostic.StudyAvailable, "CT", 120, 4), t0.Add(30*time.Minute)))
	img = must(t)(img.Verify(diagnostic.Verification{By: radiol, Role: diagnostic.RoleRadiologist, At: t0.Add(50 * time.Minute),
		Conclusion: "No acute abnormality.", Codes: []diagnostic.Coding{{Code: "17621005", Display: "Normal"}}}, 0))
	img = must(t)(img.ReleaseWhenDue(t0.Add(50 * time.Minute)))
	for _, r := range []diagnostic.Report{r, img} {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back diagnostic.Report
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, r) {
			again, _ := json.Marshal(back)
			t.Fatalf("the report changed through JSON:\n%s\n%s", data, again)
		}
	}
}
