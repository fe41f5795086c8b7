package temporal_test

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/zarish-sphere/zarish/integrations/temporal"
)

// BenchmarkPayloadCodec measures sealing and opening one workflow payload
// the size of an encounter's start input (~300 bytes) and of a prescription
// with its checks (~4 KiB), beside the JSON conversion every payload costs
// anyway (ns/op of "convert" is that ceiling, measured in the same run).
func BenchmarkPayloadCodec(b *testing.B) {
	codec, err := temporal.NewCodec([]temporal.PayloadKey{key("k1", 1)})
	if err != nil {
		b.Fatal(err)
	}
	dc := converter.GetDefaultDataConverter()
	for _, size := range []struct {
		name  string
		bytes int
	}{{"encounter-300B", 300}, {"prescription-4KiB", 4096}} {
		input := map[string]string{"reason": string(make([]byte, size.bytes))}
		b.Run(size.name+"/convert", func(b *testing.B) {
			for b.Loop() {
				p, err := dc.ToPayload(input)
				if err != nil {
					b.Fatal(err)
				}
				var out map[string]string
				if err := dc.FromPayload(p, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/convert+seal+open", func(b *testing.B) {
			for b.Loop() {
				p, err := dc.ToPayload(input)
				if err != nil {
					b.Fatal(err)
				}
				sealed, err := codec.Encode([]*commonpb.Payload{p})
				if err != nil {
					b.Fatal(err)
				}
				opened, err := codec.Decode(sealed)
				if err != nil {
					b.Fatal(err)
				}
				var out map[string]string
				if err := dc.FromPayload(opened[0], &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
