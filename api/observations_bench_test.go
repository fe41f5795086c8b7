package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// BenchmarkObservationBatchAPI posts batches of 10,000 observations of 1,000
// patients (heart rate, respiratory rate, SpO2, temperature and blood
// pressure panels) through the real router and store, answered in full or
// with Prefer: return=minimal, from one client or two at once (gateways of
// different wards), beside its ceiling measured in the same run: the rows
// the run's batches stored, copied into the same table again (under new
// ids) with a plain binary COPY and nothing else — no validation, events or
// audit. Each iteration posts a batch per client and copies as many earlier
// batches' rows, alternating which goes first; it reports observations/s of
// both and their ratio.
//
// The copy sends rows the server encoded (COPY … TO STDOUT), so it pays no
// client encoding at all: a ceiling at least as high as the store's own
// COPY (BenchmarkObservationBatch in integrations/postgres measures that).
func BenchmarkObservationBatchAPI(b *testing.B) {
	pool := pgtest.NewPool(b)
	d, _ := serviceDeps(pool)
	d.Observations = postgres.NewObservationStore(pool)
	srv := httptest.NewServer(NewRouter(d))
	b.Cleanup(srv.Close)
	patients := make([]uuid.UUID, 1000)
	for i := range patients {
		patients[i] = uuid.Must(uuid.NewV7())
	}
	pgtest.Patients(b, pool, patients...)
	token := practitionerToken(nurseID)
	rng := mrand.New(mrand.NewPCG(1, 2))
	const size = 10_000
	body := func(patients []uuid.UUID) []byte {
		now := time.Now().UTC()
		items := make([]string, size)
		for i := range items {
			p := patients[i%len(patients)]
			at := now.Add(-time.Duration(rng.IntN(3600)) * time.Second).Format(time.RFC3339)
			switch i % 5 {
			case 0:
				items[i] = quantityJSON(p, "8867-4", float64(50+rng.IntN(90)), "/min", at)
			case 1:
				items[i] = quantityJSON(p, "9279-1", float64(8+rng.IntN(20)), "/min", at)
			case 2:
				items[i] = quantityJSON(p, "59408-5", float64(88+rng.IntN(13)), "%", at)
			case 3:
				items[i] = quantityJSON(p, "8310-5", 35.5+float64(rng.IntN(40))/10, "Cel", at)
			default:
				sys := float64(85 + rng.IntN(100))
				items[i] = panelJSON(p, sys, sys-30-float64(rng.IntN(20)), at)
			}
		}
		return []byte(batchJSON(items...))
	}
	// post stores one batch, reading the answer into answer.
	post := func(raw []byte, minimal bool, answer *bytes.Buffer) error {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/observations/batch", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if minimal {
			req.Header.Set("Prefer", "return=minimal")
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			return err
		}
		answer.Reset()
		_, err = answer.ReadFrom(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusCreated {
			return fmt.Errorf("batch: %d %v", res.StatusCode, err)
		}
		return nil
	}
	// firstID is the id of the first observation a batch's answer lists; the
	// others count up from it (consecutiveIDs).
	firstID := func(answer []byte) uuid.UUID {
		var first struct {
			ID uuid.UUID `json:"id"`
		}
		at := bytes.Index(answer, []byte(`"data":[`))
		if at < 0 {
			b.Fatalf("batch answer %.200s", answer)
		}
		if err := json.NewDecoder(bytes.NewReader(answer[at+len(`"data":[`):])).Decode(&first); err != nil {
			b.Fatal(err)
		}
		return first.ID
	}
	answers := []*bytes.Buffer{new(bytes.Buffer), new(bytes.Buffer)}
	copies := newRowCopier(b, pool)
	// The first batches create the partitions and cache the ranges. Their
	// rows are the first to be copied: an iteration copies rows stored
	// earlier (so that either may go first), each batch's once.
	var pending [][]byte
	for range 2 {
		if err := post(body(patients), false, answers[0]); err != nil {
			b.Fatal(err)
		}
		pending = append(pending, copies.dump(b, firstID(answers[0].Bytes()), size))
	}
	for _, answer := range []string{"representation", "minimal"} {
		for _, clients := range []int{1, 2} {
			b.Run(answer+"/clients="+fmt.Sprint(clients), func(b *testing.B) {
				var posted, copied time.Duration
				for i := range b.N {
					dumps := pending[:clients]
					pending = pending[clients:]
					bodies := make([][]byte, clients)
					share := len(patients) / clients
					for w := range bodies {
						bodies[w] = body(patients[w*share : (w+1)*share])
					}
					postAll := func() {
						start := time.Now()
						errs := make(chan error, clients)
						for w, raw := range bodies {
							go func() { errs <- post(raw, answer == "minimal", answers[w]) }()
						}
						for range bodies {
							if err := <-errs; err != nil {
								b.Fatal(err)
							}
						}
						posted += time.Since(start)
					}
					if i%2 == 0 {
						postAll()
						copied += copies.copyAll(b, dumps)
					} else {
						copied += copies.copyAll(b, dumps)
						postAll()
					}
					clear(dumps) // copied: let them go
					for w := range clients {
						pending = append(pending, copies.dump(b, firstID(answers[w].Bytes()), size))
					}
				}
				n := float64(b.N * clients * size)
				b.ReportMetric(n/posted.Seconds(), "observations/s")
				b.ReportMetric(n/copied.Seconds(), "copy-observations/s")
				b.ReportMetric(copied.Seconds()/posted.Seconds(), "ratio-to-copy")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// rowCopier copies stored observation rows into the observations table
// again, with a plain COPY: the raw ceiling of a batch. A copy's rows take
// new ids, as a fresh batch's: the stored id with one bit of its random
// part set, which consecutiveIDs leaves clear in a batch's ids (so no copy
// takes a batch's id), and the time of the copy as its UUIDv7 time (so
// that, like a new batch's, they sort after every id stored before).
type rowCopier struct {
	pool    *pgxpool.Pool
	columns string
	// selected is what a dump selects: the columns, id's bit set.
	selected string
}

func newRowCopier(b *testing.B, pool *pgxpool.Pool) *rowCopier {
	b.Helper()
	rows, err := pool.Query(context.Background(), `SELECT quote_ident(attname) FROM pg_attribute
		WHERE attrelid = 'observations'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)
	if err != nil {
		b.Fatal(err)
	}
	var columns []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			b.Fatal(err)
		}
		columns = append(columns, c)
	}
	if err := rows.Err(); err != nil || len(columns) == 0 || columns[0] != "id" {
		b.Fatalf("observations columns %v: %v", columns, err)
	}
	return &rowCopier{pool: pool, columns: strings.Join(columns, ", "),
		selected: `encode(set_byte(uuid_send(id), 8, get_byte(uuid_send(id), 8) | 32), 'hex')::uuid, ` + strings.Join(columns[1:], ", ")}
}

// dump reads, in COPY's binary form and in id order, the rows of the n
// observations whose ids count up from first, their id's bit set.
func (r *rowCopier) dump(b *testing.B, first uuid.UUID, n int) []byte {
	b.Helper()
	ids := consecutiveIDs(first, n)
	conn, err := r.pool.Acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	out := bytes.NewBuffer(make([]byte, 0, 8<<20))
	tag, err := conn.Conn().PgConn().CopyTo(context.Background(), out, fmt.Sprintf(
		`COPY (SELECT %s FROM observations WHERE id BETWEEN '%s' AND '%s' AND version = 1 ORDER BY id) TO STDOUT (FORMAT binary)`,
		r.selected, ids[0], ids[n-1]))
	if err != nil || tag.RowsAffected() != int64(n) {
		b.Fatalf("dump %d observations: %d rows, %v", n, tag.RowsAffected(), err)
	}
	return out.Bytes()
}

// copyAll copies each dump in a transaction of its own, all at once, and
// returns how long they took together.
func (r *rowCopier) copyAll(b *testing.B, dumps [][]byte) time.Duration {
	b.Helper()
	for _, dump := range dumps {
		if err := restamp(dump, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	errs := make(chan error, len(dumps))
	for _, dump := range dumps {
		go func() {
			ctx := context.Background()
			conn, err := r.pool.Acquire(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Release()
			tx, err := conn.Begin(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer tx.Rollback(ctx)
			if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(dump),
				`COPY observations (`+r.columns+`) FROM STDIN (FORMAT binary)`); err != nil {
				errs <- err
				return
			}
			errs <- tx.Commit(ctx)
		}()
	}
	for range dumps {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// restamp sets the UUIDv7 time of the id, the first field of every row of
// a binary COPY dump, to at.
func restamp(dump []byte, at time.Time) error {
	const signature = "PGCOPY\n\377\r\n\x00"
	if !bytes.HasPrefix(dump, []byte(signature)) || len(dump) < len(signature)+8 {
		return fmt.Errorf("not a binary COPY dump")
	}
	p := len(signature) + 4 // and the flags
	p += 4 + int(binary.BigEndian.Uint32(dump[p:]))
	ms := uint64(at.UnixMilli())
	for p+2 <= len(dump) {
		fields := int16(binary.BigEndian.Uint16(dump[p:]))
		p += 2
		if fields == -1 {
			return nil
		}
		for f := range int(fields) {
			if p+4 > len(dump) {
				return fmt.Errorf("dump ends in a row")
			}
			n := int32(binary.BigEndian.Uint32(dump[p:]))
			p += 4
			if f == 0 {
				if n != 16 {
					return fmt.Errorf("first field of %d bytes, not a uuid", n)
				}
				for i := range 6 {
					dump[p+i] = byte(ms >> (40 - 8*i))
				}
			}
			if n > 0 {
				p += int(n)
			}
		}
	}
	return fmt.Errorf("dump ends without its trailer")
}
