package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/domain/procedure"
	alertworkflow "github.com/zarish-sphere/zarish/workflows/alert"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// inpatient is one patient's stay, driven by one goroutine.
type inpatient struct {
	h      *hospital
	w      *loadWorker
	rng    *rand.Rand
	n      int64 // the patient's number in the day, for accession ids
	stay   int   // rounds until discharge
	census bool  // on the ward before the day started

	high      int  // the round whose vitals score NEWS2 ≥ 7; 0 for none
	warfarin  bool // on warfarin, and prescribed ibuprofen beside it
	critical  bool // the potassium comes back critical
	procedure bool // booked for a colonoscopy after discharge

	id, enc    string
	order      string // the potassium's diagnostic order
	container  string
	warfarinID uuid.UUID
	meds       []givenDrug // verified, to give and to stop at discharge
	orders     int         // orders placed on the encounter
}

// givenDrug is a prescription of the stay and the dose it gives.
type givenDrug struct {
	id   string
	dose float64
}

func (h *hospital) newInpatient(stay int) *inpatient {
	n := h.seq.Add(1)
	rng := rand.New(rand.NewPCG(uint64(n), 18))
	p := &inpatient{h: h, w: h.worker(), rng: rng, n: n, stay: stay,
		warfarin: rng.IntN(4) == 0, critical: rng.IntN(5) == 0, procedure: rng.IntN(4) == 0}
	if rng.IntN(4) == 0 {
		// Not in the round before discharge, so the next round's set
		// resolves the alert while the patient is on the ward.
		p.high = 1 + rng.IntN(stay-2)
	}
	return p
}

