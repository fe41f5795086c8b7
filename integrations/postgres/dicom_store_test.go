package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/dicom"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var dicomNow = time.Date(2024, 3, 6, 9, 0, 0, 0, time.UTC)

// dicomInstance is an instance of study whose file holds content.
func dicomInstance(sop, study, series, modality, content string) dicom.Instance {
	sum := sha256.Sum256([]byte(content))
	n := 1
	return dicom.Instance{
		SOPInstanceUID: sop, SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", StudyInstanceUID: study, SeriesInstanceUID: series,
		DICOMPatientID: "ZS-000123", PatientName: "Rahman^Ayesha", AccessionNumber: "ACC-1", Modality: modality,
		StudyDate: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), StudyTime: "101530.250", StudyDescription: "CT Thorax",
		SeriesNumber: &n, InstanceNumber: &n, TransferSyntaxUID: "1.2.840.10008.1.2.1",
		Size: int64(len(content)), SHA256: sum[:], Path: hex.EncodeToString(sum[:1]) + "/" + hex.EncodeToString(sum[:]) + ".dcm",
		ReceivedAt: dicomNow, Attributes: map[string]string{"00080060": modality},
	}
}

func dicomRecord() *audit.Record {
	return &audit.Record{ID: uuid.Must(uuid.NewV7()), Time: time.Now().UTC(), Action: audit.ActionCreate, Status: 200,
		Actor: audit.Actor{Subject: "pacs", ClientID: "pacs"}, Outcome: audit.OutcomeSuccess, Method: "POST",
		Route: "/v1/integration/dicom/studies", Purpose: audit.DefaultPurpose}
}

// An instance is stored once per SOP Instance UID: the same bytes again are
// not stored twice, other bytes under the UID are a conflict, and the
// request's audit record commits with the write or not at all.
func TestDICOMInstanceStoredOnce(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewDICOMStore(pool)
	audits := postgres.NewAuditStore(pool)
	ctx := context.Background()
	patient := pgtest.Patient(t, pool)

	in := dicomInstance("1.2.3.1.1", "1.2.3", "1.2.3.1", "CT", "first")
	in.PatientID = &patient
	rec := dicomRecord()
	stored, err := store.SaveInstance(ctx, rec, in)
	if err != nil || !stored {
		t.Fatalf("first save: stored %v, %v", stored, err)
	}
	got, err := audits.Get(ctx, rec.ID)
	if err != nil || got.EntityType != "ImagingStudy" || got.EntityID != "1.2.3" || got.PatientID == nil || *got.PatientID != patient {
		t.Fatalf("audit record of the save: %+v, %v", got, err)
	}
	back, err := store.Instance(ctx, in.SOPInstanceUID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Path != in.Path || back.Size != in.Size || hex.EncodeToString(back.SHA256) != hex.EncodeToString(in.SHA256) ||
		!back.StudyDate.Equal(in.StudyDate) || *back.PatientID != patient || *back.SeriesNumber != 1 ||
		back.PatientName != "Rahman^Ayesha" || back.Attributes["00080060"] != "CT" || !back.ReceivedAt.Equal(dicomNow) {
		t.Fatalf("read back %+v, stored %+v", back, in)
	}

	stored, err = store.SaveInstance(ctx, dicomRecord(), in)
	if err != nil || stored {
		t.Fatalf("the same instance again: stored %v, %v", stored, err)
	}

	other := dicomInstance("1.2.3.1.1", "1.2.3", "1.2.3.1", "CT", "other bytes")
	rec = dicomRecord()
	if _, err := store.SaveInstance(ctx, rec, other); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("other bytes under the same UID: %v, want a conflict", err)
	}
	if _, err := audits.Get(ctx, rec.ID); err == nil {
		t.Fatal("the audit record of a refused save was stored")
	}
	if back, _ := store.Instance(ctx, in.SOPInstanceUID); back.Path != in.Path {
		t.Fatalf("the conflict changed the stored instance: %+v", back)
	}
	if _, err := store.Instance(ctx, "9.9.9"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("an unknown instance: %v", err)
	}
	var verr *domain.ValidationError
	if _, err := store.SaveInstance(ctx, nil, dicomInstance("", "1.2.3", "1.2.3.1", "CT", "x")); !errors.As(err, &verr) {
		t.Fatalf("an instance without a SOP Instance UID: %v", err)
	}
}

