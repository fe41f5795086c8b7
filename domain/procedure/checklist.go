package procedure

import "slices"

// Phases lists the checklist's phases in the order they are done.
var Phases = []Phase{PhasePreProcedure, PhaseSignIn, PhaseTimeOut, PhaseSignOut}

// Valid reports whether ph is a known phase.
func (ph Phase) Valid() bool { return slices.Contains(Phases, ph) }

// checklist is every item a procedure's checklist starts with. The
// pre-procedure items are done before the day (the ward or the
// pre-assessment clinic). The others are the 19 items of the WHO Surgical
// Safety Checklist (first edition, 2009), in its order and phases: World
// Health Organization, "WHO guidelines for safe surgery 2009: safe surgery
// saves lives", WHO/IER/PSP/2008.08-1E, ISBN 978 92 4 159855 2.
// Sign in has 7 items, time out 7 (the three "anticipated critical events"
// reviews, by the surgeon, the anaesthesia team and the nursing team, are
// one item each), sign out 5. Codes are stable: the API, the events and
// the stored checklists name items by them.
var checklist = []ChecklistItem{
	{Code: "consent", Phase: PhasePreProcedure, Text: "Consent signed"},
	{Code: "fasting", Phase: PhasePreProcedure, Text: "Fasting confirmed (or not required)"},
	{Code: "site-marking", Phase: PhasePreProcedure, Text: "Procedure site marked (or not applicable)"},

	// Sign in: before induction of anaesthesia.
	{Code: "sign-in.identity", Phase: PhaseSignIn, Text: "Patient has confirmed identity, site, procedure and consent"},
	{Code: "sign-in.site-marked", Phase: PhaseSignIn, Text: "Site marked (or not applicable)"},
	{Code: "sign-in.anaesthesia-check", Phase: PhaseSignIn, Text: "Anaesthesia machine and medication check complete"},
	{Code: "sign-in.pulse-oximeter", Phase: PhaseSignIn, Text: "Pulse oximeter on the patient and functioning"},
	{Code: "sign-in.allergy", Phase: PhaseSignIn, Text: "Known allergy asked about"},
	{Code: "sign-in.airway", Phase: PhaseSignIn, Text: "Difficult airway or aspiration risk assessed; equipment and assistance available if so"},
	{Code: "sign-in.blood-loss", Phase: PhaseSignIn, Text: "Risk of more than 500 ml blood loss (7 ml/kg in children) assessed; IV access and fluids planned if so"},

	// Time out: before skin incision.
	{Code: "time-out.team", Phase: PhaseTimeOut, Text: "All team members have introduced themselves by name and role"},
	{Code: "time-out.confirm", Phase: PhaseTimeOut, Text: "Surgeon, anaesthesia professional and nurse confirm patient, site and procedure"},
	{Code: "time-out.surgeon-review", Phase: PhaseTimeOut, Text: "Surgeon reviews critical or unexpected steps, operative duration and anticipated blood loss"},
	{Code: "time-out.anaesthesia-review", Phase: PhaseTimeOut, Text: "Anaesthesia team reviews patient-specific concerns"},
	{Code: "time-out.nursing-review", Phase: PhaseTimeOut, Text: "Nursing team confirms sterility (including indicator results) and raises equipment issues"},
	{Code: "time-out.antibiotic", Phase: PhaseTimeOut, Text: "Antibiotic prophylaxis given within the last 60 minutes (or not applicable)"},
	{Code: "time-out.imaging", Phase: PhaseTimeOut, Text: "Essential imaging displayed (or not applicable)"},

	// Sign out: before the patient leaves the operating room.
	{Code: "sign-out.procedure-recorded", Phase: PhaseSignOut, Text: "Name of the procedure recorded"},
	{Code: "sign-out.counts", Phase: PhaseSignOut, Text: "Instrument, sponge and needle counts correct (or not applicable)"},
	{Code: "sign-out.specimen", Phase: PhaseSignOut, Text: "Specimen labelled, including the patient's name (or no specimen)"},
	{Code: "sign-out.equipment", Phase: PhaseSignOut, Text: "Equipment problems to be addressed identified"},
	{Code: "sign-out.recovery", Phase: PhaseSignOut, Text: "Surgeon, anaesthesia professional and nurse review key concerns for recovery and management"},
}

// DefaultChecklist is the checklist a new procedure starts with, every item
// undone: the pre-procedure items, then the WHO Surgical Safety Checklist's
// sign-in, time-out and sign-out items. Each call returns a fresh copy.
func DefaultChecklist() []ChecklistItem { return slices.Clone(checklist) }

// Item is the procedure's checklist item with code; false when it has none.
func (p Procedure) Item(code string) (ChecklistItem, bool) {
	i := slices.IndexFunc(p.Checklist, func(it ChecklistItem) bool { return it.Code == code })
	if i < 0 {
		return ChecklistItem{}, false
	}
	return p.Checklist[i], true
}

// Undone lists the codes of the items of the given phases not yet done, in
// checklist order; every phase when none is given.
func (p Procedure) Undone(phases ...Phase) []string {
	var out []string
	for _, it := range p.Checklist {
		if it.DoneAt == nil && (len(phases) == 0 || slices.Contains(phases, it.Phase)) {
			out = append(out, it.Code)
		}
	}
	return out
}
