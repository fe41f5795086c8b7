package hl7v2

import (
	"testing"

	"github.com/zarish-sphere/zarish/integrations/hl7v2/internal/oracle"
)

// requireNode makes sure node and the oracle's npm packages are there.
func requireNode(t *testing.T) { t.Helper(); oracle.Require(t) }

// runNode runs a script of the oracle folder and decodes what it prints.
func runNode(t *testing.T, v any, script string, args ...string) {
	t.Helper()
	oracle.Run(t, v, script, args...)
}