// admit registers, admits, weighs and prescribes for the patient and sends
// for a potassium. It reports whether every step was answered as expected.
func (p *inpatient) admit() bool {
	h, w := p.h, p.w
	given, family := loadGivenNames[p.rng.IntN(len(loadGivenNames))], loadFamilyNames[p.rng.IntN(len(loadFamilyNames))]
	var pt patientJSON
	if !w.doWith(h.clerk, "registration", http.MethodPost, "/v1/patients", map[string]any{
		"name":      map[string]any{"given": []string{given}, "family": family},
		"birthDate": time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, p.rng.IntN(25000)).Format(time.DateOnly),
		"sex":       []string{"female", "male"}[p.rng.IntN(2)],
		"telecom":   []map[string]any{{"system": "phone", "value": fmt.Sprintf("+8801%09d", p.n)}},
		"address":   []map[string]any{{"city": "Cox's Bazar", "country": "BD"}},
	}, http.StatusCreated, &pt) {
		return false
	}
	p.id = pt.ID
	var enc struct {
		ID string `json:"id"`
	}
	if !w.doWith(h.clerk, "encounter create", http.MethodPost, "/v1/clinical/encounters", map[string]any{
		"patientId": p.id, "class": "inpatient", "reason": "community-acquired pneumonia", "location": "ward-3"}, http.StatusCreated, &enc) {
		return false
	}
	p.enc = enc.ID
	path := "/v1/clinical/encounters/" + p.enc
	for _, s := range []struct {
		op, step string
		body     map[string]any
	}{
		{"encounter arrive", "/arrive", map[string]any{}},
		{"encounter triage", "/triage", map[string]any{"acuity": 3, "chiefComplaint": "fever and cough"}},
		{"encounter start", "/start", map[string]any{"attending": h.doctorID}},
	} {
		if !w.doWith(h.doctor, s.op, http.MethodPost, path+s.step, s.body, http.StatusOK, nil) {
			return false
		}
	}
	// Her weight, for the dose checks.
	if !w.doWith(h.nurse, "weight", http.MethodPost, "/v1/observations", map[string]any{
		"patientId": p.id, "encounterId": p.enc, "code": "29463-7", "value": map[string]any{"value": 55 + p.rng.IntN(35), "unit": "kg"},
		"effectiveAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)}, http.StatusCreated, nil) {
		return false
	}
	// The emergency department's creatinine, for the renal dose checks.
	if !w.doWith(h.scientist, "admission creatinine", http.MethodPost, "/v1/observations", map[string]any{
		"patientId": p.id, "code": "2160-0", "value": map[string]any{"value": 0.7 + float64(p.rng.IntN(5))/10, "unit": "mg/dL"},
		"effectiveAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)}, http.StatusCreated, nil) {
		return false
	}
	if !p.prescribe() {
		return false
	}
	var placed reportJSON
	if !w.doWith(h.doctor, "lab order", http.MethodPost, "/v1/diagnostics/orders", map[string]any{
		"patientId": p.id, "encounterId": p.enc, "tests": []string{"2823-3"}}, http.StatusCreated, &placed) {
		return false
	}
	if len(placed.Awaiting) != 1 {
		w.wrong("lab order", fmt.Sprintf("order %s awaits %v, want one tube", placed.Order.ID, placed.Awaiting))
		return false
	}
	p.order, p.container = placed.Order.ID, placed.Awaiting[0]
	p.orders++
	return true
}

// prescribe writes the admission's prescription, checked as it is placed
// and verified by the pharmacist: paracetamol, or warfarin for a patient
// on it at home.
func (p *inpatient) prescribe() bool {
	if !p.warfarin {
		_, ok := p.place(map[string]any{"medication": map[string]any{"name": "paracetamol"}, "dose": map[string]any{"value": 1000, "unit": "mg"},
			"frequency": "q6h", "indication": "fever"}, 1000, prescription.StatusActive)
		return ok
	}
	rx, ok := p.place(map[string]any{"medication": map[string]any{"name": "warfarin"}, "dose": map[string]any{"value": 5, "unit": "mg"},
		"frequency": "daily", "indication": "atrial fibrillation"}, 5, prescription.StatusActive)
	p.warfarinID = rx.Details.ID
	return ok
}

// prescribeNSAID prescribes ibuprofen for the pleuritic pain of a patient
// on warfarin: the interaction check holds it (NSAIDs with warfarin, a
// major interaction: BNF, Stockley's), the physician overrides the finding
// with a reason, and the pharmacist verifies it.
func (p *inpatient) prescribeNSAID() bool {
	h, w := p.h, p.w
	ibuprofen, ok := p.place(map[string]any{"medication": map[string]any{"name": "ibuprofen"}, "dose": map[string]any{"value": 400, "unit": "mg"},
		"frequency": "tds", "durationDays": 5, "quantity": map[string]any{"value": 15, "unit": "tablet"}}, 400, prescription.StatusOnHold)
	if !ok {
		return false
	}
	reasons := map[string]string{}
	interaction := false
	for _, f := range ibuprofen.Findings {
		if f.Standing() {
			reasons[f.ID] = "short course for pleuritic pain; INR checked in 3 days"
		}
		interaction = interaction || f.Kind == "interaction" && f.Blocking && f.OtherPrescriptionID != nil && *f.OtherPrescriptionID == p.warfarinID
	}
	if !interaction {
		w.wrong("prescription place", fmt.Sprintf("ibuprofen beside warfarin held without the interaction: %+v", ibuprofen.Findings))
		return false
	}
	id := ibuprofen.Details.ID.String()
	var overridden prescriptionJSON
	if !w.doWith(h.doctor, "prescription override", http.MethodPost, "/v1/medications/prescriptions/"+id+"/override",
		map[string]any{"reasons": reasons}, http.StatusOK, &overridden) {
		return false
	}
	if overridden.Status != prescription.StatusActive {
		w.wrong("prescription override", "the override left the ibuprofen "+string(overridden.Status))
		return false
	}
	return p.verify(id, 400)
}

// place prescribes body for the patient's stay; the checks must leave it
// want. An active prescription is verified and given at dose.
func (p *inpatient) place(body map[string]any, dose float64, want prescription.Status) (prescriptionJSON, bool) {
	h, w := p.h, p.w
	body["patientId"], body["encounterId"], body["route"] = p.id, p.enc, "oral"
	var rx prescriptionJSON
	if !w.doWith(h.doctor, "prescription place", http.MethodPost, "/v1/medications/prescriptions", body, http.StatusCreated, &rx) {
		return rx, false
	}
	if rx.Status != want {
		w.wrong("prescription place", fmt.Sprintf("%v answered %s, want %s: findings %+v", body["medication"], rx.Status, want, rx.Findings))
		return rx, false
	}
	p.orders++
	if want != prescription.StatusActive {
		return rx, true
	}
	return rx, p.verify(rx.Details.ID.String(), dose)
}

// verify has the pharmacist verify prescription id, given at dose.
func (p *inpatient) verify(id string, dose float64) bool {
	if !p.w.doWith(p.h.pharmacist, "prescription verify", http.MethodPost, "/v1/medications/prescriptions/"+id+"/verify", map[string]any{}, http.StatusOK, nil) {
		return false
	}
	p.meds = append(p.meds, givenDrug{id, dose})
	return true
}

// rounds does the stay's rounds, the first at first and one every round
// after, and discharges the patient at the last; it returns when the day
// ends or a step goes wrong.
func (p *inpatient) rounds(first time.Time, stop <-chan struct{}) {
	for k := 1; k <= p.stay; k++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Until(first.Add(time.Duration(k-1) * p.h.cfg.round))):
		}
		if k == p.stay {
			p.discharge()
			return
		}
		if !p.round(k) {
			return
		}
	}
}

