package api

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDICOMStow stores the dcmtk-made CT instance through STOW-RS,
// ten instances a request (each a new SOP Instance UID), through the whole
// router — token, audit, input checks, the header read, the file written
// and renamed, the index row — beside the ceiling of a bare handler that
// reads the same multipart bodies into files with their digest and nothing
// else, measured in the same run.
func BenchmarkDICOMStow(b *testing.B) {
	d, _ := testDeps(b, nil)
	d.DICOMDir = b.TempDir()
	srv := httptest.NewServer(NewRouter(d))
	b.Cleanup(srv.Close)
	raw, err := os.ReadFile(dicomTestdata + "ct_explicit.dcm")
	if err != nil {
		b.Fatal(err)
	}
	// The UID is written twice: in the file meta and in the data set.
	if bytes.Count(raw, []byte(ctSOP)) != 2 {
		b.Fatalf("the CT's SOP Instance UID is not in the file twice")
	}
	ceilingDir := b.TempDir()
	ceiling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for n := 0; ; n++ {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			f, err := os.CreateTemp(ceilingDir, "part")
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			h := sha256.New()
			_, _ = io.Copy(io.MultiWriter(f, h), p)
			_ = f.Close()
			_ = os.Rename(f.Name(), filepath.Join(ceilingDir, fmt.Sprintf("%x.dcm", h.Sum(nil))))
		}
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(ceiling.Close)
	const perRequest, requests = 10, 50
	seq := 0
	body := func() (string, []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for range perRequest {
			seq++
			uid := fmt.Sprintf("%s%0*d", ctSOP[:len(ctSOP)-6], 6, seq%1_000_000)
			pw, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {mediaDICOM}})
			_, _ = pw.Write(bytes.ReplaceAll(raw, []byte(ctSOP), []byte(uid)))
		}
		_ = w.Close()
		return `multipart/related; type="application/dicom"; boundary=` + w.Boundary(), buf.Bytes()
	}
	run := func(url string, token string) float64 {
		start := time.Now()
		for range requests {
			ct, data := body()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
			req.Header.Set("Content-Type", ct)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("STOW-RS answered %d", res.StatusCode)
			}
		}
		return float64(perRequest*requests) / time.Since(start).Seconds()
	}
	for b.Loop() {
		top := run(ceiling.URL, "")
		rate := run(srv.URL+dicomStudiesPath, adminToken)
		b.Logf("%.0f instances/s stored and indexed, ceiling (the same bodies into files, nothing read or indexed) %.0f/s, ratio %.2f",
			rate, top, rate/top)
		b.ReportMetric(rate, "instances/s")
	}
}
