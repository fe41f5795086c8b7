package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// FHIRImportStore writes FHIR Bundle imports (integrations/fhir/bundle's
// Store): each import in one transaction, carried by the context, its
// patients and observations written with COPY, their idempotency keys with
// one INSERT … SELECT unnest … ON CONFLICT DO NOTHING. It writes what the
// patient and observation stores write for the same entries —
// patient.created for each new patient, observation.recorded for each
// patient's new observations and observation.critical for each critical
// value, the idempotency keys of the entries and the request's audit
// record — all of it committed together or not at all.
type FHIRImportStore struct {
	pool *pgxpool.Pool
	// obs lends its partitions, reference ranges, event ids and
	// observation events.
	obs *ObservationStore
}

// NewFHIRImportStore returns a store on pool.
func NewFHIRImportStore(pool *pgxpool.Pool) *FHIRImportStore {
	return &FHIRImportStore{pool: pool, obs: NewObservationStore(pool)}
}

// importTx is the transaction of one import, in its context.
type importTx struct {
	tx     pgx.Tx
	ranges *pendingRanges
	// months are those of the observations inserted.
	months []time.Time
}

type importTxKey struct{}

// errNoImportTx is a write outside Transaction.
var errNoImportTx = errors.New("fhir import: not inside a transaction of the store")

// needPartitions asks Transaction to create the months' partitions (outside
// any transaction: creating one locks the observations table) and run the
// import again.
type needPartitions struct{ months []time.Time }

func (e *needPartitions) Error() string {
	return fmt.Sprintf("fhir import: %d observation partitions to create first", len(e.months))
}

func txOf(ctx context.Context) (*importTx, error) {
	it, ok := ctx.Value(importTxKey{}).(*importTx)
	if !ok {
		return nil, errNoImportTx
	}
	return it, nil
}

// maxImportAttempts bounds how often Transaction runs an import: once more
// for partitions to create, once more for a concurrent import that claimed
// a key first (or a deadlock between two), once more for a partition
// dropped since it was known.
const maxImportAttempts = 4

// Transaction runs fn in one transaction, which the store's other methods
// join through fn's context. It runs fn again, from the start, when the
// observations need partitions that do not exist yet, when a concurrent
// import claimed one of its keys first (fn then sees the replays), or when
// two imports deadlocked on each other's keys.
func (s *FHIRImportStore) Transaction(ctx context.Context, fn func(ctx context.Context) error) error {
	var err error
	for range maxImportAttempts {
		it := &importTx{ranges: s.obs.ranges.pending()}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			it.tx = tx
			if err := fn(context.WithValue(ctx, importTxKey{}, it)); err != nil {
				return err
			}
			return it.ranges.store(ctx, tx)
		})
		var need *needPartitions
		switch {
		case err == nil:
			it.ranges.committed()
			return nil
		case errors.As(err, &need):
			if err := s.obs.months.ensure(ctx, s.pool, need.months, s.obs.now()); err != nil {
				return err
			}
		case noPartition(err):
			s.obs.months.forget(it.months)
		case errors.Is(err, errIdempotencyRace), deadlocked(err):
		default:
			return err
		}
	}
	return err
}

