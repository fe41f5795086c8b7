package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/dicom"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// The dcmtk-made files of the DICOM reader's tests: the CT (its explicit
// and implicit VR encodings share one SOP Instance UID) and the JPEG
// baseline image of another study and patient.
const (
	dicomTestdata = "../integrations/dicom/testdata/"
	ctSOP         = "1.2.826.0.1.3680043.10.1407.3.1.1"
	ctStudy       = "1.2.826.0.1.3680043.10.1407.1.1"
	ctSeries      = "1.2.826.0.1.3680043.10.1407.2.1"
	jpegSOP       = "1.2.826.0.1.3680043.10.1407.3.2.1"
	jpegStudy     = "1.2.826.0.1.3680043.10.1407.1.2"
)

const imagingToken = "pacs"

// dicomAPI serves the DICOM routes on a fresh database, storing under dir.
type dicomAPI struct {
	srv      *httptest.Server
	audit    *postgres.AuditStore
	patients *postgres.PatientStore
	verifier stubVerifier
	dir      string
}

// newDICOMAPI serves the DICOM routes behind the middleware NewRouter puts
// before every route — request id, the audit record, the token and its
// scope, the OpenAPI document's input checks, the patient confinement —
// until the router itself serves them.
func newDICOMAPI(t *testing.T, limits DICOMLimits) *dicomAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	d.Verifier.(stubVerifier)[imagingToken] = access.Principal{Subject: imagingToken, ClientID: imagingToken,
		Scopes: []string{"system/ImagingStudy.read", "system/ImagingStudy.write"}}
	d.Now, d.NewID = time.Now, uuid.NewV7
	a := &dicomAPI{audit: auditStore, patients: postgres.NewPatientStore(pool), verifier: d.Verifier.(stubVerifier), dir: t.TempDir()}
	routes := &dicomRoutes{store: postgres.NewDICOMStore(pool), patients: a.patients, auditLog: auditStore, dir: a.dir, limits: limits}
	a.srv = httptest.NewServer(serviceRouter(t, d, func(e *edge) []Route { routes.edge = e; return routes.routes() }))
	t.Cleanup(a.srv.Close)
	return a
}

func dicomFile(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(dicomTestdata + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// dicomPart is one part of a STOW-RS body.
type dicomPart struct {
	contentType string
	body        []byte
}

func dicomParts(t *testing.T, parts ...dicomPart) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		pw, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {p.contentType}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write(p.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return `multipart/related; type="application/dicom"; boundary=` + w.Boundary(), buf.Bytes()
}

func (a *dicomAPI) send(t *testing.T, token, contentType string, body []byte, headers ...string) result {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+dicomStudiesPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(raw)}
}

func stowResult(t *testing.T, r result, status int) []DICOMInstanceResult {
	t.Helper()
	if r.status != status {
		t.Fatalf("STOW-RS answered %d, want %d: %s", r.status, status, r.body)
	}
	var out DICOMStoreResult
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("not a STOW-RS answer: %s", r.body)
	}
	return out.Instances
}