// round is the nurse's k-th round at the bedside, and what else the stay
// has due then.
func (p *inpatient) round(k int) bool {
	h, w := p.h, p.w
	high := k == p.high
	var page <-chan string
	if high {
		var done func()
		page, done = h.nursePager.await(p.id)
		defer done()
	}
	recorded := time.Now()
	if !w.doWith(h.nurse, "vitals", http.MethodPost, "/v1/observations/batch", map[string]any{"items": p.vitals(high)}, http.StatusCreated, nil) {
		return false
	}
	if high && !p.acknowledge(page, recorded) {
		return false
	}
	switch {
	case p.census:
	case k == 1:
		return p.firstRound()
	case k == 2:
		if !p.result() {
			return false
		}
		if p.procedure {
			return p.book()
		}
	}
	return true
}

// firstRound is the work of the stay's first round: the first doses given,
// the nurse's note, the potassium's tube collected and received.
func (p *inpatient) firstRound() bool {
	h, w := p.h, p.w
	// The night's pain, for a patient on warfarin admitted today; the
	// census's patients were prescribed for before the day.
	if p.warfarin && !p.census && !p.prescribeNSAID() {
		return false
	}
	for _, m := range p.meds {
		if !w.doWith(h.nurse, "dose given", http.MethodPost, "/v1/medications/prescriptions/"+m.id+"/administer",
			map[string]any{"dose": map[string]any{"value": m.dose, "unit": "mg"}}, http.StatusOK, nil) {
			return false
		}
	}
	if !w.doWith(h.nurse, "note create", http.MethodPost, "/v1/clinical/encounters/"+p.enc+"/notes", map[string]any{
		"type": "progress", "patientId": p.id, "text": "Settled on the ward; observations recorded; first doses given."}, http.StatusCreated, nil) {
		return false
	}
	accession := fmt.Sprintf("HD-%d", p.n)
	path := "/v1/diagnostics/orders/" + p.order + "/specimens"
	return w.doWith(h.scientist, "specimen collect", http.MethodPost, path, map[string]any{"container": p.container, "accessionId": accession}, http.StatusOK, nil) &&
		w.doWith(h.scientist, "specimen receive", http.MethodPost, path+"/"+accession+"/receive", map[string]any{}, http.StatusOK, nil)
}

// vitals is a round's seven NEWS2 readings (RCP NEWS2 2017, Chart 1), a
// second apart and ending a second ago: all scoring 0, or — a patient
// deteriorating — RR 25 (3), SpO2 91 % (3), on air (0), systolic 100 (2),
// pulse 115 (2), alert (0), 38.5 °C (1): NEWS2 11, high.
func (p *inpatient) vitals(high bool) []map[string]any {
	rr, spo2, sys, pulse, temp := 16.0, 97.0, 125.0, 80.0, 37.0
	if high {
		rr, spo2, sys, pulse, temp = 25, 91, 100, 115, 38.5
	}
	end := time.Now().Add(-time.Second)
	item := func(i int, code string, value map[string]any) map[string]any {
		return map[string]any{"patientId": p.id, "encounterId": p.enc, "code": code, "value": value,
			"effectiveAt": end.Add(time.Duration(i-6) * 100 * time.Millisecond).UTC().Format(time.RFC3339Nano)}
	}
	q := func(v float64, unit string) map[string]any { return map[string]any{"value": v, "unit": unit} }
	return []map[string]any{
		item(0, "9279-1", q(rr, "/min")), item(1, "59408-5", q(spo2, "%")), item(2, "3150-0", q(21, "%")),
		item(3, "8480-6", q(sys, "mm[Hg]")), item(4, "8867-4", q(pulse, "/min")),
		item(5, "67775-7", map[string]any{"code": "A"}), item(6, "8310-5", q(temp, "Cel")),
	}
}

