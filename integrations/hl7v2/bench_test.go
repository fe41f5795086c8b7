package hl7v2

import (
	"bytes"
	"testing"
)

// BenchmarkParseORU parses the real ORU^R01 messages, all of them per
// iteration, and reports messages per second beside MB/s.
func BenchmarkParseORU(b *testing.B) {
	var oru [][]byte
	size := 0
	for _, m := range realMessages(b) {
		msg, err := Parse(m.data)
		if err != nil || msg.Header.Type.Code != "ORU" || msg.Header.Type.Trigger != "R01" {
			continue
		}
		oru = append(oru, m.data)
		size += len(m.data)
	}
	if len(oru) == 0 {
		b.Fatal("no ORU^R01 message")
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range oru {
			if _, err := Parse(data); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(oru)*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkMapORU parses the real ORU^R01 messages and reads the fields
// later code maps (mapped), decoding their escapes: the cost of an ingest.
func BenchmarkMapORU(b *testing.B) {
	var oru [][]byte
	size := 0
	for _, m := range realMessages(b) {
		if msg, err := Parse(m.data); err == nil && msg.Header.Type.Code == "ORU" {
			oru = append(oru, m.data)
			size += len(m.data)
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range oru {
			m, err := Parse(data)
			if err != nil {
				b.Fatal(err)
			}
			_ = mapped(m)
		}
	}
	b.ReportMetric(float64(len(oru)*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReadFrame reads the real messages framed back to back.
func BenchmarkReadFrame(b *testing.B) {
	var stream bytes.Buffer
	n := 0
	for _, m := range realMessages(b) {
		if err := WriteFrame(&stream, m.data); err != nil {
			b.Fatal(err)
		}
		n++
	}
	data := stream.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), 0)
		for range n {
			if _, err := r.ReadFrame(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
