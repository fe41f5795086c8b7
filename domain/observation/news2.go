package observation

import (
	"math"
	"strconv"
	"time"

	"github.com/zarish-sphere/zarish/domain"
)

// NEWS2 is the Royal College of Physicians' National Early Warning Score 2:
// RCP, National Early Warning Score (NEWS) 2: Standardising the assessment of
// acute-illness severity in the NHS, updated report of a working party,
// December 2017. Chart 1 gives the scoring system, Chart 2 the thresholds and
// triggers (clinical risk), Chart 4 the clinical response to them. NEWS2 is
// for adults aged 16 and over and is not intended for children or pregnant
// women; this package cannot tell and does not stop a caller scoring them.

// Consciousness is the ACVPU level of NEWS2 Chart 1, as answers of 67775-7.
type Consciousness string

// The ACVPU levels. Chart 1 scores Alert 0 and every other level 3; "C" is new
// confusion (new-onset or worsening confusion, delirium or any other altered
// mentation), which NEWS2 added to AVPU.
const (
	ACVPUAlert        Consciousness = "A"
	ACVPUConfusion    Consciousness = "C"
	ACVPUVoice        Consciousness = "V"
	ACVPUPain         Consciousness = "P"
	ACVPUUnresponsive Consciousness = "U"
)

// Valid reports whether c is one of A, C, V, P, U.
func (c Consciousness) Valid() bool {
	switch c {
	case ACVPUAlert, ACVPUConfusion, ACVPUVoice, ACVPUPain, ACVPUUnresponsive:
		return true
	}
	return false
}

// SpO2Scale is the oxygen saturation scale of Chart 1.
type SpO2Scale int

// The scales. Scale 1 is for every patient unless a clinician has decided on
// Scale 2, for hypercapnic respiratory failure with a prescribed target of
// 88-92%. The zero value is Scale 1.
const (
	SpO2Scale1 SpO2Scale = 1
	SpO2Scale2 SpO2Scale = 2
)

// NEWS2Input is one set of observations, in the canonical units of their codes.
//
// Chart 1 writes its bands at the resolution observations are charted at:
// whole breaths, percent, mmHg and beats, and temperature to 0.1 °C. A value
// with more digits (a device average, a converted °F reading) is first
// rounded half up to that resolution and then banded, so 20.5/min is 21
// (scores 2), 35.05 °C is 35.1 (scores 1) and 38.04 °C is 38.0 (scores 0).
type NEWS2Input struct {
	RespiratoryRate float64   `json:"respiratoryRate"` // per minute
	SpO2            float64   `json:"spo2"`            // %
	Scale           SpO2Scale `json:"scale"`
	// SupplementalOxygen is Chart 1's "air or oxygen?": true on oxygen.
	SupplementalOxygen bool          `json:"supplementalOxygen"`
	SystolicBP         float64       `json:"systolicBP"` // mm[Hg]
	Pulse              float64       `json:"pulse"`      // per minute
	Consciousness      Consciousness `json:"consciousness"`
	Temperature        float64       `json:"temperature"` // Cel
}

// NEWS2SubScores are the parameter scores of Chart 1.
type NEWS2SubScores struct {
	RespiratoryRate int `json:"respiratoryRate"`
	SpO2            int `json:"spo2"`
	AirOrOxygen     int `json:"airOrOxygen"`
	SystolicBP      int `json:"systolicBP"`
	Pulse           int `json:"pulse"`
	Consciousness   int `json:"consciousness"`
	Temperature     int `json:"temperature"`
}

// NEWS2Risk is the clinical risk of Chart 2.
type NEWS2Risk string

// The clinical risks of Chart 2.
const (
	// RiskLow: aggregate score 0-4 with no parameter scoring 3.
	RiskLow NEWS2Risk = "low"
	// RiskLowMedium: a score of 3 in any single parameter (a "red score")
	// with an aggregate of 4 or less.
	RiskLowMedium NEWS2Risk = "low-medium"
	// RiskMedium: aggregate score 5-6.
	RiskMedium NEWS2Risk = "medium"
	// RiskHigh: aggregate score 7 or more.
	RiskHigh NEWS2Risk = "high"
)

// NEWS2Response is the response Charts 2 and 4 call for.
type NEWS2Response struct {
	// Threshold is Chart 2's response, e.g. "Urgent ward-based response".
	Threshold string `json:"threshold"`
	// Frequency is Chart 4's frequency of monitoring, e.g. "Minimum 4-6 hourly".
	Frequency string `json:"frequency"`
	// Every is the longest interval to the next set of observations, taking
	// the stricter end of a range (4 hours for "4-6 hourly"); 0 when
	// monitoring is continuous.
	Every      time.Duration `json:"every"`
	Continuous bool          `json:"continuous"`
	// Action is Chart 4's clinical response.
	Action string `json:"action"`
}

