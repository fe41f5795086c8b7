package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

var decodeSeeds = []string{
	`{"items":[]}`,
	` { "items" : [ { } ] } `,
	`{"items":[{"patientId":"0193c0de-0000-7000-8000-000000000001","code":"8867-4","value":{"value":72,"unit":"/min"},"effectiveAt":"2026-11-25T08:00:00Z"}]}`,
	`{"items":[{"patientId":"0193C0DE-0000-7000-8000-00000000000A","encounterId":"0193c0de-0000-7000-8000-000000000002",
	  "category":"vital-signs","code":"85354-9","components":[{"code":"8480-6","value":120.5,"unit":"mm[Hg]"},{"code":"8462-4","value":-0,"unit":"mmHg"}],
	  "effectiveAt":"2026-11-25T08:00:00.123+05:30","issued":"2026-11-25T08:01:00Z","status":"preliminary","method":"cuff — manual",
	  "device":"monitor ü","referenceRange":{"low":1e-7,"high":3.5E+2,"unit":"mmol/L"},"performer":"Practitioner/x"},
	  {"patientId":"0193c0de-0000-7000-8000-000000000001","code":"67775-7","value":{"code":"A"},"effectiveAt":"2026-11-25T08:00:00Z"},
	  {"patientId":"0193c0de-0000-7000-8000-000000000001","code":"x","value":{"text":"free <text> & more","boolean":true},"components":[]}]}`,
	// Left to encoding/json: each of these differs in one way.
	`{"items":[{"patientId":null}]}`,
	`{"items":[{"code":"8867\u002d4"}]}`,
	`{"items":[{"PatientId":"0193c0de-0000-7000-8000-000000000001"}]}`,
	`{"items":[{"code":"a","code":"b"}]}`,
	`{"items":[{"code":"a"}]} {}`,
	`{"items":[{"value":{"value":1e400}}]}`,
	`{"items":[{"value":{"value":01}}]}`,
	`{"items":[{"value":{"value":"72"}}]}`,
	`{"items":[{"unknown":1}]}`,
	`{"items":[{"patientId":"{0193c0de-0000-7000-8000-000000000001}"}]}`,
	`{"items":[{"patientId":"not a uuid"}]}`,
	`{"items":[{"effectiveAt":"25/11/2026"}]}`,
	"{\"items\":[{\"code\":\"\xff\"}]}",
	`{"items":[{"value":{"boolean":truex}}]}`,
	`{"items":[],"more":1}`,
	`{"items":[{"code":"a"},]}`,
}

// decodeBatchBody decodes a batch exactly as encoding/json does, or leaves
// it to encoding/json: whatever it accepts, encoding/json (refusing unknown
// fields, as readJSON does) accepts and decodes to the same value.
func FuzzDecodeBatchBody(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast batchBody
		if !decodeBatchBody(body, &fast) {
			return
		}
		var slow batchBody
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&slow); err != nil || dec.More() {
			t.Fatalf("decodeBatchBody accepted what encoding/json refuses (%v, more %v): %q", err, dec.More(), body)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %+v\njson %+v", body, fast, slow)
		}
	})
}

// The batches gateways send — the benchmark's — take the fast path, and
// the seeds left to encoding/json are left to it.
func TestDecodeBatchBodyTakesWhatGatewaysSend(t *testing.T) {
	p := uuid.Must(uuid.NewV7())
	items := []string{
		quantityJSON(p, "8867-4", 72, "/min", ago(5)), quantityJSON(p, "8310-5", 37.25, "Cel", ago(5)),
		panelJSON(p, 121, 79, ago(4)), acvpuJSON(p, "A", ago(3)),
	}
	for i, s := range []string{batchJSON(items...), decodeSeeds[0], decodeSeeds[1], decodeSeeds[2], decodeSeeds[3]} {
		var b batchBody
		if !decodeBatchBody([]byte(s), &b) {
			t.Errorf("body %d left to encoding/json: %s", i, s)
		}
	}
	for _, s := range decodeSeeds[4:] {
		var b batchBody
		if decodeBatchBody([]byte(s), &b) && !strings.Contains(s, "{0193c0de") {
			t.Errorf("decoded, not left to encoding/json: %s", s)
		}
	}
}

