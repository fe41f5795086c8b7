package hl7v2

// HD is a hierarchic designator (an application or facility): MSH-3 to
// MSH-6.
type HD struct {
	NamespaceID     string // HD.1
	UniversalID     string // HD.2, such as an OID
	UniversalIDType string // HD.3, such as "ISO" or "DNS"
}

// MessageType is MSH-9.
type MessageType struct {
	Code      string // MSH-9.1, such as "ORU"
	Trigger   string // MSH-9.2, such as "R01"
	Structure string // MSH-9.3, such as "ORU_R01"
}

// Header holds the facts of a message's MSH segment, decoded.
type Header struct {
	Delimiters Delimiters

	SendingApplication   HD          // MSH-3
	SendingFacility      HD          // MSH-4
	ReceivingApplication HD          // MSH-5
	ReceivingFacility    HD          // MSH-6
	DateTime             string      // MSH-7.1, as written (DTM)
	Type                 MessageType // MSH-9
	ControlID            string      // MSH-10, its whole first repetition
	ProcessingID         string      // MSH-11.1: P, D or T
	ProcessingMode       string      // MSH-11.2
	Version              string      // MSH-12.1, such as "2.5.1"
	AcceptAckType        string      // MSH-15: AL, NE, ER or SU
	ApplicationAckType   string      // MSH-16
	Charset              string      // MSH-18, first repetition, as written

	// Position is the MSH segment's place in the message: 1, or later after
	// a batch envelope.
	Position int

	cs charset
}

// readHeader fills a Header from an MSH segment.
func readHeader(msh *Segment) Header {
	hd := func(n int) HD {
		f := msh.Field(n)
		return HD{NamespaceID: f.Comp(1).Text(), UniversalID: f.Comp(2).Text(), UniversalIDType: f.Comp(3).Text()}
	}
	typ := msh.Field(9)
	return Header{
		Delimiters:           msh.c.d,
		SendingApplication:   hd(3),
		SendingFacility:      hd(4),
		ReceivingApplication: hd(5),
		ReceivingFacility:    hd(6),
		DateTime:             msh.Field(7).Comp(1).Text(),
		Type:                 MessageType{Code: typ.Comp(1).Text(), Trigger: typ.Comp(2).Text(), Structure: typ.Comp(3).Text()},
		ControlID:            msh.Field(10).Text(),
		ProcessingID:         msh.Field(11).Comp(1).Text(),
		ProcessingMode:       msh.Field(11).Comp(2).Text(),
		Version:              msh.Field(12).Comp(1).Text(),
		AcceptAckType:        msh.Field(15).Text(),
		ApplicationAckType:   msh.Field(16).Text(),
		Charset:              msh.Field(18).Text(),
		Position:             msh.position,
		cs:                   msh.c.cs,
	}
}

// Check reports the MSH fields a receiver needs to route and acknowledge the
// message that are empty, each as a RequiredFieldMissing Error located at
// the field (or the component, when only a component is missing): MSH-9.1
// (message code), MSH-9.2 (trigger event, except in an ACK, whose trigger
// older versions leave out), MSH-10 (control ID), MSH-11.1 (processing ID)
// and MSH-12.1 (version). It returns nil when none is missing.
func (h *Header) Check() []*Error {
	var errs []*Error
	missing := func(field, comp int, what string) {
		errs = append(errs, &Error{
			Code: RequiredFieldMissing, Segment: "MSH", Sequence: 1, Position: h.Position,
			Field: field, Component: comp, Message: what + " is empty",
		})
	}
	switch {
	case h.Type == MessageType{}:
		missing(9, 0, "MSH-9, the message type,")
	case h.Type.Code == "":
		missing(9, 1, "MSH-9.1, the message code,")
	case h.Type.Trigger == "" && h.Type.Code != "ACK":
		missing(9, 2, "MSH-9.2, the trigger event,")
	}
	if h.ControlID == "" {
		missing(10, 0, "MSH-10, the message control ID,")
	}
	if h.ProcessingID == "" {
		missing(11, 0, "MSH-11, the processing ID,")
	}
	if h.Version == "" {
		missing(12, 0, "MSH-12, the version ID,")
	}
	return errs
}