// storedFiles lists the instance files under the storage root, and fails if
// anything is left in the incoming folder.
func (a *dicomAPI) storedFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(a.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a.dir, path)
		if strings.HasPrefix(rel, dicomIncoming) {
			t.Errorf("left in the incoming folder: %s", rel)
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func (a *dicomAPI) studies(t *testing.T, query string) []DICOMStudyView {
	t.Helper()
	r := call(t, a.srv, http.MethodGet, dicomStudiesPath+query, imagingToken, "")
	if r.status != http.StatusOK {
		t.Fatalf("QIDO-RS %s: %d %s", query, r.status, r.body)
	}
	var page DICOMStudyPage
	if err := json.Unmarshal([]byte(r.body), &page); err != nil {
		t.Fatal(err)
	}
	return page.Data
}

func studyUIDs(studies []DICOMStudyView) []string {
	out := []string{}
	for _, s := range studies {
		out = append(out, s.StudyInstanceUID)
	}
	return out
}

func instanceURL(study, series, sop string) string {
	return dicomStudiesPath + "/" + study + "/series/" + series + "/instances/" + sop
}

// STOW-RS stores two good instances of a multipart body and refuses its
// two bad parts with their reasons (202); the same instance sent again is
// not stored twice, and other bytes under its UID are refused (409) with
// the stored file kept. QIDO-RS finds the studies by patient, date, range,
// modality and accession; WADO-RS returns the exact bytes stored.
func TestDICOMStoreSearchRetrieve(t *testing.T) {
	a := newDICOMAPI(t, DICOMLimits{})
	ct, jpeg := dicomFile(t, "ct_explicit.dcm"), dicomFile(t, "jpeg_baseline.dcm")
	junk := bytes.Repeat([]byte("not a DICOM file "), 20)
	contentType, body := dicomParts(t,
		dicomPart{mediaDICOM, ct},
		dicomPart{"text/plain", []byte("hello")},
		dicomPart{mediaDICOM, jpeg},
		dicomPart{mediaDICOM, junk},
	)
	got := stowResult(t, a.send(t, imagingToken, contentType, body), http.StatusAccepted)
	if len(got) != 4 {
		t.Fatalf("answered %d parts of 4: %+v", len(got), got)
	}
	if got[0].Status != dicomStored || got[0].SOPInstanceUID != ctSOP || got[0].StudyInstanceUID != ctStudy ||
		got[0].URL != instanceURL(ctStudy, ctSeries, ctSOP) || !slices.Contains(got[0].Warnings, warnPatientNotMatched) {
		t.Errorf("the CT: %+v", got[0])
	}
	if got[1].Status != dicomRefused || got[1].Code != RefusedNotDICOMMedia || !strings.Contains(got[1].Reason, "text/plain") {
		t.Errorf("the text part: %+v", got[1])
	}
	if got[2].Status != dicomStored || got[2].SOPInstanceUID != jpegSOP {
		t.Errorf("the JPEG: %+v", got[2])
	}
	if got[3].Status != dicomRefused || got[3].Code != RefusedNotDICOM || got[3].Offset == nil || got[3].Reason == "" {
		t.Errorf("the junk part: %+v", got[3])
	}
	if files := a.storedFiles(t); len(files) != 2 {
		t.Fatalf("stored files %v, want the two instances", files)
	}

	// The CT again, as one application/dicom body: already stored, once.
	r := a.send(t, imagingToken, mediaDICOM, ct)
	again := stowResult(t, r, http.StatusOK)
	if len(again) != 1 || again[0].Status != dicomAlreadyStored {
		t.Fatalf("the CT sent again: %+v", again)
	}
	if files := a.storedFiles(t); len(files) != 2 {
		t.Fatalf("stored files %v after the CT was sent again", files)
	}
	records := recordsFor(t, a.audit, r.header.Get("X-Request-Id"))
	if len(records) != 1 || records[0].Action != audit.ActionCreate || records[0].EntityType != "ImagingStudy" ||
		records[0].EntityID != ctStudy || records[0].Outcome != audit.OutcomeSuccess {
		t.Fatalf("audit records of the CT sent again: %+v", records)
	}

	// The same SOP instance in another encoding: other bytes, refused.
	conflict := stowResult(t, a.send(t, imagingToken, mediaDICOM, dicomFile(t, "ct_implicit.dcm")), http.StatusConflict)
	if conflict[0].Status != dicomRefused || conflict[0].Code != RefusedStoredDifferently || conflict[0].SOPInstanceUID != ctSOP {
		t.Fatalf("other bytes under the CT's UID: %+v", conflict)
	}
	if files := a.storedFiles(t); len(files) != 2 {
		t.Fatalf("stored files %v after a conflict", files)
	}

	// QIDO-RS.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{jpegStudy, ctStudy}},
		{"?PatientID=ZS-000123", []string{ctStudy}},
		{"?PatientID=ZS-000777", []string{jpegStudy}},
		{"?StudyDate=20240305", []string{ctStudy}},
		{"?StudyDate=20240301-20240305", []string{ctStudy}},
		{"?StudyDate=20240306-", []string{jpegStudy}},
		{"?StudyDate=-20241231", []string{jpegStudy, ctStudy}},
		{"?ModalitiesInStudy=OT", []string{jpegStudy}},
		{"?ModalitiesInStudy=MR,CT", []string{ctStudy}},
		{"?AccessionNumber=ACC-2024-0042", []string{ctStudy}},
		{"?StudyInstanceUID=" + jpegStudy, []string{jpegStudy}},
		{"?limit=1&offset=1", []string{ctStudy}},
		{"?PatientID=nobody", []string{}},
	} {
		if got := studyUIDs(a.studies(t, tc.query)); !slices.Equal(got, tc.want) {
			t.Errorf("QIDO-RS %q: %v, want %v", tc.query, got, tc.want)
		}
	}
	study := a.studies(t, "?StudyInstanceUID="+ctStudy)[0]
	if study.StudyDate != "2024-03-05" || study.NumberOfSeries != 1 || study.NumberOfInstances != 1 ||
		!slices.Equal(study.ModalitiesInStudy, []string{"CT"}) || study.PatientName != "Rahman^Ayesha^Begum^Ms" ||
		study.DICOMPatientID != "ZS-000123" || study.PatientID != nil {
		t.Errorf("the CT's study: %+v", study)
	}
	for _, query := range []string{"?StudyDate=2024-03-05", "?StudyDate=20240331-20240301", "?colour=blue", "?limit=0", "?offset=-1"} {
		if r := call(t, a.srv, http.MethodGet, dicomStudiesPath+query, imagingToken, ""); r.status != http.StatusBadRequest {
			t.Errorf("QIDO-RS %q: %d %s, want 400", query, r.status, r.body)
		}
	}

	// WADO-RS: the bytes stored, single or in one part.
	r = call(t, a.srv, http.MethodGet, instanceURL(ctStudy, ctSeries, ctSOP), imagingToken, "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != mediaDICOM || sha256.Sum256([]byte(r.body)) != sha256.Sum256(ct) {
		t.Fatalf("WADO-RS of the CT: %d %s, %d bytes", r.status, r.header.Get("Content-Type"), len(r.body))
	}
	if records := recordsFor(t, a.audit, r.header.Get("X-Request-Id")); len(records) != 1 || records[0].Action != audit.ActionRead ||
		records[0].EntityID != ctStudy {
		t.Fatalf("audit records of the retrieval: %+v", records)
	}
	r = call(t, a.srv, http.MethodGet, instanceURL(ctStudy, ctSeries, ctSOP), imagingToken, "", "Accept", `multipart/related; type="application/dicom"`)
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if r.status != http.StatusOK || err != nil || mt != mediaMultipart {
		t.Fatalf("WADO-RS as multipart: %d %s", r.status, r.header.Get("Content-Type"))
	}
	part, err := multipart.NewReader(strings.NewReader(r.body), params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	inPart, _ := io.ReadAll(part)
	if part.Header.Get("Content-Type") != mediaDICOM || !bytes.Equal(inPart, ct) {
		t.Fatalf("the part holds %d bytes of %s", len(inPart), part.Header.Get("Content-Type"))
	}
	for _, path := range []string{
		instanceURL(ctStudy, "1.2.3", ctSOP),
		instanceURL(jpegStudy, ctSeries, ctSOP),
		instanceURL(ctStudy, ctSeries, "1.2.3"),
	} {
		if r := call(t, a.srv, http.MethodGet, path, imagingToken, ""); r.status != http.StatusNotFound || decodeErr(t, r).Error != CodeNotFound {
			t.Errorf("WADO-RS %s: %d %s, want 404", path, r.status, r.body)
		}
	}
	if r := call(t, a.srv, http.MethodGet, instanceURL(ctStudy, ctSeries, "not-a-uid"), imagingToken, ""); r.status != http.StatusBadRequest {
		t.Errorf("WADO-RS of a malformed UID: %d", r.status)
	}
}

// A file cut short is refused with the reader's reason and where it
// stopped, a body that is not the multipart it claims stores nothing, and
// the routes need the ImagingStudy scopes.
func TestDICOMStoreRefusals(t *testing.T) {
	a := newDICOMAPI(t, DICOMLimits{})
	ct := dicomFile(t, "ct_explicit.dcm")

	cut := stowResult(t, a.send(t, imagingToken, mediaDICOM, ct[:len(ct)-10]), http.StatusConflict)
	if cut[0].Status != dicomRefused || cut[0].Code != RefusedTruncated || cut[0].Offset == nil ||
		!strings.Contains(cut[0].Reason, "truncated") || cut[0].Tag == "" {
		t.Fatalf("a truncated file: %+v", cut)
	}
	header := stowResult(t, a.send(t, imagingToken, mediaDICOM, ct[:401]), http.StatusConflict)
	if header[0].Code != RefusedTruncated || *header[0].Offset > 401 {
		t.Fatalf("a file cut in its header: %+v", header)
	}

	contentType, body := dicomParts(t, dicomPart{mediaDICOM, ct})
	malformed := a.send(t, imagingToken, strings.Replace(contentType, "boundary=", "boundary=other", 1), body)
	if malformed.status != http.StatusBadRequest || decodeErr(t, malformed).Error != CodeValidationFailed {
		t.Fatalf("a body without its boundary: %d %s", malformed.status, malformed.body)
	}
	cutBody := a.send(t, imagingToken, contentType, body[:len(body)/2])
	if cutBody.status != http.StatusBadRequest {
		t.Fatalf("a multipart body cut short: %d %s", cutBody.status, cutBody.body)
	}
	if r := a.send(t, imagingToken, "application/json", []byte(`{}`)); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("a JSON body: %d %s", r.status, r.body)
	}
	if r := a.send(t, imagingToken, `multipart/related; type="application/dicom+json"; boundary=x`, body); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("DICOM JSON metadata: %d %s", r.status, r.body)
	}
	if files := a.storedFiles(t); len(files) != 0 {
		t.Fatalf("refused requests stored %v", files)
	}

	none := &dicomRoutes{}
	unconfigured := httptest.NewServer(serviceRouter(t, Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Verifier: a.verifier, Now: time.Now, NewID: uuid.NewV7}, func(e *edge) []Route { none.edge = e; return none.routes() }))
	defer unconfigured.Close()
	if r := call(t, unconfigured, http.MethodGet, dicomStudiesPath, imagingToken, ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("a server that stores no DICOM: %d %s", r.status, r.body)
	}
	if r := a.send(t, readerToken, mediaDICOM, ct); r.status != http.StatusForbidden {
		t.Fatalf("STOW-RS without system/ImagingStudy.write: %d", r.status)
	}
	if r := call(t, a.srv, http.MethodGet, dicomStudiesPath, readerToken, ""); r.status != http.StatusForbidden {
		t.Fatalf("QIDO-RS without system/ImagingStudy.read: %d", r.status)
	}
}