// deadlocked reports a transaction PostgreSQL aborted to break a deadlock.
func deadlocked(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// FindPatients returns, for each identifier key among keys that a stored
// patient carries, the first such patient registered (ids are UUIDv7).
func (s *FHIRImportStore) FindPatients(ctx context.Context, keys []string) (map[string]uuid.UUID, error) {
	it, err := txOf(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := it.tx.Query(ctx, `
		SELECT k, p.id FROM patients p CROSS JOIN LATERAL unnest(p.identifier_keys) AS k
		WHERE p.identifier_keys && $1::text[] AND k = ANY($1::text[])
		ORDER BY p.id`, keys)
	if err != nil {
		return nil, fmt.Errorf("find patients by identifier: %w", err)
	}
	found := make(map[string]uuid.UUID, len(keys))
	var (
		key string
		id  uuid.UUID
	)
	if _, err := pgx.ForEachRow(rows, []any{&key, scanUUID(&id)}, func() error {
		if _, ok := found[key]; !ok {
			found[key] = id
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("find patients by identifier: %w", err)
	}
	return found, nil
}

// Claim stores each key naming ids[i] in one statement, in key order (so
// that two imports claiming the same keys wait on each other rather than
// deadlock), and reads back the keys stored before: for each it returns
// ids[i] when claimed now, the id the key named before when stored with
// the same hash, uuid.Nil when stored with another. The keys must be
// distinct.
func (s *FHIRImportStore) Claim(ctx context.Context, keys []domain.Idempotency, ids []uuid.UUID) ([]uuid.UUID, error) {
	it, err := txOf(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) != len(ids) {
		return nil, fmt.Errorf("claim idempotency keys: %d keys for %d ids", len(keys), len(ids))
	}
	out := make([]uuid.UUID, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	type scoped struct{ scope, key string }
	at := make(map[scoped]int, len(keys))
	scopes, names := make([]string, len(keys)), make([]string, len(keys))
	hashes, resources := make([][]byte, len(keys)), make([]pgtype.UUID, len(keys))
	for i, k := range keys {
		at[scoped{k.Scope, k.Key}] = i
		scopes[i], names[i], hashes[i], resources[i] = k.Scope, k.Key, k.Hash[:], pgUUID(ids[i])
	}
	rows, err := it.tx.Query(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, resource_id)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::uuid[]) AS k(scope, key, request_hash, resource_id)
		ORDER BY scope, key
		ON CONFLICT DO NOTHING
		RETURNING scope, key`, scopes, names, hashes, resources)
	if err != nil {
		return nil, fmt.Errorf("claim %d idempotency keys: %w", len(keys), err)
	}
	claimed := make([]bool, len(keys))
	var scope, key string
	if _, err := pgx.ForEachRow(rows, []any{&scope, &key}, func() error {
		i := at[scoped{scope, key}]
		claimed[i], out[i] = true, ids[i]
		return nil
	}); err != nil {
		return nil, fmt.Errorf("claim %d idempotency keys: %w", len(keys), err)
	}
	var seenScopes, seenKeys []string
	for i, c := range claimed {
		if !c {
			seenScopes, seenKeys = append(seenScopes, scopes[i]), append(seenKeys, names[i])
		}
	}
	if len(seenKeys) == 0 {
		return out, nil
	}
	rows, err = it.tx.Query(ctx, `
		SELECT i.scope, i.key, i.resource_id, i.request_hash
		FROM unnest($1::text[], $2::text[]) AS k(scope, key)
		JOIN idempotency_keys i ON i.scope = k.scope AND i.key = k.key`, seenScopes, seenKeys)
	if err != nil {
		return nil, fmt.Errorf("read %d idempotency keys: %w", len(seenKeys), err)
	}
	var (
		first uuid.UUID
		hash  []byte
		read  int
	)
	if _, err := pgx.ForEachRow(rows, []any{&scope, &key, scanUUID(&first), &hash}, func() error {
		i := at[scoped{scope, key}]
		read++
		if string(hash) == string(keys[i].Hash[:]) {
			out[i] = first
		} else {
			out[i] = uuid.Nil
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read %d idempotency keys: %w", len(seenKeys), err)
	}
	if read < len(seenKeys) {
		// Claimed by a transaction that has not committed: run again.
		return nil, errIdempotencyRace
	}
	return out, nil
}

// NextMRNs allocates n medical record numbers from the patients' sequence.
func (s *FHIRImportStore) NextMRNs(ctx context.Context, n int) ([]string, error) {
	it, err := txOf(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := it.tx.Query(ctx, `SELECT nextval('patient_mrn_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("next %d mrns: %w", n, err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("next %d mrns: %w", n, err)
	}
	mrns := make([]string, len(seqs))
	for i, seq := range seqs {
		mrns[i] = patient.FormatMRN(seq)
	}
	return mrns, nil
}

// patientCopyColumns are the columns InsertPatients copies, as insertPatient
// writes them.
var patientCopyColumns = []string{"id", "mrn", "version", "active", "family", "given", "name_search", "birth_date", "sex",
	"phones", "identifier_keys", "resource", "created_at", "updated_at"}

// InsertPatients stores new patients with COPY, and their patient.created
// events (as PatientStore.Register writes them, the size cap applied) with
// COPY into the outbox.
func (s *FHIRImportStore) InsertPatients(ctx context.Context, patients []patient.Patient) error {
	it, err := txOf(ctx)
	if err != nil {
		return err
	}
	resources := make([][]byte, len(patients))
	row := make([]any, len(patientCopyColumns))
	i := 0
	_, err = it.tx.CopyFrom(ctx, pgx.Identifier{"patients"}, patientCopyColumns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(patients) {
			return nil, nil
		}
		p := &patients[i]
		resource, phones, identifiers, err := patientColumns(*p)
		if err != nil {
			return nil, err
		}
		born, err := time.Parse(time.DateOnly, p.BirthDate)
		if err != nil {
			return nil, fmt.Errorf("patient %s: birth date %q: %w", p.ID, p.BirthDate, err)
		}
		given := p.Name.Given
		if given == nil {
			given = []string{}
		}
		resources[i] = resource
		row[0], row[1], row[2], row[3], row[4], row[5], row[6] = pgUUID(p.ID), p.MRN, int32(p.Version), p.Active, p.Name.Family, given, patient.NameKey(p.Name)
		row[7], row[8], row[9], row[10], row[11], row[12], row[13] = pgtype.Date{Time: born, Valid: true}, p.Sex, phones, identifiers, resource, p.CreatedAt, p.UpdatedAt
		i++
		return row, nil
	}))
	if err != nil {
		return translate(err, fmt.Sprintf("copy %d patients", len(patients)))
	}
	// Each patient's first version, in the same transaction, as a
	// registration through the API keeps it (FHIR history, vread).
	if _, err := it.tx.CopyFrom(ctx, pgx.Identifier{patientVersions}, []string{"id", "version", "resource", "changed_at"},
		pgx.CopyFromSlice(len(patients), func(i int) ([]any, error) {
			return []any{pgUUID(patients[i].ID), int32(patients[i].Version), resources[i], patients[i].UpdatedAt}, nil
		})); err != nil {
		return translate(err, fmt.Sprintf("copy %d patient versions", len(patients)))
	}
	return copyOutbox(ctx, it.tx, len(patients), func(i int) (OutboxEvent, error) {
		p := &patients[i]
		id, err := s.obs.newEventID()
		if err != nil {
			return OutboxEvent{}, fmt.Errorf("event id: %w", err)
		}
		return capEvent(OutboxEvent{ID: id, Topic: ClinicalTopic, Key: p.ID.String(), Type: EventPatientCreated,
			Source: "/v1/patients", Subject: "Patient/" + p.ID.String(), Time: p.UpdatedAt, Data: resources[i]})
	})
}

// PreviousResults is ObservationStore.PreviousResults: stored results, as
// committed before the import.
func (s *FHIRImportStore) PreviousResults(ctx context.Context, obs []observation.Observation) (map[uuid.UUID][]observation.Result, error) {
	return s.obs.PreviousResults(ctx, obs)
}

// InsertObservations stores new observations (version 1, as observation.New
// makes them) with COPY, as ObservationStore.RecordBatch does: their rows,
// their reference ranges, and, with COPY into the outbox, an
// observation.recorded event per patient followed by observation.critical
// for each critical value. The months' partitions are created first, the
// transaction run again if one is missing.
func (s *FHIRImportStore) InsertObservations(ctx context.Context, obs []observation.Observation) error {
	it, err := txOf(ctx)
	if err != nil {
		return err
	}
	seen := make(map[uuid.UUID]bool, len(obs))
	for i, o := range obs {
		switch {
		case o.Version != 1 || o.ID == uuid.Nil || o.Status == observation.StatusEnteredInError:
			return fmt.Errorf("insert observations: item %d is not a new observation (version %d, status %s)", i, o.Version, o.Status)
		case seen[o.ID]:
			return fmt.Errorf("insert observations: item %d repeats id %s", i, o.ID)
		}
		seen[o.ID] = true
	}
	it.months = monthsOf(obs)
	if missing := s.obs.months.missing(it.months); len(missing) > 0 {
		return &needPartitions{months: missing}
	}
	if err := copyObservations(ctx, it.tx, obs, it.ranges); err != nil {
		return translate(err, "insert observations")
	}
	return s.obs.copyRecorded(ctx, it.tx, obs)
}

// Audit stores the request's audit record in the import's transaction.
func (s *FHIRImportStore) Audit(ctx context.Context, rec audit.Record) error {
	it, err := txOf(ctx)
	if err != nil {
		return err
	}
	return AppendAudit(ctx, it.tx, rec)
}

// missing lists the months of months whose partitions p does not know to
// exist. It never waits: while another write is creating partitions (which
// waits for the locks of open transactions, this one's among them), every
// month is missing, and the import runs again once they are created.
func (p *partitionMonths) missing(months []time.Time) []time.Time {
	if !p.mu.TryLock() {
		return months
	}
	defer p.mu.Unlock()
	var out []time.Time
	for _, m := range months {
		if !p.known[m] {
			out = append(out, m)
		}
	}
	return out
}
