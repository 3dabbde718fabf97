package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fedele-crm/fedele/core"
)

// BenchmarkContactsHTTP measures GET and POST /v1/contacts through the whole
// stack (TCP, middleware, huma, the embedded store) beside a bare net/http
// handler that answers the same JSON, and reports the ratio: the price of
// everything Fedele does per request over the cheapest possible answer. The
// fedele rows carry that ratio as x-bare (run with -count to compare runs).
//
//	go test ./infra/httpapi -run '^$' -bench ContactsHTTP -benchmem
func BenchmarkContactsHTTP(b *testing.B) {
	e := newEnv(b, engines["embedded"](b))
	var c core.Contact
	e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Bench", "emails": []map[string]any{{"address": "bench@example.com"}}}).want(b, 201, &c)
	stored, _ := json.Marshal(c)

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			var f core.ContactFields
			if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			w.WriteHeader(http.StatusCreated)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(stored)
	}))
	b.Cleanup(bare.Close)

	var seq atomic.Int64
	get := func(url string) func(*testing.B) {
		return func(b *testing.B) {
			req, _ := http.NewRequest("GET", url+"/v1/contacts/"+c.ID, nil)
			req.Header.Set("Authorization", e.a.auth)
			for b.Loop() {
				send(b, req, "", 200)
			}
		}
	}
	post := func(url string) func(*testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				body := fmt.Sprintf(`{"first_name":"Bench","emails":[{"address":"b%d@example.com"}],"tags":["bench"]}`, seq.Add(1))
				req, _ := http.NewRequest("POST", url+"/v1/contacts", nil)
				req.Header.Set("Authorization", e.a.auth)
				req.Header.Set("Content-Type", "application/json")
				send(b, req, body, 201)
			}
		}
	}
	for _, op := range []struct {
		name string
		run  func(string) func(*testing.B)
	}{{"GET", get}, {"POST", post}} {
		b.Run(op.name, func(b *testing.B) {
			var bareNs float64
			b.Run("bare", func(b *testing.B) {
				op.run(bare.URL)(b)
				bareNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			})
			b.Run("fedele", func(b *testing.B) {
				op.run(e.url)(b)
				if bareNs > 0 {
					ratio := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / bareNs
					b.ReportMetric(ratio, "x-bare")
				}
			})
		})
	}
}

func send(b *testing.B, req *http.Request, body string, status int) {
	if body != "" {
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != status {
		b.Fatalf("status %d, want %d", res.StatusCode, status)
	}
}
