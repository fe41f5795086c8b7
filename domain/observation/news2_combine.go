package observation

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// NEWS2Parameter is one of the seven physiological parameters of NEWS2 Chart 1.
type NEWS2Parameter string

// The parameters, in Chart 1's order.
const (
	ParamRespirationRate NEWS2Parameter = "respirationRate"
	ParamSpO2            NEWS2Parameter = "spo2"
	ParamAirOrOxygen     NEWS2Parameter = "airOrOxygen"
	ParamSystolicBP      NEWS2Parameter = "systolicBP"
	ParamPulse           NEWS2Parameter = "pulse"
	ParamConsciousness   NEWS2Parameter = "consciousness"
	ParamTemperature     NEWS2Parameter = "temperature"
)

// NEWS2Parameters lists the parameters in Chart 1's order.
func NEWS2Parameters() []NEWS2Parameter {
	return []NEWS2Parameter{ParamRespirationRate, ParamSpO2, ParamAirOrOxygen, ParamSystolicBP, ParamPulse, ParamConsciousness, ParamTemperature}
}

// DefaultNEWS2Window is how close together a set's readings must be when the
// caller names no window: all seven within the hour ending at the newest.
const DefaultNEWS2Window = 60 * time.Minute

// roomAirFiO2 is the inhaled oxygen concentration of room air, in percent: a
// higher concentration is supplemental oxygen.
const roomAirFiO2 = 21

// ParameterOf names the NEWS2 parameter an observation of the LOINC code
// measures: SpO2 from 59408-5 or 2708-6, "air or oxygen?" from inhaled
// oxygen concentration (3150-0, oxygen above 21%) or flow rate (3151-8,
// oxygen above 0 L/min), consciousness from 67775-7 (ACVPU). A blood pressure
// panel feeds NEWS2 through its systolic component, 8480-6.
func ParameterOf(code string) (NEWS2Parameter, bool) {
	switch code {
	case CodeRespiratoryRate:
		return ParamRespirationRate, true
	case CodeSpO2, CodeSaO2:
		return ParamSpO2, true
	case CodeInhaledOxygen, CodeOxygenFlow:
		return ParamAirOrOxygen, true
	case CodeSystolicBP:
		return ParamSystolicBP, true
	case CodeHeartRate:
		return ParamPulse, true
	case CodeConsciousness:
		return ParamConsciousness, true
	case CodeBodyTemperature:
		return ParamTemperature, true
	}
	return "", false
}

// Reading is one timestamped observation that may feed NEWS2.
type Reading struct {
	Code string `json:"code"`
	// Value is the value in the code's canonical unit, for quantities.
	Value float64 `json:"value,omitempty"`
	// Answer is the coded value, for 67775-7 (A, C, V, P or U).
	Answer string    `json:"answer,omitempty"`
	Time   time.Time `json:"time"`
	// SourceID is the observation the reading was taken from.
	SourceID uuid.UUID `json:"sourceId"`
}

// ParameterReading is the reading a parameter was taken from.
type ParameterReading struct {
	Parameter NEWS2Parameter `json:"parameter"`
	Reading   Reading        `json:"reading"`
	// Stale is true when the reading is older than the window.
	Stale bool `json:"stale,omitempty"`
}

// CombinedStatus says whether a set of readings could be scored.
type CombinedStatus string

// The statuses of a combined set.
const (
	CombinedComplete   CombinedStatus = "complete"
	CombinedIncomplete CombinedStatus = "incomplete"
)

// CombinedNEWS2 is the NEWS2 of the newest reading of each parameter, or why
// there is none.
type CombinedNEWS2 struct {
	Status CombinedStatus `json:"status"`
	// Score is set only when Status is complete.
	Score *NEWS2 `json:"score,omitempty"`
	// Parameters are the newest reading of each parameter found, in Chart 1's
	// order, stale ones marked.
	Parameters []ParameterReading `json:"parameters"`
	// Missing are the parameters with no reading at all.
	Missing []NEWS2Parameter `json:"missing,omitempty"`
	// Stale are the parameters whose newest reading is older than the window.
	Stale []NEWS2Parameter `json:"stale,omitempty"`
	// WindowStart and WindowEnd bound the readings that count: the window
	// ends at the newest reading and includes its start.
	WindowStart time.Time `json:"windowStart"`
	WindowEnd   time.Time `json:"windowEnd"`
}

