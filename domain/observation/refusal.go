package observation

import "github.com/zarish-sphere/zarish/domain"

// Reason says why a value was refused. Callers match on it (errors.As, then
// Reason), never on the message.
type Reason string

// The reasons a value is refused.
const (
	// ReasonUnknownCode: the catalogue does not hold the code.
	ReasonUnknownCode Reason = "unknown-code"
	// ReasonWrongKind: a quantity for a coded code, an answer for a quantity, a value for a panel.
	ReasonWrongKind Reason = "wrong-kind"
	// ReasonUnknownUnit: the unit is missing or not a unit the engine knows.
	ReasonUnknownUnit Reason = "unknown-unit"
	// ReasonWrongDimension: the unit measures something else (kg for a temperature).
	ReasonWrongDimension Reason = "wrong-dimension"
	// ReasonUnsupportedUnit: the unit measures the right thing but the code does not accept it.
	ReasonUnsupportedUnit Reason = "unsupported-unit"
	// ReasonNotANumber: the value is NaN, infinite or not a number at all.
	ReasonNotANumber Reason = "not-a-number"
	// ReasonImpossible: the value lies outside what can physically or physiologically exist.
	ReasonImpossible Reason = "impossible-value"
	// ReasonUnknownAnswer: the answer is not in the code's answer list.
	ReasonUnknownAnswer Reason = "unknown-answer"
	// ReasonInconsistentPanel: the panel's components contradict each other or do not belong to it.
	ReasonInconsistentPanel Reason = "inconsistent-panel"
)

// The fields a ValueError names, relative to the observation's value: the API
// prefixes its own path (e.g. "valueQuantity.unit").
const (
	FieldCode       = "code"
	FieldUnit       = "unit"
	FieldValue      = "value"
	FieldComponents = "components"
)

// ValueError is a refused value: the field at fault, why, and a message for
// the person who entered it.
type ValueError struct {
	Field   string `json:"field"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

func (e *ValueError) Error() string { return e.Field + ": " + e.Message }

// FieldError is the refusal in the form domain.ValidationError collects.
func (e *ValueError) FieldError() domain.FieldError {
	return domain.FieldError{Field: e.Field, Message: e.Message}
}

func refuse(field string, reason Reason, message string) *ValueError {
	return &ValueError{Field: field, Reason: reason, Message: message}
}