// pageWithin is how long a page may take before the day counts it lost.
const pageWithin = time.Minute

// acknowledge waits for the NEWS2 alert's page on the ward nurse's stream,
// has her open it and acknowledge it: she is its first level's recipient
// (the critical-default policy: the patient's nurses, then the charge
// nurse). Pages of the patient's other alerts are opened and passed over.
func (p *inpatient) acknowledge(page <-chan string, recorded time.Time) bool {
	h, w := p.h, p.w
	deadline := time.After(pageWithin)
	for {
		var id string
		select {
		case id = <-page:
		case <-deadline:
			w.wrong("page: NEWS2 ≥ 7", fmt.Sprintf("no news2-high page for patient %s within %s", p.id, pageWithin))
			return false
		}
		at := time.Since(recorded)
		var a alert.Record
		if !w.doWith(h.nurse, "alert read", http.MethodGet, "/v1/notifications/alerts/"+id, nil, http.StatusOK, &a) {
			return false
		}
		if a.Category != alertworkflow.CategoryNEWS2High {
			continue
		}
		w.record("page: NEWS2 ≥ 7", at)
		return w.doWith(h.nurse, "alert acknowledge", http.MethodPost, "/v1/notifications/alerts/"+id+"/acknowledge", map[string]any{}, http.StatusOK, nil)
	}
}

// result records the potassium. A critical one pages its orderer (the
// critical-result alert); the scientist telephones him and confirms his
// read-back (the callback workflow), then the pathologist verifies.
func (p *inpatient) result() bool {
	h, w := p.h, p.w
	potassium, value := 4.1, ""
	var page <-chan string
	if p.critical {
		potassium, value = 6.8, "6.8 mmol/L"
		want := alert.OccurrenceID(uuid.MustParse(p.id), diagnosticflow.CategoryCriticalResult, diagnosticflow.Source(uuid.MustParse(p.order)), 1)
		var done func()
		page, done = h.doctorPager.await(want.String())
		defer done()
	}
	report := "/v1/diagnostics/reports/" + p.order
	resulted := time.Now()
	var v reportJSON
	if !w.doWith(h.scientist, "lab results", http.MethodPost, "/v1/diagnostics/orders/"+p.order+"/results", map[string]any{"observations": []map[string]any{
		{"code": "2823-3", "value": map[string]any{"value": potassium, "unit": "mmol/L"}}}}, http.StatusOK, &v) {
		return false
	}
	if p.critical {
		if len(v.Callbacks) != 1 {
			w.wrong("lab results", fmt.Sprintf("a critical potassium of order %s owes %d callbacks, want 1", p.order, len(v.Callbacks)))
			return false
		}
		select {
		case <-page:
			w.record("page: critical result", time.Since(resulted))
		case <-time.After(pageWithin):
			w.wrong("page: critical result", fmt.Sprintf("no critical-result page for order %s within %s", p.order, pageWithin))
			return false
		}
		callback := report + "/callbacks/" + v.Callbacks[0].ObservationID
		if !w.doWith(h.scientist, "callback attempt", http.MethodPost, callback+"/attempt", map[string]any{"to": h.doctorID, "reached": true}, http.StatusOK, nil) {
			return false
		}
		var confirmed reportJSON
		if !w.doWith(h.scientist, "callback confirm", http.MethodPost, callback+"/confirm", map[string]any{"value": value}, http.StatusOK, &confirmed) {
			return false
		}
		if len(confirmed.Callbacks) != 1 || confirmed.Callbacks[0].Outcome != string(diagnostic.OutcomeConfirmed) {
			w.wrong("callback confirm", fmt.Sprintf("order %s's callback after the read-back: %+v", p.order, confirmed.Callbacks))
			return false
		}
	} else if len(v.Callbacks) != 0 {
		w.wrong("lab results", fmt.Sprintf("a normal potassium of order %s owes %d callbacks", p.order, len(v.Callbacks)))
		return false
	}
	var final reportJSON
	if !w.doWith(h.pathologist, "report verify", http.MethodPost, report+"/verify", map[string]any{"conclusion": "Potassium reported."}, http.StatusOK, &final) {
		return false
	}
	if final.Status != diagnostic.StatusFinal {
		w.wrong("report verify", fmt.Sprintf("order %s verified is %s, want final", p.order, final.Status))
		return false
	}
	return true
}

