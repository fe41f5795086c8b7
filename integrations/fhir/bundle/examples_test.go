package bundle_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
	"github.com/zarish-sphere/zarish/integrations/fhir/internal/official"
)

var update = flag.Bool("update", false, "rewrite testdata/official-examples.golden from what the import does now")

// examplesGolden is what the import makes of each official example.
const examplesGolden = "testdata/official-examples.golden"

// exampleOutcome is what the import made of one example: the patient or
// observation stored, or the reason it was refused.
type exampleOutcome struct {
	Status      int            `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	Patient     *patientShape  `json:"patient,omitempty"`
	Observation *observedShape `json:"observation,omitempty"`
}

type patientShape struct {
	Name        string   `json:"name"`
	BirthDate   string   `json:"birthDate"`
	Sex         string   `json:"sex"`
	Identifiers []string `json:"identifiers,omitempty"`
}

type observedShape struct {
	Code        string   `json:"code"`
	Status      string   `json:"status"`
	EffectiveAt string   `json:"effectiveAt"`
	Value       string   `json:"value,omitempty"`
	Components  []string `json:"components,omitempty"`
	Flag        string   `json:"flag,omitempty"`
	Subject     string   `json:"subject"`
}

// The official R4 examples of Patient and Observation, imported in one
// batch (each Observation's subject, Patient/<id>, resolves to the Patient
// example of that id), each become exactly what the golden file says: the
// patient or observation stored (Patient-mom is 200: the same SSN as
// Patient-genetics-example1, Eve Everywoman, registered first), or the
// exact reason it is refused. Run
// with -update to rewrite the file after a deliberate change, and read the
// difference.
func TestOfficialExamplesImport(t *testing.T) {
	files := append(official.Examples(t, "Patient"), official.Examples(t, "Observation")...)
	var (
		entries []string
		names   []string
		ids     = map[uuid.UUID]string{} // patient id → its example's file
	)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ ResourceType, ID string }
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"http://hl7.org/fhir/%s/%s","resource":%s,"request":{"method":"POST","url":"%s"}}`,
			head.ResourceType, head.ID, bytes.TrimSpace(raw), head.ResourceType))
		names = append(names, filepath.Base(f))
	}
	body := `{"resourceType":"Bundle","type":"batch","entry":[` + strings.Join(entries, ",") + `]}`
	store := newMemoryStore()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r, err := bundle.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := bundle.New(store, func() time.Time { return now }, uuid.NewV7).Import(t.Context(), r, observation.Performer{ClientID: "importer"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != len(files) {
		t.Fatalf("%d answers for %d examples", len(res.Entries), len(files))
	}
	patients := map[string]patient.Patient{}
	for _, p := range store.data.patients {
		patients["Patient/"+p.ID.String()] = p
	}
	for i, e := range res.Entries {
		if p, ok := patients[e.Location]; ok {
			ids[p.ID] = names[i]
		}
	}
	observations := map[string]observation.Observation{}
	for _, o := range store.data.observations {
		observations["Observation/"+o.ID.String()] = o
	}
	got := map[string]exampleOutcome{}
	for i, e := range res.Entries {
		out := exampleOutcome{Status: e.Status, Reason: e.Reason}
		if p, ok := patients[e.Location]; ok {
			out.Patient = &patientShape{Name: strings.TrimSpace(strings.Join(p.Name.Given, " ") + " " + p.Name.Family),
				BirthDate: p.BirthDate, Sex: p.Sex}
			for _, id := range p.Identifiers {
				out.Patient.Identifiers = append(out.Patient.Identifiers, patient.IdentifierKey(id.System, id.Value))
			}
		}
		if o, ok := observations[e.Location]; ok {
			out.Observation = &observedShape{Code: o.Code, Status: string(o.Status), EffectiveAt: o.EffectiveAt.UTC().Format(time.RFC3339),
				Flag: string(o.Interpretation.Flag), Subject: ids[o.PatientID]}
			if v := o.Value; v != nil {
				switch {
				case v.Quantity != nil:
					out.Observation.Value = fmt.Sprintf("%g %s", v.Quantity.Canonical.Value, v.Quantity.Canonical.Unit)
				case v.Coding != nil:
					out.Observation.Value = v.Coding.Code
				case v.Boolean != nil:
					out.Observation.Value = fmt.Sprint(*v.Boolean)
				default:
					out.Observation.Value = v.Text
				}
			}
			for _, c := range o.Components {
				out.Observation.Components = append(out.Observation.Components,
					fmt.Sprintf("%s %g %s", c.Code, c.Value.Canonical.Value, c.Value.Canonical.Unit))
			}
		}
		if (e.Status == http.StatusCreated || e.Status == http.StatusOK) != (out.Patient != nil || out.Observation != nil) {
			t.Errorf("%s: %d, stored %v", names[i], e.Status, out.Patient != nil || out.Observation != nil)
		}
		got[names[i]] = out
	}
	encoded, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	encoded = append(encoded, '\n')
	if *update {
		if err := os.WriteFile(examplesGolden, encoded, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(examplesGolden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	var wantMap map[string]exampleOutcome
	if err := json.Unmarshal(want, &wantMap); err != nil {
		t.Fatal(err)
	}
	for name, w := range wantMap {
		g, ok := got[name]
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !ok || !bytes.Equal(gj, wj) {
			t.Errorf("%s:\n got  %s\n want %s", name, gj, wj)
		}
	}
	for name := range got {
		if _, ok := wantMap[name]; !ok {
			t.Errorf("%s is not in %s", name, examplesGolden)
		}
	}
}
