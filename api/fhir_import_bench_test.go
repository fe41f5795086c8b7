package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// BenchmarkFHIRImportAPI posts the 16 Synthea bundles of the shared test
// data — each a transaction of one new patient and its history — through
// the real router (auth, audit, the bundle reader, the importer) and the
// bulk import store on PostgreSQL, beside its ceiling measured in the same
// run: the same number of rows, each an entry's resource, copied into a
// scratch table with a plain pgx CopyFrom and nothing else (no parsing,
// validation, lookups, keys, events or audit). Every iteration posts fresh
// copies of the bundles (new fullUrls and patient identifiers, so each
// patient and observation is new), either one bundle per request or all 16
// merged into one transaction, from one client or two at once, and copies
// as many rows, alternating which goes first. It reports resources/s (every
// entry answered counts) of both and their ratio.
func BenchmarkFHIRImportAPI(b *testing.B) {
	pool := pgtest.NewPool(b)
	d, _ := serviceDeps(pool)
	d.Verifier.(stubVerifier)[importToken] = access.Principal{Subject: importToken, ClientID: importToken,
		Scopes: []string{"system/Patient.write"}}
	d.FHIRImport = bundle.New(postgres.NewFHIRImportStore(pool), time.Now, uuid.NewV7)
	srv := httptest.NewServer(NewRouter(d))
	b.Cleanup(srv.Close)
	originals := syntheaBundles(b)
	ceiling := newResourceCopier(b, pool)

	post := func(raw []byte) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+fhirImportPath, bytes.NewReader(raw))
		req.Header.Set("Content-Type", mediaFHIRJSON)
		req.Header.Set("Authorization", "Bearer "+importToken)
		res, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var answer bundle.ResponseBundle
		if err := json.NewDecoder(res.Body).Decode(&answer); err != nil || res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("import: %d %v", res.StatusCode, err)
		}
		for i, e := range answer.Entry {
			if e.Response.Status == "200 OK" {
				return 0, fmt.Errorf("import: entry %d was imported before", i)
			}
		}
		return len(answer.Entry), nil
	}
	// The first round creates the observations' partitions and caches
	// the reference ranges.
	round := 0
	fresh := func(merged bool) ([][]byte, [][]byte) {
		round++
		bodies, resources := freshBundles(b, originals, round)
		if merged {
			bodies = [][]byte{mergeBundles(b, bodies)}
		}
		return bodies, resources
	}
	warm, _ := fresh(true)
	if _, err := post(warm[0]); err != nil {
		b.Fatal(err)
	}
	for _, merged := range []bool{false, true} {
		for _, clients := range []int{1, 2} {
			name := fmt.Sprintf("bundles=single/clients=%d", clients)
			if merged {
				name = fmt.Sprintf("bundles=merged/clients=%d", clients)
			}
			b.Run(name, func(b *testing.B) {
				var (
					posted, copied time.Duration
					resources      int
				)
				for i := range b.N {
					bodies, rows := fresh(merged)
					postAll := func() {
						start := time.Now()
						work := make(chan []byte, len(bodies))
						for _, body := range bodies {
							work <- body
						}
						close(work)
						errs := make(chan error, clients)
						counts := make(chan int, clients)
						for range clients {
							go func() {
								n := 0
								for body := range work {
									m, err := post(body)
									if err != nil {
										errs <- err
										return
									}
									n += m
								}
								counts <- n
								errs <- nil
							}()
						}
						for range clients {
							if err := <-errs; err != nil {
								b.Fatal(err)
							}
							resources += <-counts
						}
						posted += time.Since(start)
					}
					if i%2 == 0 {
						postAll()
						copied += ceiling.copy(b, rows)
					} else {
						copied += ceiling.copy(b, rows)
						postAll()
					}
				}
				b.ReportMetric(float64(resources)/posted.Seconds(), "resources/s")
				b.ReportMetric(float64(resources)/copied.Seconds(), "copy-resources/s")
				b.ReportMetric(copied.Seconds()/posted.Seconds(), "ratio-to-copy")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// syntheaBundles reads the Synthea bundles of the shared test data.
func syntheaBundles(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../../shared/testdata/synthea/*.json")
	if err != nil || len(files) < 16 {
		tb.Fatalf("the Synthea bundles of ../shared/testdata/synthea: %d files, %v", len(files), err)
	}
	out := make([][]byte, len(files))
	for i, f := range files {
		if out[i], err = os.ReadFile(f); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// freshBundles copies each bundle as new content: every UUID (the
// fullUrls, the references to them, the Synthea id) replaced by a new
// one, and the patient's other identifiers suffixed with round. It also
// returns each entry's resource, for the ceiling's rows.
func freshBundles(tb testing.TB, originals [][]byte, round int) (bodies, resources [][]byte) {
	tb.Helper()
	for _, raw := range originals {
		var parsed struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		var pat struct {
			Entry []struct {
				Resource struct {
					ResourceType string `json:"resourceType"`
					Identifier   []struct {
						Value string `json:"value"`
					} `json:"identifier"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &pat); err != nil {
			tb.Fatal(err)
		}
		var pairs []string
		for _, e := range pat.Entry {
			if e.Resource.ResourceType != "Patient" {
				continue
			}
			for _, id := range e.Resource.Identifier {
				if len(id.Value) >= 5 && !uuidPattern.MatchString(id.Value) {
					pairs = append(pairs, `"`+id.Value+`"`, fmt.Sprintf(`"%s-%d"`, id.Value, round))
				}
			}
		}
		seen := map[string]bool{}
		for _, u := range uuidPattern.FindAllString(string(raw), -1) {
			if !seen[u] {
				seen[u] = true
				pairs = append(pairs, u, uuid.Must(uuid.NewV7()).String())
			}
		}
		body := []byte(strings.NewReplacer(pairs...).Replace(string(raw)))
		if err := json.Unmarshal(body, &parsed); err != nil {
			tb.Fatal(err)
		}
		bodies = append(bodies, body)
		for _, e := range parsed.Entry {
			resources = append(resources, e.Resource)
		}
	}
	return bodies, resources
}

// mergeBundles makes one transaction of the bundles' entries.
func mergeBundles(tb testing.TB, bodies [][]byte) []byte {
	tb.Helper()
	var entries []json.RawMessage
	for _, raw := range bodies {
		var b struct {
			Entry []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			tb.Fatal(err)
		}
		entries = append(entries, b.Entry...)
	}
	var out bytes.Buffer
	out.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	for i, e := range entries {
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(e)
	}
	out.WriteString(`]}`)
	return out.Bytes()
}

// resourceCopier copies resources into a scratch table with pgx CopyFrom:
// the raw ceiling of an import.
type resourceCopier struct{ pool *pgxpool.Pool }

func newResourceCopier(b *testing.B, pool *pgxpool.Pool) *resourceCopier {
	b.Helper()
	if _, err := pool.Exec(context.Background(), `CREATE TABLE import_ceiling (id uuid PRIMARY KEY, resource jsonb NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	return &resourceCopier{pool: pool}
}

// copy copies resources under new ids, timing the copy alone.
func (c *resourceCopier) copy(b *testing.B, resources [][]byte) time.Duration {
	b.Helper()
	rows := make([][]any, len(resources))
	for i, r := range resources {
		rows[i] = []any{uuid.Must(uuid.NewV7()), r}
	}
	start := time.Now()
	n, err := c.pool.CopyFrom(context.Background(), pgx.Identifier{"import_ceiling"}, []string{"id", "resource"}, pgx.CopyFromRows(rows))
	if err != nil || int(n) != len(rows) {
		b.Fatalf("copy %d of %d: %v", n, len(rows), err)
	}
	return time.Since(start)
}
