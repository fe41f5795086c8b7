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
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
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
	if got[0].Status != dicomStored || got[0].PatientID == nil || *got[0].PatientID != registered.ID || len(got[0].Warnings) != 0 {
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