// A large body is read in two halves at once; a "},{" inside a string,
// where the second half would start, only makes it read alone.
func TestDecodeBatchBodyInHalves(t *testing.T) {
	p := uuid.Must(uuid.NewV7())
	for _, trap := range []bool{false, true} {
		items := make([]string, 4000)
		for i := range items {
			items[i] = quantityJSON(p, "8867-4", float64(60+i%40), "/min", ago(i%60))
		}
		body := batchJSON(items...)
		if trap {
			// The items about the middle name a device that looks like the
			// end of an item and the start of the next, padded until the
			// first such look after the middle is in a device.
			plain := slices.Clone(items)
			for pad := 0; ; pad++ {
				for i := len(items)/2 - 20; i < len(items)/2+20; i++ {
					padding := ""
					if i >= len(items)/2 { // moves the middle through the items before
						padding = strings.Repeat("z", pad)
					}
					items[i] = strings.Replace(plain[i], `"code"`, `"device":"x},{y`+padding+`","code"`, 1)
				}
				body = batchJSON(items...)
				at := len(body)/2 + strings.Index(body[len(body)/2:], "},{")
				if strings.HasPrefix(body[at-1:], "x},{y") {
					break
				}
				if pad > 200 {
					t.Fatal("no device at the middle")
				}
			}
		}
		if len(body) < splitBody {
			t.Fatalf("a body of %d bytes is not split", len(body))
		}
		var fast, slow batchBody
		if !decodeBatchBody([]byte(body), &fast) {
			t.Fatal("left to encoding/json")
		}
		if err := json.Unmarshal([]byte(body), &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("trap %v: %d items decoded, differently from encoding/json's %d", trap, len(fast.Items), len(slow.Items))
		}
	}
	// A mistake in either half leaves the body to encoding/json.
	items := make([]string, 4000)
	for i := range items {
		items[i] = quantityJSON(p, "8867-4", 70, "/min", ago(1))
	}
	for _, bad := range []int{10, 3990} {
		broken := slices.Clone(items)
		broken[bad] = strings.Replace(broken[bad], `"code"`, `"Code"`, 1)
		var b batchBody
		if decodeBatchBody([]byte(batchJSON(broken...)), &b) {
			t.Errorf("item %d spelled Code: decoded", bad)
		}
	}
}

// readBatch answers every body as readJSON does: the same batch, or the
// same refusal.
func TestReadBatchIsReadJSON(t *testing.T) {
	gin.SetMode(gin.TestMode)
	p := uuid.Must(uuid.NewV7())
	good := batchJSON(quantityJSON(p, "8867-4", 72, "/min", ago(5)), panelJSON(p, 121, 79, ago(4)))
	for _, c := range []struct{ contentType, body string }{
		{"application/json", good},
		{"application/json; charset=utf-8", good},
		{"text/plain", good},
		{"application/json", ""},
		{"application/json", `{"items":[{"patientId":"` + p.String() + `","code":"8867-4","valu":{}}]}`},
		{"application/json", `{"items":[{"patientId":"` + p.String() + `","value":{"value":"72"}}]}`},
		{"application/json", `{"items":[{"patientId":"not a uuid"}]}`},
		{"application/json", `{"items":[{"effectiveAt":"yesterday"}]}`},
		{"application/json", `{"items":[{"code":"8867-4"}`},
		{"application/json", `{"items":[]} {"items":[]}`},
		{"application/json", `{"items":[{"code":"a\u0062"}]}`},
		{"application/json", `{"items":[{"value":{"value":1e999}}]}`},
		{"application/json", `[]`},
	} {
		answer := func(read func(*gin.Context, *batchBody) []byte) (*httptest.ResponseRecorder, batchBody, bool) {
			rec := httptest.NewRecorder()
			ctx, _ := gin.CreateTestContext(rec)
			ctx.Request = httptest.NewRequest(http.MethodPost, "/v1/observations/batch", strings.NewReader(c.body))
			ctx.Request.Header.Set("Content-Type", c.contentType)
			var b batchBody
			ok := read(ctx, &b) != nil
			return rec, b, ok
		}
		fast, fastBody, fastOK := answer(readBatch)
		slow, slowBody, slowOK := answer(func(c *gin.Context, b *batchBody) []byte { return readJSON(c, b) })
		if fastOK != slowOK || fast.Code != slow.Code || fast.Body.String() != slow.Body.String() || !reflect.DeepEqual(fastBody, slowBody) {
			t.Errorf("%s %q:\nreadBatch %v %d %s\nreadJSON  %v %d %s", c.contentType, c.body, fastOK, fast.Code, fast.Body, slowOK, slow.Code, slow.Body)
		}
	}
}

