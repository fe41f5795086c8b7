package medication_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/medication"
)

func readData(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("data", medication.EmbeddedVersion, name))
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q appears %d times", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}