// CombineNEWS2 scores the newest reading of each of the seven parameters when
// every one was taken within window (DefaultNEWS2Window when window is not
// positive) ending at the newest reading; otherwise it reports the set
// incomplete, naming the parameters missing and stale, and scores nothing — a
// stale value is never scored. Readings of codes that do not feed NEWS2 are
// ignored; readings that do are checked like any observation, and every bad
// one is refused at once (*domain.ValidationError, fields "readings[i].…").
// Two readings of a parameter at the same time are told apart by SourceID:
// the greater (the later-created UUIDv7) wins.
func CombineNEWS2(readings []Reading, scale SpO2Scale, window time.Duration) (CombinedNEWS2, error) {
	if window <= 0 {
		window = DefaultNEWS2Window
	}
	if err := checkReadings(readings); err != nil {
		return CombinedNEWS2{}, err
	}
	params := NEWS2Parameters()
	newest := make(map[NEWS2Parameter]Reading, len(params))
	var end time.Time
	for _, r := range readings {
		p, ok := ParameterOf(r.Code)
		if !ok {
			continue
		}
		if r.Time.After(end) {
			end = r.Time
		}
		if cur, seen := newest[p]; !seen || r.Time.After(cur.Time) ||
			(r.Time.Equal(cur.Time) && bytes.Compare(r.SourceID[:], cur.SourceID[:]) > 0) {
			newest[p] = r
		}
	}
	out := CombinedNEWS2{Status: CombinedIncomplete, Parameters: []ParameterReading{}}
	if end.IsZero() {
		out.Missing = params
		return out, nil
	}
	out.WindowEnd, out.WindowStart = end, end.Add(-window)
	for _, p := range params {
		r, ok := newest[p]
		if !ok {
			out.Missing = append(out.Missing, p)
			continue
		}
		stale := r.Time.Before(out.WindowStart)
		if stale {
			out.Stale = append(out.Stale, p)
		}
		out.Parameters = append(out.Parameters, ParameterReading{Parameter: p, Reading: r, Stale: stale})
	}
	if len(out.Missing) > 0 || len(out.Stale) > 0 {
		return out, nil
	}
	score, err := ScoreNEWS2(NEWS2Input{
		RespiratoryRate:    newest[ParamRespirationRate].Value,
		SpO2:               newest[ParamSpO2].Value,
		Scale:              scale,
		SupplementalOxygen: onOxygen(newest[ParamAirOrOxygen]),
		SystolicBP:         newest[ParamSystolicBP].Value,
		Pulse:              newest[ParamPulse].Value,
		Consciousness:      Consciousness(newest[ParamConsciousness].Answer),
		Temperature:        newest[ParamTemperature].Value,
	})
	if err != nil {
		return CombinedNEWS2{}, err
	}
	out.Status, out.Score = CombinedComplete, &score
	return out, nil
}

// onOxygen reads "air or oxygen?" from an inhaled oxygen reading.
func onOxygen(r Reading) bool {
	if r.Code == CodeOxygenFlow {
		return r.Value > 0
	}
	return r.Value > roomAirFiO2
}

// checkReadings refuses NEWS2 readings with no time or a value that cannot
// be one of their code.
func checkReadings(readings []Reading) error {
	var v domain.ValidationError
	for i, r := range readings {
		if _, ok := ParameterOf(r.Code); !ok {
			continue
		}
		field := "readings[" + strconv.Itoa(i) + "]."
		if r.Time.IsZero() {
			v.Add(field+"time", "is required")
		}
		d := byCode[r.Code]
		if d.Kind == KindCoded {
			if _, err := CheckAnswer(r.Code, r.Answer); err != nil {
				v.Add(field+"answer", err.(*ValueError).Message)
			}
			continue
		}
		if math.IsNaN(r.Value) || !d.Possible.Contains(r.Value) {
			v.Add(field+"value", format(r.Value)+" "+d.Unit+" is outside what is possible for "+d.Display+
				" ("+format(d.Possible.Min)+"–"+format(d.Possible.Max)+" "+d.Unit+")")
		}
	}
	return v.OrNil()
}
