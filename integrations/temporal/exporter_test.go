package temporal

import (
	"os"
	"testing"
)

// The embedded server refuses trace exporters it does not know; the engine's
// console exporter must not stop it, while otlp and none reach it unchanged.
func TestEmbeddedServerSeesOnlyExportersItKnows(t *testing.T) {
	for in, want := range map[string]string{"console": "none", "Console": "none", "otlp": "otlp", "none": "none", "": ""} {
		t.Setenv("OTEL_TRACES_EXPORTER", in)
		hideUnknownTraceExporter()
		if got := os.Getenv("OTEL_TRACES_EXPORTER"); got != want {
			t.Errorf("OTEL_TRACES_EXPORTER=%q reaches the server as %q, want %q", in, got, want)
		}
	}
}