// basedOn, the diagnostic order a result answers, is set only by the
// diagnostic service: a client that could send it could mark any critical
// value as the order's and silence its alert. Every observation body
// refuses it on its field, storing nothing; an answer shows the order of a
// result that has one, and an amendment through the API keeps it.
func TestObservationBodiesRefuseBasedOn(t *testing.T) {
	api := newObservationAPI(t)
	p := api.patient(t, "male", "1950-01-30")
	order := uuid.Must(uuid.NewV7())
	withOrder := func(item string) string {
		return strings.Replace(item, `{"patientId"`, `{"basedOn":"`+order.String()+`","patientId"`, 1)
	}
	one := withOrder(quantityJSON(p, "2823-3", 7.1, "mmol/L", ago(5)))
	batch := batchJSON(quantityJSON(p, "8867-4", 72, "/min", ago(5)), withOrder(quantityJSON(p, "2823-3", 7.1, "mmol/L", ago(5))))
	if !strings.Contains(one, `"basedOn"`) || !strings.Contains(batch, `"basedOn"`) {
		t.Fatalf("no basedOn in %s", one)
	}
	for _, c := range []struct{ path, body, field string }{
		{"/v1/observations", one, "basedOn"},
		{"/v1/observations/batch", batch, "items[1].basedOn"},
	} {
		r := call(t, api.srv, "POST", c.path, nurseToken, c.body)
		wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
		if f := fieldsOf(t, r); len(f) != 1 || f[c.field] == "" {
			t.Errorf("POST %s refused on %v, want %s", c.path, f, c.field)
		}
	}
	if n := api.rows(t); n != 0 {
		t.Fatalf("%d observations stored", n)
	}

	// A result the diagnostic service recorded.
	subject, err := observation.Demographics{Sex: "male", BirthDate: "1950-01-30"}.SubjectAt(time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	potassium := 7.1
	o, err := observation.New(uuid.Must(uuid.NewV7()), observation.Input{PatientID: p, Code: "2823-3", EffectiveAt: time.Now().Add(-time.Hour),
		Value: &observation.ValueInput{Value: &potassium, Unit: "mmol/L"}}, subject, observation.Performer{ClientID: "lab-gateway"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	o.BasedOn = &order
	if _, _, err := postgres.NewObservationStore(api.pool).Record(t.Context(), nil, nil, o); err != nil {
		t.Fatal(err)
	}
	path := "/v1/observations/" + o.ID.String()
	if got := decodeObservation(t, call(t, api.srv, "GET", path, adminToken, "")); got.BasedOn == nil || *got.BasedOn != order {
		t.Errorf("GET shows basedOn %v, want %s", got.BasedOn, order)
	}
	other := uuid.Must(uuid.NewV7())
	r := call(t, api.srv, "POST", path+"/amend", physicianToken,
		`{"basedOn":"`+other.String()+`","value":{"value":6.9,"unit":"mmol/L"},"reason":"repeated"}`, "If-Match", `"1"`)
	wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
	if f := fieldsOf(t, r); f["basedOn"] == "" {
		t.Errorf("amend refused on %v, want basedOn", f)
	}
	r = call(t, api.srv, "POST", path+"/amend", physicianToken, `{"value":{"value":6.9,"unit":"mmol/L"},"reason":"repeated"}`, "If-Match", `"1"`)
	if v2 := decodeObservation(t, r); r.status != http.StatusOK || v2.Version != 2 || v2.BasedOn == nil || *v2.BasedOn != order {
		t.Errorf("amended: %d %s", r.status, r.body)
	}
}
