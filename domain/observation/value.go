package observation

import (
	"slices"
	"strconv"
	"strings"
)

// CheckAnswer returns the answer a coded observation of the code carries, or
// refuses an unknown code, a code that is not coded, or an answer outside the
// code's answer list. Answer codes are case-sensitive.
func CheckAnswer(code, answer string) (Answer, error) {
	d, ok := byCode[code]
	if !ok {
		return Answer{}, refuse(FieldCode, ReasonUnknownCode, "LOINC "+code+" is not in the observation catalogue")
	}
	if d.Kind != KindCoded {
		return Answer{}, refuse(FieldValue, ReasonWrongKind, d.Display+" ("+code+") takes a "+string(d.Kind)+" value, not a coded answer")
	}
	for _, a := range d.Answers {
		if a.Code == answer {
			return a, nil
		}
	}
	codes := make([]string, len(d.Answers))
	for i, a := range d.Answers {
		codes[i] = a.Code
	}
	return Answer{}, refuse(FieldValue, ReasonUnknownAnswer, strconv.Quote(answer)+" is not an answer to "+d.Display+": use one of "+strings.Join(codes, ", "))
}

// Component is one member of a panel: its code and its value in the code's
// canonical unit (see Canonical).
type Component struct {
	Code  string  `json:"code"`
	Value float64 `json:"value"`
}

// CheckPanel refuses components that do not form the panel: a code that is
// not one of its components, a component given twice, a value that cannot
// exist, or — for the blood pressure panel — a systolic pressure below the
// diastolic one.
func CheckPanel(code string, parts []Component) error {
	d, ok := byCode[code]
	if !ok {
		return refuse(FieldCode, ReasonUnknownCode, "LOINC "+code+" is not in the observation catalogue")
	}
	if d.Kind != KindPanel {
		return refuse(FieldCode, ReasonWrongKind, d.Display+" ("+code+") is not a panel")
	}
	if len(parts) == 0 {
		return refuse(FieldComponents, ReasonInconsistentPanel, "at least one of "+strings.Join(d.Components, ", ")+" is required")
	}
	values := make(map[string]float64, len(parts))
	for i, p := range parts {
		field := FieldComponents + "[" + strconv.Itoa(i) + "]"
		if !slices.Contains(d.Components, p.Code) {
			return refuse(field, ReasonInconsistentPanel, p.Code+" is not a component of "+d.Display+": use "+strings.Join(d.Components, ", "))
		}
		if _, twice := values[p.Code]; twice {
			return refuse(field, ReasonInconsistentPanel, p.Code+" is given twice")
		}
		c := byCode[p.Code]
		if !c.Possible.Contains(p.Value) {
			return refuse(field, ReasonImpossible, format(p.Value)+" "+c.Unit+" is outside what is possible for "+c.Display+
				" ("+format(c.Possible.Min)+"–"+format(c.Possible.Max)+" "+c.Unit+")")
		}
		values[p.Code] = p.Value
	}
	sys, hasSys := values[CodeSystolicBP]
	dia, hasDia := values[CodeDiastolicBP]
	if code == CodeBloodPressurePanel && hasSys && hasDia && sys < dia {
		return refuse(FieldComponents, ReasonInconsistentPanel, "systolic pressure ("+format(sys)+" mm[Hg]) is below diastolic ("+format(dia)+" mm[Hg])")
	}
	return nil
}