// NEWS2 is a scored set of observations.
type NEWS2 struct {
	Total  int            `json:"total"`
	Scores NEWS2SubScores `json:"scores"`
	// RedScore is true when a single parameter scores 3.
	RedScore bool          `json:"redScore"`
	Risk     NEWS2Risk     `json:"risk"`
	Response NEWS2Response `json:"response"`
	Scale    SpO2Scale     `json:"scale"`
}

// ScoreNEWS2 scores one set of observations by Chart 1 and reads its risk
// and response from Charts 2 and 4. It refuses values that cannot exist,
// every bad field at once (*domain.ValidationError).
func ScoreNEWS2(in NEWS2Input) (NEWS2, error) {
	if !in.plausible() {
		return NEWS2{}, in.Validate()
	}
	scale := in.Scale
	if scale == 0 {
		scale = SpO2Scale1
	}
	s := NEWS2SubScores{
		RespiratoryRate: scoreRespiration(whole(in.RespiratoryRate)),
		SystolicBP:      scoreSystolic(whole(in.SystolicBP)),
		Pulse:           scorePulse(whole(in.Pulse)),
		Temperature:     scoreTemperature(tenths(in.Temperature)),
	}
	if scale == SpO2Scale2 {
		s.SpO2 = scoreSpO2Scale2(whole(in.SpO2), in.SupplementalOxygen)
	} else {
		s.SpO2 = scoreSpO2Scale1(whole(in.SpO2))
	}
	if in.SupplementalOxygen {
		s.AirOrOxygen = 2 // Chart 1: oxygen scores 2, air 0
	}
	if in.Consciousness != ACVPUAlert {
		s.Consciousness = 3 // Chart 1: Alert 0; C, V, P or U 3
	}
	total := s.RespiratoryRate + s.SpO2 + s.AirOrOxygen + s.SystolicBP + s.Pulse + s.Consciousness + s.Temperature
	red := s.RespiratoryRate == 3 || s.SpO2 == 3 || s.SystolicBP == 3 || s.Pulse == 3 || s.Consciousness == 3 || s.Temperature == 3
	risk := news2Risk(total, red)
	return NEWS2{Total: total, Scores: s, RedScore: red, Risk: risk, Response: news2Response(risk, total), Scale: scale}, nil
}

// Validate reports every input that cannot be scored: a value outside what
// can exist, an unknown scale or consciousness level.
func (in NEWS2Input) Validate() error {
	var v *domain.ValidationError
	add := func(field, message string) {
		if v == nil {
			v = &domain.ValidationError{}
		}
		v.Add(field, message)
	}
	between := func(field string, x, low, high float64, unit string) {
		if !(x >= low && x <= high) {
			add(field, "must be between "+strconv.FormatFloat(low, 'f', -1, 64)+" and "+strconv.FormatFloat(high, 'f', -1, 64)+" "+unit)
		}
	}
	between("respiratoryRate", in.RespiratoryRate, 0, maxRespiratoryRate, "/min")
	between("spo2", in.SpO2, 0, 100, "%")
	if in.Scale != 0 && in.Scale != SpO2Scale1 && in.Scale != SpO2Scale2 {
		add("scale", "must be 1 or 2")
	}
	between("systolicBP", in.SystolicBP, 0, maxSystolicBP, "mm[Hg]")
	between("pulse", in.Pulse, 0, maxHeartRate, "/min")
	if !in.Consciousness.Valid() {
		add("consciousness", "must be one of A, C, V, P, U")
	}
	between("temperature", in.Temperature, minBodyTemperature, maxBodyTemperature, "Cel")
	return v.OrNil()
}

// plausible is Validate without building an error, for the scoring path.
func (in NEWS2Input) plausible() bool {
	return in.RespiratoryRate >= 0 && in.RespiratoryRate <= maxRespiratoryRate &&
		in.SpO2 >= 0 && in.SpO2 <= 100 &&
		(in.Scale == 0 || in.Scale == SpO2Scale1 || in.Scale == SpO2Scale2) &&
		in.SystolicBP >= 0 && in.SystolicBP <= maxSystolicBP &&
		in.Pulse >= 0 && in.Pulse <= maxHeartRate &&
		in.Consciousness.Valid() &&
		in.Temperature >= minBodyTemperature && in.Temperature <= maxBodyTemperature
}

// whole rounds a non-negative value half up to a whole number; the relative
// nudge keeps a value written as x.5 but stored just below it rounding up.
func whole(v float64) int { return int(math.Floor(v*(1+1e-12) + 0.5)) }

// tenths rounds a non-negative value half up to tenths, as a count of tenths.
func tenths(v float64) int { return int(math.Floor(v*10*(1+1e-12) + 0.5)) }