// Studies are listed one per study, with what they hold, and matched by
// patient, date (exact or a range), modality, accession number and UID.
func TestDICOMSearchStudies(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewDICOMStore(pool)
	ctx := context.Background()
	save := func(in dicom.Instance) {
		t.Helper()
		if _, err := store.SaveInstance(ctx, nil, in); err != nil {
			t.Fatal(err)
		}
	}
	// Study 1: two CT series and an SR, on 5 March.
	save(dicomInstance("1.1.1.1", "1.1", "1.1.1", "CT", "a"))
	save(dicomInstance("1.1.1.2", "1.1", "1.1.1", "CT", "b"))
	save(dicomInstance("1.1.2.1", "1.1", "1.1.2", "SR", "c"))
	// Study 2: another patient's MR on 20 March, accession ACC-2.
	mr := dicomInstance("1.2.1.1", "1.2", "1.2.1", "MR", "d")
	mr.DICOMPatientID, mr.AccessionNumber, mr.StudyDate = "ZS-000777", "ACC-2", time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC)
	save(mr)
	// Study 3: undated.
	undated := dicomInstance("1.3.1.1", "1.3", "1.3.1", "OT", "e")
	undated.StudyDate = time.Time{}
	save(undated)

	search := func(f dicom.Filter) []string {
		t.Helper()
		studies, err := store.SearchStudies(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		uids := []string{}
		for _, s := range studies {
			uids = append(uids, s.StudyInstanceUID)
		}
		return uids
	}
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name string
		f    dicom.Filter
		want []string
	}{
		{"all, newest first, the undated last", dicom.Filter{}, []string{"1.2", "1.1", "1.3"}},
		{"by patient", dicom.Filter{PatientID: "ZS-000777"}, []string{"1.2"}},
		{"on a date", dicom.Filter{StudyDate: dicom.DateRange{From: day(5), To: day(5)}}, []string{"1.1"}},
		{"in a range", dicom.Filter{StudyDate: dicom.DateRange{From: day(1), To: day(31)}}, []string{"1.2", "1.1"}},
		{"from a date", dicom.Filter{StudyDate: dicom.DateRange{From: day(6)}}, []string{"1.2"}},
		{"by a modality of the study", dicom.Filter{ModalitiesInStudy: []string{"SR"}}, []string{"1.1"}},
		{"by any of two", dicom.Filter{ModalitiesInStudy: []string{"MR", "SR"}}, []string{"1.2", "1.1"}},
		{"by accession", dicom.Filter{AccessionNumber: "ACC-2"}, []string{"1.2"}},
		{"by uid", dicom.Filter{StudyInstanceUID: "1.3"}, []string{"1.3"}},
		{"a page", dicom.Filter{Limit: 1, Offset: 1}, []string{"1.1"}},
		{"none", dicom.Filter{PatientID: "nobody"}, []string{}},
	}
	for _, tc := range cases {
		if got := search(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	studies, err := store.SearchStudies(ctx, dicom.Filter{StudyInstanceUID: "1.1"})
	if err != nil || len(studies) != 1 {
		t.Fatalf("study 1.1: %v, %v", studies, err)
	}
	s := studies[0]
	if s.Series != 2 || s.Instances != 3 || !slices.Equal(s.Modalities, []string{"CT", "SR"}) ||
		!s.StudyDate.Equal(day(5)) || s.AccessionNumber != "ACC-1" || s.DICOMPatientID != "ZS-000123" ||
		s.PatientName != "Rahman^Ayesha" || s.StudyTime != "101530.250" || s.PatientID != nil {
		t.Fatalf("study 1.1 summarised as %+v", s)
	}
	var verr *domain.ValidationError
	if _, err := store.SearchStudies(ctx, dicom.Filter{Limit: -1}); !errors.As(err, &verr) {
		t.Fatalf("a negative limit: %v", err)
	}
}

// storedOrder stores an imaging order (CT head) of patient placed at at,
// with the placer number when given.
func storedOrder(t *testing.T, pool *pgxpool.Pool, id, patient uuid.UUID, at time.Time, placer string) diagnostic.Report {
	t.Helper()
	cat, err := diagnostic.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	req := diagnostic.Request{ID: id, PatientID: patient, Tests: []string{"24725-4"}, ClinicalInfo: "headache after a fall",
		OrdererID: uuid.Must(uuid.NewV7()), CreatedAt: at}
	if placer != "" {
		req.Placer = &diagnostic.Placer{Sender: "RIS|GHH", Number: placer}
	}
	r, err := diagnostic.New(req, cat)
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := postgres.NewDiagnosticStore(pool).Create(context.Background(), nil, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// An Accession Number finds the orders whose placer number it is and the
// order whose id it begins; a study is linked to one once, its claim kept
// only when the link's own change succeeds, and QIDO-RS names the order.
func TestDICOMStudyLinkedOnce(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewDICOMStore(pool)
	ctx := context.Background()
	patient := pgtest.Patient(t, pool)
	at := time.Date(2024, 3, 7, 8, 0, 0, 0, time.UTC)
	here := storedOrder(t, pool, uuid.MustParse("0193c0de-0000-7000-8000-0000000000c1"), patient, at, "")
	// Same first 64 bits as here's id but one: the ids differ after them.
	twin := storedOrder(t, pool, uuid.MustParse("0193c0de-0000-7000-9000-0000000000c2"), patient, at.Add(time.Minute), "")
	placed := storedOrder(t, pool, uuid.MustParse("0193c0df-0000-7000-8000-0000000000c3"), patient, at.Add(2*time.Minute), "RIS-0042")

	ids := func(accession string) []uuid.UUID {
		t.Helper()
		found, err := store.OrdersByAccession(ctx, accession)
		if err != nil {
			t.Fatal(err)
		}
		out := []uuid.UUID{}
		for _, r := range found {
			out = append(out, r.Order.ID)
		}
		return out
	}
	for _, tc := range []struct {
		accession string
		want      []uuid.UUID
	}{
		{"RIS-0042", []uuid.UUID{placed.Order.ID}},
		{dicom.OrderAccession(placed.Order.ID), []uuid.UUID{placed.Order.ID}},
		{"0193C0DE00007000", []uuid.UUID{here.Order.ID, twin.Order.ID}},
		{"0193c0de00007001", []uuid.UUID{}},
		{"RIS-0043", []uuid.UUID{}},
	} {
		if got := ids(tc.accession); !slices.Equal(got, tc.want) {
			t.Errorf("orders of %s: %v, want %v", tc.accession, got, tc.want)
		}
	}

	save := func(in dicom.Instance) {
		t.Helper()
		if _, err := store.SaveInstance(ctx, nil, in); err != nil {
			t.Fatal(err)
		}
	}
	save(dicomInstance("1.5.1.1", "1.5", "1.5.1", "CT", "f"))
	save(dicomInstance("1.5.1.2", "1.5", "1.5.1", "CT", "g"))
	sr := dicomInstance("1.5.2.1", "1.5", "1.5.2", "SR", "h")
	sr.SeriesNumber = nil
	save(sr)
	series, err := store.StudySeries(ctx, "1.5")
	one := 1
	if err != nil || !slices.EqualFunc(series, []dicom.SeriesSummary{
		{SeriesInstanceUID: "1.5.1", Number: &one, Modality: "CT", Instances: 2},
		{SeriesInstanceUID: "1.5.2", Modality: "SR", Instances: 1},
	}, func(a, b dicom.SeriesSummary) bool {
		return a.SeriesInstanceUID == b.SeriesInstanceUID && a.Modality == b.Modality && a.Instances == b.Instances &&
			(a.Number == nil) == (b.Number == nil) && (a.Number == nil || *a.Number == *b.Number)
	}) {
		t.Fatalf("series %+v, %v", series, err)
	}

	by := uuid.Must(uuid.NewV7())
	link := dicom.StudyLink{StudyInstanceUID: "1.5", OrderID: placed.Order.ID, AccessionNumber: "RIS-0042", By: by, At: dicomNow}
	failed := errors.New("the workflow refused")
	if _, linked, err := store.LinkStudy(ctx, link, func(context.Context) error { return failed }); !errors.Is(err, failed) || linked {
		t.Fatalf("a link whose change failed: linked %v, %v", linked, err)
	}
	if _, err := store.StudyLink(ctx, "1.5"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a failed link left a claim: %v", err)
	}
	runs := 0
	do := func(context.Context) error { runs++; return nil }
	stored, linked, err := store.LinkStudy(ctx, link, do)
	if err != nil || !linked || stored != link || runs != 1 {
		t.Fatalf("the link: %+v, linked %v, %d runs, %v", stored, linked, runs, err)
	}
	other := link
	other.OrderID, other.AccessionNumber, other.By = here.Order.ID, dicom.OrderAccession(here.Order.ID), uuid.Must(uuid.NewV7())
	stored, linked, err = store.LinkStudy(ctx, other, do)
	if err != nil || linked || stored != link || runs != 1 {
		t.Fatalf("the study linked again: %+v, linked %v, %d runs, %v", stored, linked, runs, err)
	}
	if got, err := store.StudyLink(ctx, "1.5"); err != nil || got != link {
		t.Fatalf("the stored link %+v, %v", got, err)
	}
	var verr *domain.ValidationError
	if _, _, err := store.LinkStudy(ctx, dicom.StudyLink{StudyInstanceUID: "1.6"}, do); !errors.As(err, &verr) || runs != 1 {
		t.Fatalf("a link naming nobody: %v", err)
	}

	studies, err := store.SearchStudies(ctx, dicom.Filter{})
	if err != nil || len(studies) != 1 || studies[0].OrderID == nil || *studies[0].OrderID != placed.Order.ID {
		t.Fatalf("studies %+v, %v", studies, err)
	}
}
