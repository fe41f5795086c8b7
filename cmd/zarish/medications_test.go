package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/domain/medication"
)

// A second knowledge-base version in MEDICATION_KB_DIRS is loaded beside
// the shipped one and may be made the active one; a directory that is not a
// valid version, or an unknown active version, stops the start with the
// setting named.
func TestMedicationKnowledgeVersions(t *testing.T) {
	shipped := filepath.Join("..", "..", "domain", "medication", "data", medication.EmbeddedVersion)
	next := t.TempDir()
	entries, err := os.ReadDir(shipped)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(shipped, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "manifest.json" {
			raw = []byte(strings.Replace(string(raw), `"version": "`+medication.EmbeddedVersion+`"`, `"version": "2027.01.1"`, 1))
		}
		if err := os.WriteFile(filepath.Join(next, e.Name()), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	reg, err := loadMedications(config.Medications{Dirs: []string{next}, Active: "2027.01.1"})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Active().Version() != "2027.01.1" || len(reg.Summaries()) != 2 {
		t.Fatalf("active %s, %d versions", reg.Active().Version(), len(reg.Summaries()))
	}
	if reg, err := loadMedications(config.Medications{}); err != nil || reg.Active().Version() != medication.EmbeddedVersion {
		t.Fatalf("default: %v", err)
	}
	if _, err := loadMedications(config.Medications{Active: "1999.01.1"}); err == nil || !strings.Contains(err.Error(), "MEDICATION_KB_ACTIVE") {
		t.Fatalf("unknown active version: %v", err)
	}
	if _, err := loadMedications(config.Medications{Dirs: []string{t.TempDir()}}); err == nil || !strings.Contains(err.Error(), "MEDICATION_KB_DIRS") {
		t.Fatalf("empty directory: %v", err)
	}
}
