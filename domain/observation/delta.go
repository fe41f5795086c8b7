package observation

import (
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Result is one accepted result of a code: its value in the code's canonical
// unit and its effective time.
type Result struct {
	ID    uuid.UUID `json:"id"`
	Code  string    `json:"code"`
	Value float64   `json:"value"`
	Time  time.Time `json:"time"`
}

// DeltaCode names the rule a delta flag comes from.
type DeltaCode string

// The delta rules.
const (
	// DeltaAKIAbsolute: creatinine rose by 0.3 mg/dL (26.5 µmol/L) or more within 48 hours (KDIGO 2012).
	DeltaAKIAbsolute DeltaCode = "aki-absolute-rise"
	// DeltaAKIRelative: creatinine reached 1.5 times the lowest value of the prior 7 days (KDIGO 2012).
	DeltaAKIRelative DeltaCode = "aki-relative-rise"
	// DeltaHaemoglobinDrop: haemoglobin fell by 2 g/dL (20 g/L) or more within 24 hours.
	DeltaHaemoglobinDrop DeltaCode = "haemoglobin-drop"
	// DeltaImplausible: the change from the previous result exceeds the code's DeltaLimit.
	DeltaImplausible DeltaCode = "implausible-change"
)

// DeltaFlag is one delta rule a new result meets, with the earlier result it
// was compared with.
type DeltaFlag struct {
	Code    DeltaCode `json:"code"`
	Message string    `json:"message"`
	// Previous is the earlier result the rule used: the lowest creatinine of
	// the window for AKI, the highest haemoglobin for a drop, the most recent
	// result for an implausible change.
	Previous Result `json:"previous"`
	// Change is the new value minus the previous one, in canonical units.
	Change float64 `json:"change"`
	// Stage is the KDIGO AKI stage (1-3) on AKI flags, 0 otherwise.
	Stage  int    `json:"stage,omitempty"`
	Source string `json:"source"`
}

// The delta rules' figures.
const (
	// KDIGO 2012 AKI guideline, Recommendation 2.1.1: AKI is an increase in
	// serum creatinine by ≥0.3 mg/dl (≥26.5 µmol/l) within 48 hours, or to
	// ≥1.5 times baseline known or presumed to have occurred within the prior
	// 7 days. The absolute rise is taken as the smaller of the two figures
	// KDIGO states (26.5 µmol/L = 0.2997 mg/dL), so either unit's boundary
	// value meets it.
	akiAbsoluteWindow = 48 * time.Hour
	akiAbsoluteRise   = 26.5 / creatinineUmolPerMg // mg/dL
	akiRelativeWindow = 7 * 24 * time.Hour
	akiRelativeRise   = 1.5
	// KDIGO 2012 AKI guideline, Table 2 (staging): stage 2 is 2.0-2.9 times
	// baseline; stage 3 is 3.0 times baseline or a rise to ≥4.0 mg/dl
	// (≥353.6 µmol/l).
	akiStage2Ratio = 2.0
	akiStage3Ratio = 3.0
	akiStage3Value = 4.0 // mg/dL

	// ISTH major bleeding (Schulman & Kearon 2005) counts a fall in
	// haemoglobin of 20 g/L or more; the 24-hour window is this engine's
	// convention for a fall seen between two results.
	hbDropWindow = 24 * time.Hour
	hbDrop       = 2.0 // g/dL

	// tolerance absorbs unit-conversion noise at a rule's boundary.
	tolerance = 1e-9
)

const (
	srcAKIAbsolute = srcKDIGOAKI + ", Recommendation 2.1.1: increase in SCr by ≥0.3 mg/dl (≥26.5 µmol/l) within 48 hours; staging Table 2"
	srcAKIRelative = srcKDIGOAKI + ", Recommendation 2.1.1: increase in SCr to ≥1.5 times baseline within the prior 7 days; staging Table 2"
	srcHbDrop      = srcISTH + ": a fall in haemoglobin of 20 g/L or more; the 24-hour window is this engine's convention"
)

// Delta compares a new result with the patient's earlier results and returns
// the rules it meets: KDIGO acute kidney injury for creatinine, a haemoglobin
// drop, and the code's implausible-change limit. Only earlier results of the
// same code count (an earlier effective time; a result arriving late is not
// compared with newer ones); windows include their boundary (exactly 48 h
// back is within 48 h), and so do the limits. Values are canonical, as
// Canonical returns them.
func Delta(current Result, previous []Result) []DeltaFlag {
	d, ok := byCode[current.Code]
	if !ok || math.IsNaN(current.Value) {
		return nil
	}
	var flags []DeltaFlag
	switch current.Code {
	case CodeCreatinine:
		flags = append(flags, aki(current, previous)...)
	case CodeHaemoglobin:
		if high, ok := extreme(current, previous, hbDropWindow, true); ok && high.Value-current.Value >= hbDrop-tolerance {
			flags = append(flags, DeltaFlag{Code: DeltaHaemoglobinDrop, Previous: high, Change: current.Value - high.Value, Source: srcHbDrop,
				Message: "haemoglobin fell " + fixed(high.Value-current.Value, 1) + " g/dL within 24 h, from " + fixed(high.Value, 1) +
					" g/dL at " + stamp(high.Time) + " (a fall of 2 g/dL, 20 g/L, or more)"})
		}
	}
	if d.Delta != nil {
		if f, ok := implausible(d, current, previous); ok {
			flags = append(flags, f)
		}
	}
	return flags
}

// aki applies KDIGO's two creatinine criteria.
func aki(current Result, previous []Result) []DeltaFlag {
	low48, has48 := extreme(current, previous, akiAbsoluteWindow, false)
	low7d, has7d := extreme(current, previous, akiRelativeWindow, false)
	absolute := has48 && current.Value-low48.Value >= akiAbsoluteRise-tolerance
	relative := has7d && low7d.Value > 0 && current.Value >= akiRelativeRise*low7d.Value-tolerance
	if !absolute && !relative {
		return nil
	}
	stage := 1
	if has7d && low7d.Value > 0 {
		switch ratio := current.Value / low7d.Value; {
		case ratio >= akiStage3Ratio-tolerance:
			stage = 3
		case ratio >= akiStage2Ratio-tolerance:
			stage = 2
		}
	}
	if current.Value >= akiStage3Value-tolerance {
		stage = 3
	}
	var flags []DeltaFlag
	if absolute {
		rise := current.Value - low48.Value
		flags = append(flags, DeltaFlag{Code: DeltaAKIAbsolute, Previous: low48, Change: rise, Stage: stage, Source: srcAKIAbsolute,
			Message: "creatinine rose " + fixed(rise, 2) + " mg/dL (" + fixed(rise*creatinineUmolPerMg, 1) + " µmol/L) within 48 h of " +
				fixed(low48.Value, 2) + " mg/dL at " + stamp(low48.Time) + ": KDIGO acute kidney injury, stage " + strconv.Itoa(stage)})
	}
	if relative {
		flags = append(flags, DeltaFlag{Code: DeltaAKIRelative, Previous: low7d, Change: current.Value - low7d.Value, Stage: stage, Source: srcAKIRelative,
			Message: "creatinine is " + fixed(current.Value/low7d.Value, 2) + " times the lowest value of the prior 7 days (" +
				fixed(low7d.Value, 2) + " mg/dL at " + stamp(low7d.Time) + "): KDIGO acute kidney injury, stage " + strconv.Itoa(stage)})
	}
	return flags
}

// implausible compares the result with the most recent earlier one within the
// code's window.
func implausible(d *Definition, current Result, previous []Result) (DeltaFlag, bool) {
	lim := d.Delta
	var last Result
	found := false
	for _, p := range previous {
		if within(current, p, lim.Window) && (!found || p.Time.After(last.Time)) {
			last, found = p, true
		}
	}
	if !found {
		return DeltaFlag{}, false
	}
	change := current.Value - last.Value
	size := math.Abs(change)
	percent := 0.0
	if last.Value != 0 {
		percent = size / math.Abs(last.Value) * 100
	}
	absolute := lim.Absolute > 0 && size >= lim.Absolute-tolerance
	relative := lim.Percent > 0 && last.Value != 0 && percent >= lim.Percent-tolerance
	if !absolute && !relative {
		return DeltaFlag{}, false
	}
	return DeltaFlag{Code: DeltaImplausible, Previous: last, Change: change, Source: lim.Source,
		Message: d.Display + " changed by " + format(change) + " " + d.Unit + " (" + fixed(percent, 0) + "%) within " + lim.Window.String() +
			" of the previous result (" + format(last.Value) + " " + d.Unit + " at " + stamp(last.Time) + "): check the specimen and the patient"}, true
}

// extreme finds the lowest (or, with highest, the highest) earlier result of
// the same code within window; among equal values, the most recent.
func extreme(current Result, previous []Result, window time.Duration, highest bool) (Result, bool) {
	var best Result
	found := false
	for _, p := range previous {
		if !within(current, p, window) {
			continue
		}
		better := p.Value < best.Value
		if highest {
			better = p.Value > best.Value
		}
		if !found || better || (p.Value == best.Value && p.Time.After(best.Time)) {
			best, found = p, true
		}
	}
	return best, found
}

// within reports whether p is an earlier result of current's code no more
// than window before it.
func within(current, p Result, window time.Duration) bool {
	if p.Code != current.Code || math.IsNaN(p.Value) || (p.ID == current.ID && p.ID != uuid.Nil) {
		return false
	}
	age := current.Time.Sub(p.Time)
	return age > 0 && age <= window
}

func fixed(v float64, decimals int) string { return strconv.FormatFloat(v, 'f', decimals, 64) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
