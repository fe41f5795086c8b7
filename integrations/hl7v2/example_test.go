package hl7v2_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zarish-sphere/zarish/integrations/hl7v2"
)

func ExampleParse() {
	raw := "MSH|^~\\&|LAB|HOSP|EHR|WARD|20240102||ORU^R01^ORU_R01|C1|P|2.5.1\r" +
		"PID|1||MRN1^^^HOSP^MR~123-45-6789^^^SSA^SS||Doe^Jane\r" +
		"OBX|1|FT|X||first line\\.br\\second\r"
	m, err := hl7v2.Parse([]byte(raw))
	if err != nil {
		fmt.Println(err)
		return
	}
	pid := m.First("PID")
	fmt.Println(m.Header.Type.Code, m.Header.Type.Trigger, m.Header.ControlID)
	fmt.Println(pid.Field(3).Rep(2).Comp(5).Text(), pid.Field(5).Comp(1).Text())
	fmt.Printf("%q\n", m.First("OBX").Field(5).Text())
	// Output:
	// ORU R01 C1
	// SS Doe
	// "first line\nsecond"
}

func ExampleParse_error() {
	_, err := hl7v2.Parse([]byte("MSH|^~\\&|LAB|HOSP|EHR|WARD|20240102||ORU^R01|C2|P|2.5.1\rPID|1||A||Ren\xe9e\r"))
	var e *hl7v2.Error
	if errors.As(err, &e) {
		fmt.Println(int(e.Code), e.Code, e.Location())
	}
	// Output: 102 Data type error PID-5.1.1
}

func ExampleACK() {
	m, _ := hl7v2.Parse([]byte("MSH|^~\\&|LAB|HOSP|EHR|WARD|20240102||ORU^R01^ORU_R01|C3|P|2.5.1\rPID|1\r"))
	ack := hl7v2.ACK(&m.Header, hl7v2.Acknowledgment{
		Code:      hl7v2.AckError,
		ControlID: "ACK-1",
		Time:      time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Errors: []error{&hl7v2.Error{
			Code: hl7v2.RequiredFieldMissing, Segment: "PID", Sequence: 1, Field: 3, Message: "PID-3 is empty",
		}},
	})
	fmt.Println(strings.ReplaceAll(string(ack), "\r", "\n"))
	// Output:
	// MSH|^~\&|EHR|WARD|LAB|HOSP|20240102030405+0000||ACK^R01^ACK|ACK-1|P|2.5.1
	// MSA|AE|C3
	// ERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 is empty
}
