package alert

import (
	"time"

	"github.com/google/uuid"
)

// Filter narrows a list of alerts. Zero fields match everything; Limit
// defaults to 50 and is capped at 200.
type Filter struct {
	Status Status
	// Active keeps only the alerts not closed yet: open or acknowledged.
	Active    bool
	PatientID uuid.UUID
	// Recipient keeps only the alerts notified to this practitioner (at
	// any level, on any channel).
	Recipient uuid.UUID
	Limit     int
	Cursor    string // Next of the previous page
}

// Page is one page of alerts, newest first; Next is empty on the last page.
type Page struct {
	Alerts []Record
	Next   string
}

// Delivery is what became of one notification of an alert, as the
// notification dispatcher's log says.
type Delivery struct {
	NotificationID uuid.UUID  `json:"notificationId"`
	PractitionerID string     `json:"practitionerId"`
	Channel        string     `json:"channel"`
	Level          int        `json:"level"`
	Status         string     `json:"status"` // queued, failed, delivered or dead
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"lastError,omitempty"`
	DeliveredAt    *time.Time `json:"deliveredAt,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}