// An instance larger than the cap ends the request with 413, and nothing
// of the request is stored: not even the instances before it.
func TestDICOMStoreSizeCap(t *testing.T) {
	a := newDICOMAPI(t, DICOMLimits{MaxInstanceBytes: 1000, MaxParts: 2})
	small, large := dicomFile(t, "name_latin1.dcm"), dicomFile(t, "ct_explicit.dcm")
	if len(small) > 1000 || len(large) <= 1000 {
		t.Fatalf("the test files are %d and %d bytes", len(small), len(large))
	}
	contentType, body := dicomParts(t, dicomPart{mediaDICOM, small}, dicomPart{mediaDICOM, large})
	r := a.send(t, imagingToken, contentType, body)
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(decodeErr(t, r).Message, "Part 2") {
		t.Fatalf("an instance over the cap: %d %s", r.status, r.body)
	}
	contentType, body = dicomParts(t, dicomPart{mediaDICOM, small}, dicomPart{mediaDICOM, small}, dicomPart{mediaDICOM, small})
	if r := a.send(t, imagingToken, contentType, body); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("more parts than the cap: %d %s", r.status, r.body)
	}
	if files := a.storedFiles(t); len(files) != 0 {
		t.Fatalf("a refused request stored %v", files)
	}
	if got := a.studies(t, ""); len(got) != 0 {
		t.Fatalf("a refused request indexed %v", studyUIDs(got))
	}
}

