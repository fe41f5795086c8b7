package medication

import (
	"math"
	"strconv"
	"strings"
)

// The rule ids of dose findings; the finding's Drug names the drug and its
// Sources the dose rule.
const (
	RuleDoseSingleMax = "dose-single-max"
	RuleDoseSingleMin = "dose-single-min"
	RuleDoseDailyMax  = "dose-daily-max"
	RuleDoseDailyMin  = "dose-daily-min"
	RuleDoseInterval  = "dose-interval"
	RuleDoseDuration  = "dose-duration"
	RuleDoseTotal     = "dose-total-daily"
	RuleDoseAge       = "dose-age-limit"
	RuleDoseRenal     = "dose-renal"
	RuleDoseHepatic   = "dose-hepatic"
	RuleDoseNoRule    = "unavailable-dose-rule"
	RuleDoseNoInput   = "unavailable-dose-input"
	RuleDoseNoRenal   = "unavailable-renal-function"
)

// tolerance absorbs rounding when a dose is compared with a limit.
const tolerance = 1e-6

// limits are one rule's limits for one patient, in the rule's unit.
type limits struct {
	unit                 string
	singleMin, singleMax float64
	dailyMin, dailyMax   float64
	minInterval          float64
	intervalSeverity     Severity
	maxDuration          float64
	source               []string // the sources of every rule the limits combine
	envelope             bool     // several rules were combined
}

// patientScale is what a rule's basis multiplies by for the patient, or why
// it cannot be known.
func patientScale(b Basis, p *Patient) (float64, string) {
	switch b {
	case BasisKg:
		if p.WeightKg <= 0 {
			return 0, "a weight-based dose rule needs the patient's weight"
		}
		return p.WeightKg, ""
	case BasisM2:
		if p.WeightKg <= 0 || p.HeightCm <= 0 {
			return 0, "a surface-area dose rule needs the patient's weight and height"
		}
		return BodySurfaceArea(p.HeightCm, p.WeightKg), ""
	}
	return 1, ""
}

// scaled is a per-basis limit for the patient, capped.
func scaled(v, scale, cap float64) float64 {
	if v == 0 {
		return 0
	}
	v *= scale
	if cap > 0 && v > cap {
		return cap
	}
	return v
}

// selectRules picks the profile's rules for the route, the patient's age and
// weight and the indication: the order's indication first, else the general
// rules, else every rule (their widest limits). It returns the rules'
// indexes, or why none applies.
func selectRules(prof *DoseProfile, route Route, indication string, p *Patient, into []int) ([]int, string) {
	var buf [foldLen]byte
	ind := fold(&buf, indication)
	routeSeen := false
	for pass := 0; pass < 3 && len(into) == 0; pass++ {
		for i := range prof.Rules {
			r := &prof.Rules[i]
			if route != "" && !hasRoute(r.Routes, route) {
				continue
			}
			routeSeen = true
			if !ageFits(r, p) || !weightFits(r, p) {
				continue
			}
			switch pass {
			case 0: // the order's indication
				if len(ind) == 0 || !strings.EqualFold(r.Indication, string(ind)) {
					continue
				}
			case 1: // the general rule
				if r.Indication != "" {
					continue
				}
			}
			into = append(into, i)
		}
	}
	switch {
	case !routeSeen:
		return nil, "the knowledge base has no dose rule for this drug by the " + string(route) + " route"
	case len(into) == 0:
		return nil, "the knowledge base has no dose rule for this drug at the patient's age and weight"
	}
	for _, i := range into {
		if r := &prof.Rules[i]; (r.MinWeightKg > 0 || r.MaxWeightKg > 0) && p.WeightKg <= 0 {
			return nil, "choosing the dose rule needs the patient's weight"
		}
	}
	return into, ""
}

func ageFits(r *DoseRule, p *Patient) bool {
	return p.AgeYears >= r.MinAgeYears && (r.MaxAgeYears == 0 || p.AgeYears < r.MaxAgeYears)
}

// weightFits is true when the rule has no weight band, the weight is
// unknown (selectRules then asks for it), or the weight is in the band.
func weightFits(r *DoseRule, p *Patient) bool {
	if p.WeightKg <= 0 {
		return true
	}
	return p.WeightKg >= r.MinWeightKg && (r.MaxWeightKg == 0 || p.WeightKg < r.MaxWeightKg)
}