// book requests a colonoscopy in the week after discharge and books the
// slot held for it.
func (p *inpatient) book() bool {
	h, w := p.h, p.w
	now := time.Now().UTC()
	var held procedureJSON
	if !w.doWith(h.doctor, "procedure request", http.MethodPost, "/v1/procedures/requests", map[string]any{
		"patientId":       p.id,
		"procedure":       map[string]any{"system": procedure.SystemSNOMED, "code": "73761001", "display": "Colonoscopy"},
		"durationMinutes": 30, "priority": "elective",
		"requirements": []map[string]any{{"type": "room", "capability": "endoscopy"}, {"type": "staff", "skill": "endoscopist"},
			{"type": "equipment", "kind": "video-endoscope"}},
		"window": map[string]any{"from": now.Format(time.RFC3339), "to": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)},
	}, http.StatusCreated, &held) {
		return false
	}
	if held.Status != procedure.StatusHeld {
		w.wrong("procedure request", fmt.Sprintf("procedure %s answered %s, want held", held.Request.ID, held.Status))
		return false
	}
	var booked procedureJSON
	if !w.doWith(h.doctor, "procedure book", http.MethodPost, "/v1/procedures/"+held.Request.ID+"/book", map[string]any{}, http.StatusOK, &booked) {
		return false
	}
	if booked.Status != procedure.StatusBooked {
		w.wrong("procedure book", fmt.Sprintf("procedure %s answered %s, want booked", held.Request.ID, booked.Status))
		return false
	}
	return true
}

// ordersClosedWithin is how long the encounter may take to show its
// orders closed once the last was stopped or reported.
const ordersClosedWithin = time.Minute

// discharge stops the prescriptions and, once the encounter shows every
// order closed (each process tells the encounter by a signal, so the
// encounter's record follows a moment later), discharges the patient home.
func (p *inpatient) discharge() {
	h, w := p.h, p.w
	for _, m := range p.meds {
		if !w.doWith(h.doctor, "prescription stop", http.MethodPost, "/v1/medications/prescriptions/"+m.id+"/discontinue",
			map[string]any{"reason": "discharged home; course completed"}, http.StatusOK, nil) {
			return
		}
	}
	want := p.orders
	deadline := time.Now().Add(ordersClosedWithin)
	for {
		var enc struct {
			Orders []struct {
				Status string `json:"status"`
			} `json:"orders"`
		}
		if !w.doWith(h.doctor, "encounter read", http.MethodGet, "/v1/clinical/encounters/"+p.enc, nil, http.StatusOK, &enc) {
			return
		}
		closed := 0
		for _, o := range enc.Orders {
			if o.Status == "closed" {
				closed++
			}
		}
		if len(enc.Orders) == want && closed == want {
			break
		}
		if time.Now().After(deadline) {
			w.wrong("encounter read", fmt.Sprintf("encounter %s shows %d of %d orders closed after %s", p.enc, closed, want, ordersClosedWithin))
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	w.doWith(h.doctor, "encounter discharge", http.MethodPost, "/v1/clinical/encounters/"+p.enc+"/discharge", map[string]any{"disposition": "home"}, http.StatusOK, nil)
}

// record counts one timed step that is not a request: a page waited for.
func (w *loadWorker) record(op string, d time.Duration) {
	s := w.op(op)
	s.latencies = append(s.latencies, d)
}

// wrong counts an answer whose status was right but whose content was not.
func (w *loadWorker) wrong(op, what string) {
	s := w.op(op)
	s.errors++
	if s.sample == "" {
		s.sample = what
	}
}