// An instance whose Patient ID is a registered patient's MRN is linked to
// that patient, and its study found with our patient's id.
func TestDICOMStoreMatchesPatientByMRN(t *testing.T) {
	a := newDICOMAPI(t, DICOMLimits{})
	registered, _, err := a.patients.Register(context.Background(), nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, patient.Details{
			Name: patient.Name{Given: []string{"Ayesha"}, Family: "Rahman"}, BirthDate: "1987-04-12", Sex: "female"}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	ct := withPatientID(t, dicomFile(t, "ct_explicit.dcm"), "ZS-000123 ", registered.MRN)
	got := stowResult(t, a.send(t, imagingToken, mediaDICOM, ct), http.StatusOK)
	if got[0].Status != dicomStored || got[0].PatientID == nil || *got[0].PatientID != registered.ID || got[0].Order == nil ||
		got[0].Order.Code != dicom.NotLinkedNoOrder || !slices.Equal(got[0].Warnings, []string{got[0].Order.Reason}) {
		t.Fatalf("the CT of a registered patient: %+v", got[0])
	}
	studies := a.studies(t, "?PatientID="+registered.MRN)
	if len(studies) != 1 || studies[0].PatientID == nil || *studies[0].PatientID != registered.ID {
		t.Fatalf("the patient's studies: %+v", studies)
	}

	// A token launched for the patient retrieves the instance; one launched
	// for another patient does not.
	launched := func(p uuid.UUID) string {
		token := "launch-" + p.String()
		a.verifier[token] = access.Principal{Subject: token, ClientID: "viewer", Scopes: []string{"patient/ImagingStudy.rs"}, Patient: p.String()}
		return token
	}
	url := instanceURL(ctStudy, ctSeries, ctSOP)
	if r := call(t, a.srv, http.MethodGet, url, launched(registered.ID), ""); r.status != http.StatusOK || !bytes.Equal([]byte(r.body), ct) {
		t.Fatalf("the patient's own instance: %d", r.status)
	}
	if r := call(t, a.srv, http.MethodGet, url, launched(uuid.Must(uuid.NewV7())), ""); r.status != http.StatusForbidden ||
		decodeErr(t, r).Error != CodePatientContext {
		t.Fatalf("another patient's instance: %d %s", r.status, r.body)
	}
}

// withPatientID is raw with its Patient ID value old (padded as encoded)
// replaced by id, padded with spaces to the same length.
func withPatientID(t *testing.T, raw []byte, old, id string) []byte {
	t.Helper()
	if len(id) > len(old) {
		t.Fatalf("MRN %s is longer than the value it replaces", id)
	}
	if bytes.Count(raw, []byte(old)) != 1 {
		t.Fatalf("%q is not in the file once", old)
	}
	return bytes.Replace(raw, []byte(old), []byte(fmt.Sprintf("%-*s", len(old), id)), 1)
}

// The dcmtk-made instances of a study performed for an imaging order
// (ct_order.dump): their Accession Number and Patient ID are placeholders
// the tests replace.
const (
	orderStudy        = "1.2.826.0.1.3680043.10.1407.1.3"
	orderSeries       = "1.2.826.0.1.3680043.10.1407.2.3"
	orderSOP1         = "1.2.826.0.1.3680043.10.1407.3.3.1"
	orderSOP2         = "1.2.826.0.1.3680043.10.1407.3.3.2"
	accessionHolder   = "ACCESSION-NUMBER"
	patientIDHolder   = "ZS-PLACEHOLDER"
	ctHead            = "24725-4"
	pacsToken         = "pacs-linking"
	imagesOnlyToken   = "pacs-images-only"
	linkScopeForTests = "system/DiagnosticReport.write"
)

// dicomOrdersAPI serves the DICOM routes beside the diagnostic ones, on one
// database, with the fake Temporal of the diagnostic tests: STOW-RS links
// studies to their orders through it.
type dicomOrdersAPI struct {
	*diagnosticsAPI
	dicom *httptest.Server
	mrn   string
}

func newDICOMOrdersAPI(t *testing.T) *dicomOrdersAPI {
	t.Helper()
	d := newDiagnosticsAPI(t)
	imaging := []string{"system/ImagingStudy.read", "system/ImagingStudy.write", access.ScopeActOnBehalf}
	d.verifier[pacsToken] = access.Principal{Subject: "pacs", ClientID: "pacs", Scopes: append(slices.Clone(imaging), linkScopeForTests)}
	d.verifier[imagesOnlyToken] = access.Principal{Subject: "archive", ClientID: "archive", Scopes: imaging}
	deps := Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", Audit: d.audit, Verifier: d.verifier,
		CareTeam: postgres.NewCareTeamStore(d.pool), Now: time.Now, NewID: uuid.NewV7, Health: NewHealth(nil, time.Second), Metrics: NewMetrics()}
	patients := postgres.NewPatientStore(d.pool)
	routes := &dicomRoutes{store: postgres.NewDICOMStore(d.pool), patients: patients, auditLog: d.audit, dir: t.TempDir(), temporal: d.temporal}
	a := &dicomOrdersAPI{diagnosticsAPI: d}
	a.dicom = httptest.NewServer(serviceRouter(t, deps, func(e *edge) []Route { routes.edge = e; return routes.routes() }))
	t.Cleanup(a.dicom.Close)
	p, err := patients.Get(context.Background(), d.patient)
	if err != nil {
		t.Fatal(err)
	}
	a.mrn = p.MRN
	return a
}