func hasRoute(rs []Route, r Route) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// limitsOf combines the chosen rules into the widest limits, for the patient.
func limitsOf(prof *DoseProfile, rules []int, p *Patient, src *profileSources) (limits, string) {
	var l limits
	for i, ri := range rules {
		r := &prof.Rules[ri]
		scale, missing := patientScale(r.Basis, p)
		if missing != "" {
			return limits{}, missing
		}
		cur := limits{unit: r.Unit, singleMin: scaled(r.SingleMin, scale, r.SingleCap),
			singleMax: scaled(r.SingleMax, scale, r.SingleCap), dailyMin: scaled(r.DailyMin, scale, r.DailyCap),
			dailyMax: scaled(r.DailyMax, scale, r.DailyCap), minInterval: r.MinIntervalHours,
			intervalSeverity: r.IntervalSeverity, maxDuration: r.MaxDurationDays, source: src.rules[ri]}
		if cur.intervalSeverity == "" {
			cur.intervalSeverity = SeverityModerate
		}
		if i == 0 {
			l = cur
			continue
		}
		l.envelope = true
		l.source = nil
		k := ruleUnits[cur.unit].factor / ruleUnits[l.unit].factor
		l.singleMin = minLimit(l.singleMin, cur.singleMin*k)
		l.dailyMin = minLimit(l.dailyMin, cur.dailyMin*k)
		l.singleMax = maxLimit(l.singleMax, cur.singleMax*k)
		l.dailyMax = maxLimit(l.dailyMax, cur.dailyMax*k)
		l.minInterval = min(l.minInterval, cur.minInterval)
		if cur.intervalSeverity.Rank() < l.intervalSeverity.Rank() {
			l.intervalSeverity = cur.intervalSeverity
		}
		l.maxDuration = maxLimit(l.maxDuration, cur.maxDuration)
	}
	if l.envelope {
		for _, ri := range rules {
			l.source = append(l.source, prof.Rules[ri].Source)
		}
	}
	return l, ""
}

// minLimit and maxLimit widen a range where zero means no limit.
func minLimit(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return min(a, b)
}

func maxLimit(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return max(a, b)
}

// amountOf is the amount of ingredient t in one dose of the order, in unit
// (a rule unit), or why it cannot be known.
func (kb *KB) amountOf(o *Order, r *resolved, t int32, unit string, p *Patient) (float64, string) {
	ru := ruleUnits[unit]
	if o.Dose <= 0 || math.IsNaN(o.Dose) || math.IsInf(o.Dose, 0) {
		return 0, "the order gives no dose"
	}
	u, ok := parseUnit(o.DoseUnit)
	if !ok {
		return 0, "the dose unit \"" + o.DoseUnit + "\" is not understood"
	}
	if r.product >= 0 {
		if u.dim != dimForm {
			return 0, "a combination product's dose can be checked only as a number of tablets or capsules"
		}
		for _, c := range kb.products[r.product].Ingredients {
			if kb.drugIdx[c.Drug] == t {
				if c.Amount == 0 {
					return 0, "the knowledge base does not hold this product's strength"
				}
				cu := ruleUnits[c.Unit]
				if cu.dim != ru.dim {
					return 0, "the product's strength is not in the dose rule's unit"
				}
				return o.Dose * c.Amount * cu.factor / ru.factor, ""
			}
		}
	}
	switch u.dim {
	case dimForm:
		return 0, "a dose in tablets or capsules needs a product whose strength the knowledge base holds"
	case dimVolume:
		return 0, "a dose in mL needs the concentration, which the order does not give"
	}
	if u.dim != ru.dim {
		return 0, "the dose unit \"" + o.DoseUnit + "\" does not measure what the dose rule does (" + unit + ")"
	}
	v := o.Dose * u.factor / ru.factor
	switch u.per {
	case perKg:
		if p.WeightKg <= 0 {
			return 0, "a " + o.DoseUnit + " dose needs the patient's weight"
		}
		v *= p.WeightKg
	case perM2:
		if p.WeightKg <= 0 || p.HeightCm <= 0 {
			return 0, "a " + o.DoseUnit + " dose needs the patient's weight and height"
		}
		v *= BodySurfaceArea(p.HeightCm, p.WeightKg)
	}
	return v, ""
}