// Chart 1, respiration rate (per minute): ≤8 → 3, 9-11 → 1, 12-20 → 0, 21-24 → 2, ≥25 → 3.
func scoreRespiration(rr int) int {
	switch {
	case rr <= 8:
		return 3
	case rr <= 11:
		return 1
	case rr <= 20:
		return 0
	case rr <= 24:
		return 2
	}
	return 3
}

// Chart 1, SpO2 Scale 1 (%): ≤91 → 3, 92-93 → 2, 94-95 → 1, ≥96 → 0.
func scoreSpO2Scale1(spo2 int) int {
	switch {
	case spo2 <= 91:
		return 3
	case spo2 <= 93:
		return 2
	case spo2 <= 95:
		return 1
	}
	return 0
}

// Chart 1, SpO2 Scale 2 (%): ≤83 → 3, 84-85 → 2, 86-87 → 1, 88-92 → 0 and
// ≥93 on air → 0; on oxygen 93-94 → 1, 95-96 → 2, ≥97 → 3.
func scoreSpO2Scale2(spo2 int, oxygen bool) int {
	switch {
	case spo2 <= 83:
		return 3
	case spo2 <= 85:
		return 2
	case spo2 <= 87:
		return 1
	case spo2 <= 92 || !oxygen:
		return 0
	case spo2 <= 94:
		return 1
	case spo2 <= 96:
		return 2
	}
	return 3
}

// Chart 1, systolic blood pressure (mmHg): ≤90 → 3, 91-100 → 2, 101-110 → 1, 111-219 → 0, ≥220 → 3.
func scoreSystolic(sbp int) int {
	switch {
	case sbp <= 90:
		return 3
	case sbp <= 100:
		return 2
	case sbp <= 110:
		return 1
	case sbp <= 219:
		return 0
	}
	return 3
}

// Chart 1, pulse (per minute): ≤40 → 3, 41-50 → 1, 51-90 → 0, 91-110 → 1, 111-130 → 2, ≥131 → 3.
func scorePulse(pulse int) int {
	switch {
	case pulse <= 40:
		return 3
	case pulse <= 50:
		return 1
	case pulse <= 90:
		return 0
	case pulse <= 110:
		return 1
	case pulse <= 130:
		return 2
	}
	return 3
}

// Chart 1, temperature (°C, here in tenths): ≤35.0 → 3, 35.1-36.0 → 1,
// 36.1-38.0 → 0, 38.1-39.0 → 1, ≥39.1 → 2.
func scoreTemperature(t int) int {
	switch {
	case t <= 350:
		return 3
	case t <= 360:
		return 1
	case t <= 380:
		return 0
	case t <= 390:
		return 1
	}
	return 2
}

// news2Risk is Chart 2: 7 or more is high, 5-6 medium, a red score with an
// aggregate of 4 or less low-medium, otherwise low.
func news2Risk(total int, red bool) NEWS2Risk {
	switch {
	case total >= 7:
		return RiskHigh
	case total >= 5:
		return RiskMedium
	case red:
		return RiskLowMedium
	}
	return RiskLow
}

// news2Response is Chart 2's response with Chart 4's frequency of monitoring
// and clinical response.
func news2Response(risk NEWS2Risk, total int) NEWS2Response {
	switch risk {
	case RiskHigh:
		return NEWS2Response{Threshold: "Urgent or emergency response", Frequency: "Continuous monitoring of vital signs", Continuous: true,
			Action: "Registered nurse to immediately inform the medical team caring for the patient, at least at specialist registrar level; " +
				"emergency assessment by a team with critical care competencies, including practitioner(s) with advanced airway management skills; " +
				"consider transfer of care to a level 2 or 3 clinical care facility (higher-dependency unit or ICU); " +
				"clinical care in an environment with monitoring facilities"}
	case RiskMedium:
		return NEWS2Response{Threshold: "Key threshold for urgent response", Frequency: "Minimum 1 hourly", Every: time.Hour,
			Action: "Registered nurse to immediately inform the medical team caring for the patient; registered nurse to request urgent " +
				"assessment by a clinician or team with core competencies in the care of acutely ill patients; " +
				"provide clinical care in an environment with monitoring facilities"}
	case RiskLowMedium:
		return NEWS2Response{Threshold: "Urgent ward-based response", Frequency: "Minimum 1 hourly", Every: time.Hour,
			Action: "Registered nurse to inform the medical team caring for the patient, who will review and decide whether escalation of care is necessary"}
	}
	if total == 0 {
		return NEWS2Response{Threshold: "Ward-based response", Frequency: "Minimum 12 hourly", Every: 12 * time.Hour,
			Action: "Continue routine NEWS monitoring"}
	}
	return NEWS2Response{Threshold: "Ward-based response", Frequency: "Minimum 4-6 hourly", Every: 4 * time.Hour,
		Action: "Inform registered nurse, who must assess the patient; registered nurse decides whether increased frequency of " +
			"clinical monitoring and/or escalation of care is required"}
}