// orderInstance is ct_order_<n>.dcm with its Accession Number and Patient
// ID replaced, each padded with spaces to the placeholder's length.
func orderInstance(t *testing.T, n int, accession, patientID string) []byte {
	t.Helper()
	raw := dicomFile(t, fmt.Sprintf("ct_order_%d.dcm", n))
	if len(accession) > len(accessionHolder) {
		t.Fatalf("accession %s is longer than the placeholder", accession)
	}
	raw = bytes.Replace(raw, []byte(accessionHolder), []byte(fmt.Sprintf("%-*s", len(accessionHolder), accession)), 1)
	return withPatientID(t, raw, patientIDHolder, patientID)
}

func (a *dicomOrdersAPI) stow(t *testing.T, token string, status int, instances [][]byte, headers ...string) ([]DICOMInstanceResult, string) {
	t.Helper()
	parts := make([]dicomPart, len(instances))
	for i, in := range instances {
		parts[i] = dicomPart{mediaDICOM, in}
	}
	contentType, body := dicomParts(t, parts...)
	req, _ := http.NewRequest(http.MethodPost, a.dicom.URL+dicomStudiesPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.dicom.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return stowResult(t, result{res.StatusCode, res.Header, string(raw)}, status), res.Header.Get("X-Request-Id")
}

// links are the link-study Updates the fake Temporal was sent.
func (a *dicomOrdersAPI) links() []*diagnosticflow.LinkStudyRequest {
	a.temporal.mu.Lock()
	defer a.temporal.mu.Unlock()
	var out []*diagnosticflow.LinkStudyRequest
	for _, req := range a.temporal.sent {
		if l, ok := req.(*diagnosticflow.LinkStudyRequest); ok {
			out = append(out, l)
		}
	}
	return out
}

func (a *dicomOrdersAPI) qido(t *testing.T, query string) []DICOMStudyView {
	t.Helper()
	r := call(t, a.dicom, http.MethodGet, dicomStudiesPath+query, pacsToken, "")
	var page DICOMStudyPage
	if err := json.Unmarshal([]byte(r.body), &page); r.status != http.StatusOK || err != nil {
		t.Fatalf("QIDO-RS %s: %d %s", query, r.status, r.body)
	}
	return page.Data
}

// notLinked fails unless the instance is stored and says no order was
// linked, with code, in its order attribute and among its warnings.
func notLinked(t *testing.T, what string, got DICOMInstanceResult, accession, code string) {
	t.Helper()
	o := got.Order
	if (got.Status != dicomStored && got.Status != dicomAlreadyStored) || o == nil || o.Status != dicomOrderNotLinked ||
		o.Code != code || o.AccessionNumber != accession || o.Reason == "" || o.OrderID != nil || !slices.Contains(got.Warnings, o.Reason) {
		t.Fatalf("%s: %+v, order %+v; want not linked, %s", what, got, o, code)
	}
}

// An instance whose Accession Number names an imaging order of its patient
// links its study to the order through the link-study Update, as POST
// …/orders/{id}/studies does, acting for the practitioner X-On-Behalf-Of
// names — never for nobody, and only with the scope that route needs — and
// once per study: the instance sent again, or another of the study, links
// nothing again. QIDO-RS shows the order.
func TestDICOMStoreLinksTheStudyToItsOrder(t *testing.T) {
	a := newDICOMOrdersAPI(t)
	ordered := a.order(t, "routine", ctHead)
	id := ordered.Order.ID
	accession := dicom.OrderAccession(id)
	first, second := orderInstance(t, 1, accession, a.mrn), orderInstance(t, 2, accession, a.mrn)
	onBehalf := []string{"X-On-Behalf-Of", "Practitioner/" + radiologistID.String()}

	// A machine acting as itself stores the instance but links nothing.
	got, _ := a.stow(t, pacsToken, http.StatusOK, [][]byte{first})
	notLinked(t, "no person", got[0], accession, dicom.NotLinkedPersonRequired)
	if !strings.Contains(got[0].Order.Reason, "X-On-Behalf-Of") || len(a.links()) != 0 {
		t.Fatalf("without a person: %q, %d links", got[0].Order.Reason, len(a.links()))
	}
	// A token that may store images but not change a report links nothing.
	got, _ = a.stow(t, imagesOnlyToken, http.StatusOK, [][]byte{first}, onBehalf...)
	notLinked(t, "without the report's scope", got[0], accession, dicom.NotLinkedScopeRequired)
	if len(a.links()) != 0 {
		t.Fatalf("linked without %s", linkScopeForTests)
	}

	before, err := a.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	got, requestID := a.stow(t, pacsToken, http.StatusOK, [][]byte{first}, onBehalf...)
	studyID := StudyID(id, orderStudy)
	if o := got[0].Order; got[0].Status != dicomAlreadyStored || o == nil || o.Status != dicomOrderLinked || o.OrderID == nil ||
		*o.OrderID != id || o.ImagingStudyID == nil || *o.ImagingStudyID != studyID || o.AccessionNumber != accession ||
		o.Code != "" || len(got[0].Warnings) != 0 {
		t.Fatalf("the instance of the order's study: %+v, order %+v", got[0], got[0].Order)
	}
	links := a.links()
	want := diagnostic.ImagingStudy{ID: studyID, PatientID: a.patient, ReportID: id, ProcedureCode: ctHead, StudyUID: orderStudy,
		Modalities: []string{"CT"}, Series: []diagnostic.Series{{UID: orderSeries, Number: 2, Modality: "CT", Instances: 1}},
		Status: diagnostic.StudyAvailable}
	if len(links) != 1 || links[0].By != radiologistID || !sameStudy(links[0].Study, want) || links[0].Audit == nil {
		t.Fatalf("the Updates sent: %+v", links)
	}
	// The report moved as the same study linked by hand moves it.
	after, err := a.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	byHand, err := before.LinkStudy(want, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != byHand.Status || after.Version != before.Version+1 || after.Last().Kind != diagnostic.EventStudyLinked ||
		after.Last().Note != byHand.Last().Note || len(after.Studies) != 1 || after.Studies[0].NumberOfInstances != 1 {
		t.Fatalf("the report after the link: %s v%d %+v %+v; by hand %s %+v", after.Status, after.Version, after.Last(), after.Studies,
			byHand.Status, byHand.Last())
	}
	// The link is audited as the report's update, for its patient, beside
	// the instance's creation.
	records := recordsFor(t, a.audit, requestID)
	slices.SortFunc(records, func(x, y audit.Record) int { return strings.Compare(x.EntityType, y.EntityType) })
	if len(records) != 2 || records[0].EntityType != entityDiagnosticReport || records[0].EntityID != id.String() ||
		records[0].Action != audit.ActionUpdate || records[0].PatientID == nil || *records[0].PatientID != a.patient ||
		records[0].Actor.PractitionerID != radiologistID.String() || !records[0].Actor.Asserted ||
		records[1].EntityType != entityImagingStudy || records[1].Action != audit.ActionCreate {
		t.Fatalf("audit records of the link: %+v", records)
	}

	// Sent again, with another instance of the study: stored, linked once.
	got, _ = a.stow(t, pacsToken, http.StatusOK, [][]byte{first, second}, onBehalf...)
	for i, status := range []string{dicomAlreadyStored, dicomStored} {
		if o := got[i].Order; got[i].Status != status || o == nil || o.Status != dicomOrderAlreadyLinked || o.OrderID == nil || *o.OrderID != id {
			t.Fatalf("instance %d sent again: %+v, order %+v", i+1, got[i], o)
		}
	}
	if n := len(a.links()); n != 1 {
		t.Fatalf("%d link-study Updates after the study was sent again, want 1", n)
	}
	if again, _ := a.store.Get(context.Background(), id); again.Version != after.Version {
		t.Fatalf("the report moved again: v%d, v%d", again.Version, after.Version)
	}

	studies := a.qido(t, "?AccessionNumber="+accession)
	if len(studies) != 1 || studies[0].StudyInstanceUID != orderStudy || studies[0].OrderID == nil || *studies[0].OrderID != id ||
		studies[0].ImagingStudyID == nil || *studies[0].ImagingStudyID != studyID || studies[0].NumberOfInstances != 2 {
		t.Fatalf("QIDO-RS by the order's accession number: %+v", studies)
	}
	if got := a.qido(t, "?AccessionNumber=0000000000000000"); len(got) != 0 {
		t.Fatalf("QIDO-RS by another accession number: %+v", got)
	}
}

// sameStudy compares the study fields STOW-RS fills in.
func sameStudy(got, want diagnostic.ImagingStudy) bool {
	return got.ID == want.ID && got.PatientID == want.PatientID && got.ReportID == want.ReportID &&
		got.ProcedureCode == want.ProcedureCode && got.StudyUID == want.StudyUID && slices.Equal(got.Modalities, want.Modalities) &&
		slices.Equal(got.Series, want.Series) && got.Status == want.Status && got.BodySite == nil && got.Started == nil
}

// An order another system placed is named by its placer order number.
func TestDICOMStoreLinksByPlacerNumber(t *testing.T) {
	a := newDICOMOrdersAPI(t)
	cat, err := diagnostic.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnosticflow.NewOrder(diagnostic.Request{ID: uuid.Must(uuid.NewV7()), PatientID: a.patient, Tests: []string{ctHead},
		ClinicalInfo: "headache after a fall", OrdererID: physicianID, CreatedAt: time.Now(),
		Placer: &diagnostic.Placer{Sender: "RIS|GHH", Number: "RIS-0042"}}, cat)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.store.Create(context.Background(), nil, nil, r); err != nil {
		t.Fatal(err)
	}
	a.temporal.mu.Lock()
	a.temporal.reports[r.Order.ID] = r
	a.temporal.mu.Unlock()

	got, _ := a.stow(t, pacsToken, http.StatusOK, [][]byte{orderInstance(t, 1, "RIS-0042", a.mrn)},
		"X-On-Behalf-Of", "Practitioner/"+radiologistID.String())
	if o := got[0].Order; o == nil || o.Status != dicomOrderLinked || o.OrderID == nil || *o.OrderID != r.Order.ID || o.AccessionNumber != "RIS-0042" {
		t.Fatalf("the placer's order: %+v", o)
	}
	if links := a.links(); len(links) != 1 || links[0].Study.ReportID != r.Order.ID {
		t.Fatalf("the Updates sent: %+v", links)
	}
}

// An Accession Number that names no order stores the instance and says so;
// one that names another patient's order, or an order while the Patient ID
// names no registered patient, links nothing and says why.
func TestDICOMStoreLinksNoOtherOrder(t *testing.T) {
	a := newDICOMOrdersAPI(t)
	ordered := a.order(t, "routine", ctHead)
	accession := dicom.OrderAccession(ordered.Order.ID)
	onBehalf := []string{"X-On-Behalf-Of", "Practitioner/" + radiologistID.String()}

	got, _ := a.stow(t, pacsToken, http.StatusOK, [][]byte{orderInstance(t, 1, accessionHolder, a.mrn)}, onBehalf...)
	notLinked(t, "an unknown accession number", got[0], accessionHolder, dicom.NotLinkedNoOrder)
	if got[0].Status != dicomStored || got[0].PatientID == nil || *got[0].PatientID != a.patient || len(got[0].Warnings) != 1 ||
		!strings.Contains(got[0].Warnings[0], "names no imaging order") {
		t.Fatalf("an unknown accession number: %+v", got[0])
	}
	if studies := a.qido(t, "?StudyInstanceUID="+orderStudy); len(studies) != 1 || studies[0].OrderID != nil {
		t.Fatalf("a study of no order: %+v", studies)
	}

	other := registerPatient(t, postgres.NewPatientStore(a.pool))
	p, err := postgres.NewPatientStore(a.pool).Get(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	// Another study UID would be a new study; the same study's second
	// instance is enough, since no order was linked to it.
	got, _ = a.stow(t, pacsToken, http.StatusOK, [][]byte{orderInstance(t, 2, accession, p.MRN)}, onBehalf...)
	notLinked(t, "another patient's order", got[0], accession, dicom.NotLinkedPatientMismatch)
	if !strings.Contains(got[0].Order.Reason, "another patient") || strings.Contains(got[0].Order.Reason, ordered.Order.ID.String()) {
		t.Fatalf("the mismatch's reason: %q", got[0].Order.Reason)
	}

	unregistered := orderInstance(t, 2, accession, "ZS-999999")
	unregistered = bytes.Replace(unregistered, []byte(orderSOP2), []byte("1.2.826.0.1.3680043.10.1407.3.3.9"), 2)
	got, _ = a.stow(t, pacsToken, http.StatusOK, [][]byte{unregistered}, onBehalf...)
	notLinked(t, "no registered patient", got[0], accession, dicom.NotLinkedPatientMismatch)
	if !slices.Contains(got[0].Warnings, warnPatientNotMatched) || !strings.Contains(got[0].Order.Reason, "no registered patient") {
		t.Fatalf("an unregistered Patient ID: %+v", got[0])
	}

	if n := len(a.links()); n != 0 {
		t.Fatalf("%d link-study Updates, want none", n)
	}
	if r, _ := a.store.Get(context.Background(), ordered.Order.ID); len(r.Studies) != 0 || r.Status != diagnostic.StatusRegistered {
		t.Fatalf("the order moved: %s %+v", r.Status, r.Studies)
	}
}