// format writes a number for an explanation, to at most two decimals.
func format(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

func (kb *KB) doseFinding(sev Severity, t int32, rule, explanation, management string, src []string) Finding {
	return Finding{Kind: KindDose, Severity: sev, Drug: kb.drugs[t].ID, OtherIndex: -1, Rule: rule,
		Explanation: explanation, Management: management, Sources: src, Version: kb.manifest.Version}
}

func (kb *KB) doseUnavailable(t int32, rule, why string) Finding {
	f := kb.unavailable(kb.drugs[t].ID, rule, -1, "", "The dose was not checked: "+why+".",
		"Check the dose against a current reference by hand.")
	return f
}

// checkDose checks every ingredient of the order against its dose profile.
func (kb *KB) checkDose(out []Finding, o *Order, r *resolved, p *Patient, active []resolved) []Finding {
	route, ok := ParseRoute(o.Route)
	for _, t := range r.ingredients() {
		pi := kb.dose[t]
		if pi < 0 {
			out = append(out, kb.doseUnavailable(t, RuleDoseNoRule, "the knowledge base has no dose rule for "+kb.drugs[t].Name))
			continue
		}
		prof := &kb.doses[pi]
		src := &kb.doseSrc[pi]
		for i, a := range prof.AgeLimits {
			if p.AgeYears > 0 && p.AgeYears < a.BelowYears {
				out = append(out, kb.doseFinding(a.Severity, t, RuleDoseAge, kb.drugs[t].Name+" under "+format(a.BelowYears)+
					" years: "+a.Advice, "Choose an alternative suitable for the patient's age.", src.age[i]))
			}
		}
		if p.HepaticImpairment && prof.Hepatic != "" {
			out = append(out, kb.doseFinding(prof.HepaticSeverity, t, RuleDoseHepatic, prof.Hepatic,
				"Review the dose and monitoring for hepatic impairment.", src.hepatic))
		}
		if !ok {
			out = append(out, kb.doseUnavailable(t, RuleDoseNoInput, "the route \""+o.Route+"\" is not understood"))
			continue
		}
		if p.AgeYears <= 0 {
			out = append(out, kb.doseUnavailable(t, RuleDoseNoInput, "the patient's age is unknown"))
			continue
		}
		var stack [8]int
		rules, why := selectRules(prof, route, o.Indication, p, stack[:0])
		if why != "" {
			out = append(out, kb.doseUnavailable(t, RuleDoseNoRule, why))
			continue
		}
		lim, why := limitsOf(prof, rules, p, src)
		if why != "" {
			out = append(out, kb.doseUnavailable(t, RuleDoseNoInput, why))
			continue
		}
		amount, why := kb.amountOf(o, r, t, lim.unit, p)
		if why != "" {
			out = append(out, kb.doseUnavailable(t, RuleDoseNoInput, why))
			continue
		}
		out = kb.compare(out, t, o, route, amount, &lim, p, active, prof, src)
	}
	return out
}

// compare checks one ingredient's amount against its limits, its renal band
// and the same ingredient in the active medications.
func (kb *KB) compare(out []Finding, t int32, o *Order, route Route, amount float64, lim *limits, p *Patient, active []resolved,
	prof *DoseProfile, src *profileSources) []Finding {
	name, unit := kb.drugs[t].Name, " "+lim.unit
	if lim.singleMax > 0 && amount > lim.singleMax*(1+tolerance) {
		out = append(out, kb.doseFinding(SeverityMajor, t, RuleDoseSingleMax, name+" "+format(amount)+unit+
			" per dose is above the maximum single dose of "+format(lim.singleMax)+unit+" for this patient.",
			"Reduce the dose, or document why the higher dose is intended.", lim.source))
	}
	if lim.singleMin > 0 && amount < lim.singleMin*(1-tolerance) {
		out = append(out, kb.doseFinding(SeverityMinor, t, RuleDoseSingleMin, name+" "+format(amount)+unit+
			" per dose is below the usual minimum of "+format(lim.singleMin)+unit+" for this patient.",
			"Check the dose is intended (it may be ineffective).", lim.source))
	}
	f, fok := frequencyOf(o)
	if !fok {
		return append(out, kb.doseUnavailable(t, RuleDoseNoInput, "the frequency \""+o.Frequency+
			"\" is not understood, so the daily dose and interval were not checked"))
	}
	daily := amount * f.PerDay
	if lim.dailyMax > 0 && daily > lim.dailyMax*(1+tolerance) {
		out = append(out, kb.doseFinding(SeverityMajor, t, RuleDoseDailyMax, name+" "+format(daily)+unit+
			" a day is above the maximum daily dose of "+format(lim.dailyMax)+unit+" for this patient.",
			"Reduce the dose or the frequency.", lim.source))
	}
	if lim.dailyMin > 0 && daily < lim.dailyMin*(1-tolerance) && !f.Once && !o.PRN {
		out = append(out, kb.doseFinding(SeverityMinor, t, RuleDoseDailyMin, name+" "+format(daily)+unit+
			" a day is below the usual minimum of "+format(lim.dailyMin)+unit+" for this patient.",
			"Check the dose is intended (it may be ineffective).", lim.source))
	}
	if lim.minInterval > 0 && !f.Once && f.IntervalHours > 0 && f.IntervalHours < lim.minInterval*(1-tolerance) {
		out = append(out, kb.doseFinding(lim.intervalSeverity, t, RuleDoseInterval, name+" every "+format(f.IntervalHours)+
			" h is more often than every "+format(lim.minInterval)+" h.", "Lengthen the dosing interval.", lim.source))
	}
	if lim.maxDuration > 0 && o.DurationDays > lim.maxDuration {
		out = append(out, kb.doseFinding(SeverityMajor, t, RuleDoseDuration, name+" for "+format(o.DurationDays)+
			" days is longer than the maximum of "+format(lim.maxDuration)+" days.", "Shorten the course.", lim.source))
	}
	if lim.dailyMax > 0 && daily <= lim.dailyMax*(1+tolerance) {
		out = kb.totalDaily(out, t, daily, lim, p, active)
	}
	if len(prof.Renal) > 0 {
		out = kb.renal(out, t, amount, daily, f, route, prof, src, p)
	}
	return out
}

// totalDaily adds the same ingredient in the active medications (systemic
// routes) to the order's daily dose and flags a total above the maximum.
func (kb *KB) totalDaily(out []Finding, t int32, daily float64, lim *limits, p *Patient, active []resolved) []Finding {
	total, others := daily, 0
	for j := range active {
		a := &p.ActiveMedications[j]
		for _, ing := range active[j].ingredients() {
			if ing != t {
				continue
			}
			if rt, ok := ParseRoute(a.Route); ok && !rt.systemic() {
				continue
			}
			amt, why := kb.amountOf(a, &active[j], t, lim.unit, p)
			f, fok := frequencyOf(a)
			if why != "" || !fok {
				out = append(out, kb.doseUnavailable(t, RuleDoseNoInput, "the total daily "+kb.drugs[t].Name+
					" could not be added up: an active order of it has no dose and frequency the checks understand"))
				continue
			}
			total += amt * f.PerDay
			others++
		}
	}
	if others > 0 && total > lim.dailyMax*(1+tolerance) {
		out = append(out, kb.doseFinding(SeverityMajor, t, RuleDoseTotal, "With the active orders of the same ingredient, "+
			kb.drugs[t].Name+" comes to "+format(total)+" "+lim.unit+" a day, above the maximum of "+format(lim.dailyMax)+" "+
			lim.unit+".", "Stop one source of the ingredient or reduce the doses so the total stays within the maximum.",
			lim.source))
	}
	return out
}

// renalBand is the profile's band for a creatinine clearance and route, or nil.
func renalBand(prof *DoseProfile, crcl float64, route Route) (int, *RenalRule) {
	for i := range prof.Renal {
		b := &prof.Renal[i]
		if crcl >= b.AtLeast && crcl < b.Below && (len(b.Routes) == 0 || route == "" || hasRoute(b.Routes, route)) {
			return i, b
		}
	}
	return -1, nil
}

// renalApplies reports whether any band of the profile covers the route.
func renalApplies(prof *DoseProfile, route Route) bool {
	for i := range prof.Renal {
		if len(prof.Renal[i].Routes) == 0 || hasRoute(prof.Renal[i].Routes, route) {
			return true
		}
	}
	return false
}

func (kb *KB) renal(out []Finding, t int32, amount, daily float64, f Frequency, route Route, prof *DoseProfile,
	src *profileSources, p *Patient) []Finding {
	if !renalApplies(prof, route) {
		return out
	}
	rf, missing := renalFunction(p)
	if missing != "" {
		return append(out, kb.doseUnavailable(t, RuleDoseNoRenal, kb.drugs[t].Name+
			" needs a renal dose check, and renal function could not be estimated: "+missing))
	}
	i, b := renalBand(prof, rf.CrCl, route)
	if b == nil {
		return out
	}
	scale := 1.0
	if b.Basis == BasisKg {
		if p.WeightKg <= 0 {
			return append(out, kb.doseUnavailable(t, RuleDoseNoRenal, "the renal dose limit is per kg and the weight is unknown"))
		}
		scale = p.WeightKg
	}
	at := format(rf.CrCl) + " mL/min (" + rf.Method + ")"
	name, unit := kb.drugs[t].Name, " "+prof.Rules[0].Unit
	sources := src.renal[i]
	finding := func(why string) []Finding {
		return append(out, kb.doseFinding(b.Severity, t, RuleDoseRenal, name+" at "+at+": "+why+b.Advice, b.Advice, sources))
	}
	switch b.Action {
	case RenalAvoid, RenalMonitor:
		return finding("")
	}
	switch {
	case b.MaxSingle > 0 && amount > b.MaxSingle*scale*(1+tolerance):
		return finding(format(amount) + unit + " per dose is above the renal maximum of " + format(b.MaxSingle*scale) + unit + ". ")
	case b.MaxDaily > 0 && daily > b.MaxDaily*scale*(1+tolerance):
		return finding(format(daily) + unit + " a day is above the renal maximum of " + format(b.MaxDaily*scale) + unit + " a day. ")
	case b.MinIntervalHours > 0 && !f.Once && f.IntervalHours < b.MinIntervalHours*(1-tolerance):
		return finding("every " + format(f.IntervalHours) + " h is too often; give no more often than every " +
			format(b.MinIntervalHours) + " h. ")
	}
	return out
}
