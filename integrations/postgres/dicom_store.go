package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/dicom"
)

// entityImagingStudy is the audit entity of a DICOM instance's write: the
// study it belongs to.
const entityImagingStudy = "ImagingStudy"

// DICOMStore is the index of the DICOM instances received (migration
// 00100_dicom.sql): one row per SOP instance, searched by study.
type DICOMStore struct {
	pool *pgxpool.Pool
}

// NewDICOMStore returns a store on pool.
func NewDICOMStore(pool *pgxpool.Pool) *DICOMStore {
	return &DICOMStore{pool: pool}
}

// SaveInstance stores in, once per SOP Instance UID. An instance already
// stored with the same SHA-256 is not stored again and answers stored
// false; the same UID with other bytes is refused with domain.ErrConflict
// and changes nothing. rec, when not nil, is the request's audit record,
// stored in the same transaction naming the study and our patient, when it
// is not refused.
func (s *DICOMStore) SaveInstance(ctx context.Context, rec *audit.Record, in dicom.Instance) (stored bool, err error) {
	if err := in.Validate(); err != nil {
		return false, err
	}
	attributes, err := json.Marshal(in.Attributes)
	if err != nil {
		return false, fmt.Errorf("save DICOM instance: attributes: %w", err)
	}
	if in.Attributes == nil {
		attributes = []byte("{}")
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO dicom_instances (sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid,
				patient_id, dicom_patient_id, issuer, patient_name, accession_number, modality, study_date, study_time,
				study_description, series_number, series_description, instance_number, transfer_syntax_uid,
				size, sha256, path, received_at, attributes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
			ON CONFLICT (sop_instance_uid) DO NOTHING`,
			in.SOPInstanceUID, in.SOPClassUID, in.StudyInstanceUID, in.SeriesInstanceUID,
			in.PatientID, in.DICOMPatientID, in.Issuer, in.PatientName, in.AccessionNumber, in.Modality,
			nullDate(in.StudyDate), in.StudyTime, in.StudyDescription, in.SeriesNumber, in.SeriesDescription,
			in.InstanceNumber, in.TransferSyntaxUID, in.Size, in.SHA256, in.Path, in.ReceivedAt, attributes)
		if err != nil {
			return translate(err, "save DICOM instance")
		}
		stored = tag.RowsAffected() == 1
		if !stored {
			var sum []byte
			err := tx.QueryRow(ctx, `SELECT sha256 FROM dicom_instances WHERE sop_instance_uid = $1`, in.SOPInstanceUID).Scan(&sum)
			if err != nil {
				return translate(err, "save DICOM instance: read the stored one")
			}
			if !bytes.Equal(sum, in.SHA256) {
				return fmt.Errorf("save DICOM instance %s: stored already with other bytes: %w", in.SOPInstanceUID, domain.ErrConflict)
			}
		}
		if rec == nil {
			return nil
		}
		rec.EntityType = entityImagingStudy
		rec.EntityID = in.StudyInstanceUID
		rec.PatientID = in.PatientID
		return AppendAudit(ctx, tx, *rec)
	})
	if err != nil {
		return false, err
	}
	return stored, nil
}

// instanceColumns are the columns scanInstance reads, in its order.
const instanceColumns = `sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid, patient_id,
	dicom_patient_id, issuer, patient_name, accession_number, modality, study_date, study_time, study_description,
	series_number, series_description, instance_number, transfer_syntax_uid, size, sha256, path, received_at, attributes`

// Instance returns the instance with the SOP Instance UID, or
// domain.ErrNotFound.
func (s *DICOMStore) Instance(ctx context.Context, sopInstanceUID string) (dicom.Instance, error) {
	var (
		in         dicom.Instance
		studyDate  *time.Time
		attributes []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT `+instanceColumns+` FROM dicom_instances WHERE sop_instance_uid = $1`, sopInstanceUID).Scan(
		&in.SOPInstanceUID, &in.SOPClassUID, &in.StudyInstanceUID, &in.SeriesInstanceUID, &in.PatientID,
		&in.DICOMPatientID, &in.Issuer, &in.PatientName, &in.AccessionNumber, &in.Modality, &studyDate, &in.StudyTime,
		&in.StudyDescription, &in.SeriesNumber, &in.SeriesDescription, &in.InstanceNumber, &in.TransferSyntaxUID,
		&in.Size, &in.SHA256, &in.Path, &in.ReceivedAt, &attributes)
	if err != nil {
		return dicom.Instance{}, translate(err, "DICOM instance "+sopInstanceUID)
	}
	if studyDate != nil {
		in.StudyDate = studyDate.UTC()
	}
	if err := json.Unmarshal(attributes, &in.Attributes); err != nil {
		return dicom.Instance{}, fmt.Errorf("DICOM instance %s: attributes: %w", sopInstanceUID, err)
	}
	in.ReceivedAt = in.ReceivedAt.UTC()
	return in, nil
}

// SearchStudies lists the studies f matches, newest study date first (the
// undated last), then by Study Instance UID, one page of f. A study's
// attributes are those its instances carry (the least, where they differ);
// ModalitiesInStudy matches a study with an instance of any modality named.
// A study linked to an imaging order (LinkStudy) names it.
func (s *DICOMStore) SearchStudies(ctx context.Context, f dicom.Filter) ([]dicom.StudySummary, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	var modalities []string
	if len(f.ModalitiesInStudy) > 0 {
		modalities = f.ModalitiesInStudy
	}
	rows, err := s.pool.Query(ctx, `
		SELECT study_instance_uid, min(study_date), min(study_time), min(accession_number), min(study_description),
			min(dicom_patient_id), min(patient_name),
			(array_agg(patient_id ORDER BY received_at) FILTER (WHERE patient_id IS NOT NULL))[1],
			coalesce(array_agg(DISTINCT modality) FILTER (WHERE modality <> ''), '{}'),
			count(DISTINCT series_instance_uid), count(*),
			(SELECT o.report_id FROM dicom_study_orders o WHERE o.study_instance_uid = i.study_instance_uid)
		FROM dicom_instances i
		WHERE ($1 = '' OR dicom_patient_id = $1)
		  AND ($2::date IS NULL OR study_date >= $2)
		  AND ($3::date IS NULL OR study_date <= $3)
		  AND ($4 = '' OR accession_number = $4)
		  AND ($5 = '' OR study_instance_uid = $5)
		GROUP BY study_instance_uid
		HAVING $6::text[] IS NULL OR array_agg(modality) && $6::text[]
		ORDER BY min(study_date) DESC NULLS LAST, study_instance_uid
		LIMIT $7 OFFSET $8`,
		f.PatientID, nullDate(f.StudyDate.From), nullDate(f.StudyDate.To), f.AccessionNumber, f.StudyInstanceUID,
		modalities, f.PageSize(), f.Offset)
	if err != nil {
		return nil, fmt.Errorf("search DICOM studies: %w", err)
	}
	defer rows.Close()
	out := []dicom.StudySummary{}
	for rows.Next() {
		var (
			st        dicom.StudySummary
			studyDate *time.Time
			patient   *uuid.UUID
			series    int64
			instances int64
		)
		if err := rows.Scan(&st.StudyInstanceUID, &studyDate, &st.StudyTime, &st.AccessionNumber, &st.StudyDescription,
			&st.DICOMPatientID, &st.PatientName, &patient, &st.Modalities, &series, &instances, &st.OrderID); err != nil {
			return nil, fmt.Errorf("search DICOM studies: %w", err)
		}
		if studyDate != nil {
			st.StudyDate = studyDate.UTC()
		}
		st.PatientID = patient
		slices.Sort(st.Modalities)
		st.Series, st.Instances = int(series), int(instances)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search DICOM studies: %w", err)
	}
	return out, nil
}

// nullDate is t as a DATE parameter: NULL when zero.
func nullDate(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// OrdersByAccession is every diagnostic order an Accession Number (0008,0050)
// may name: those another system placed with it as their placer order
// number, whoever sent them, and the one placed here whose id it begins
// (dicom.OrderAccession); oldest first, at most 20, none an empty list.
func (s *DICOMStore) OrdersByAccession(ctx context.Context, accession string) ([]diagnostic.Report, error) {
	var from, to *uuid.UUID
	if lo, hi, ok := dicom.OrderIDRange(accession); ok {
		from, to = &lo, &hi
	}
	rows, err := s.pool.Query(ctx, `
		SELECT resource FROM diagnostic_reports
		WHERE placer_number = $1 OR ($2::uuid IS NOT NULL AND id BETWEEN $2 AND $3)
		ORDER BY created_at, id LIMIT 20`, accession, from, to)
	if err != nil {
		return nil, fmt.Errorf("diagnostic orders by accession number: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (diagnostic.Report, error) {
		var (
			raw []byte
			rep diagnostic.Report
		)
		if err := r.Scan(&raw); err != nil {
			return rep, err
		}
		return rep, json.Unmarshal(raw, &rep)
	})
	if err != nil {
		return nil, fmt.Errorf("diagnostic orders by accession number: %w", err)
	}
	return out, nil
}

// StudySeries lists the series of a stored study, by Series Number (the
// unnumbered last) then Series Instance UID; none for a study not stored.
func (s *DICOMStore) StudySeries(ctx context.Context, studyUID string) ([]dicom.SeriesSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT series_instance_uid, min(series_number), min(modality), count(*)
		FROM dicom_instances WHERE study_instance_uid = $1
		GROUP BY series_instance_uid
		ORDER BY min(series_number) NULLS LAST, series_instance_uid`, studyUID)
	if err != nil {
		return nil, fmt.Errorf("series of DICOM study %s: %w", studyUID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dicom.SeriesSummary, error) {
		var (
			se dicom.SeriesSummary
			n  int64
		)
		err := r.Scan(&se.SeriesInstanceUID, &se.Number, &se.Modality, &n)
		se.Instances = int(n)
		return se, err
	})
	if err != nil {
		return nil, fmt.Errorf("series of DICOM study %s: %w", studyUID, err)
	}
	return out, nil
}

// StudyLink is the order a stored study is linked to, or domain.ErrNotFound.
func (s *DICOMStore) StudyLink(ctx context.Context, studyUID string) (dicom.StudyLink, error) {
	l := dicom.StudyLink{StudyInstanceUID: studyUID}
	err := s.pool.QueryRow(ctx, `
		SELECT report_id, accession_number, linked_by, linked_at FROM dicom_study_orders WHERE study_instance_uid = $1`,
		studyUID).Scan(&l.OrderID, &l.AccessionNumber, &l.By, &l.At)
	if err != nil {
		return dicom.StudyLink{}, translate(err, "DICOM study link "+studyUID)
	}
	l.At = l.At.UTC()
	return l, nil
}

// LinkStudy links a study to an order once: in one transaction it claims
// the study for link.OrderID and runs do (the order's own change, such as
// the workflow's Update), committing the claim only when do succeeds. A
// study claimed already — linked before, or by a request running at the
// same time, which this one waits for — answers that link with linked
// false, and do is not run; a do that fails leaves no claim, and its error
// is returned, so a later request may link the study.
func (s *DICOMStore) LinkStudy(ctx context.Context, link dicom.StudyLink, do func(context.Context) error) (stored dicom.StudyLink, linked bool, err error) {
	if err := link.Validate(); err != nil {
		return dicom.StudyLink{}, false, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO dicom_study_orders (study_instance_uid, report_id, accession_number, linked_by, linked_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (study_instance_uid) DO NOTHING`,
			link.StudyInstanceUID, link.OrderID, link.AccessionNumber, link.By, link.At)
		if err != nil {
			return translate(err, "link DICOM study "+link.StudyInstanceUID)
		}
		if tag.RowsAffected() == 0 {
			stored = dicom.StudyLink{StudyInstanceUID: link.StudyInstanceUID}
			err := tx.QueryRow(ctx, `
				SELECT report_id, accession_number, linked_by, linked_at FROM dicom_study_orders WHERE study_instance_uid = $1`,
				link.StudyInstanceUID).Scan(&stored.OrderID, &stored.AccessionNumber, &stored.By, &stored.At)
			stored.At = stored.At.UTC()
			return translate(err, "link DICOM study "+link.StudyInstanceUID+": read the stored link")
		}
		if err := do(ctx); err != nil {
			return err
		}
		stored, linked = link, true
		return nil
	})
	if err != nil {
		return dicom.StudyLink{}, false, err
	}
	return stored, linked, nil
}
