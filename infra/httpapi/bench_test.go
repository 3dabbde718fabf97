package httpapi_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fedele-crm/fedele/core"
)

// BenchmarkContactsHTTP measures GET and POST /v1/contacts through the whole
// stack (TCP, middleware, huma, the embedded store) beside a bare net/http
// handler that answers the same JSON, and reports the ratio: the price of
// everything Fedele does per request over the cheapest possible answer. The
// fedele rows carry that ratio as x-bare (run with -count to compare runs).
//
// POST runs with 1 and 8 concurrent clients, beside a bare bbolt loop at
// the same concurrency that puts 1 KB and syncs per put (db.Update): what
// the disk allows one write at a time. Its rows report ops/s; the fedele
// row's x-bbolt is its creates/s over that loop's puts/s, a ratio that
// holds better than either figure on a machine loaded by other work.
//
//	go test ./infra/httpapi -run '^$' -bench ContactsHTTP -benchmem
func BenchmarkContactsHTTP(b *testing.B) {
	st := engines["embedded"](b)
	e := newEnv(b, st)
	commits := func() int { return st.(interface{ Commits() int }).Commits() }
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
	// Eight clients keep eight connections: the default keeps two idle per
	// host, and the others would pay a new connection per request.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(hc.CloseIdleConnections)

	var seq atomic.Int64
	get := func(url string) func() error {
		return func() error {
			req, _ := http.NewRequest("GET", url+"/v1/contacts/"+c.ID, nil)
			req.Header.Set("Authorization", e.a.auth)
			return send(hc, req, "", 200)
		}
	}
	postAs := func(auth string) func(url string) func() error {
		return func(url string) func() error {
			return func() error {
				body := fmt.Sprintf(`{"first_name":"Bench","emails":[{"address":"b%d@example.com"}],"tags":["bench"]}`, seq.Add(1))
				req, _ := http.NewRequest("POST", url+"/v1/contacts", nil)
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				return send(hc, req, body, 201)
			}
		}
	}
	post := postAs(e.a.auth)

	db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	value := make([]byte, 1024)
	var key atomic.Uint64
	boltPut := func() error {
		return db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return bk.Put(binary.BigEndian.AppendUint64(nil, key.Add(1)), value)
		})
	}

	for _, op := range []struct {
		name    string
		run     func(string) func() error
		clients []int
	}{{"GET", get, []int{1}}, {"POST", post, []int{1, 8}}} {
		b.Run(op.name, func(b *testing.B) {
			for _, n := range op.clients {
				b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
					var bareNs, boltOps float64
					if op.name == "POST" {
						b.Run("bbolt", func(b *testing.B) { boltOps = clients(b, n, boltPut) })
					}
					b.Run("bare", func(b *testing.B) {
						clients(b, n, op.run(bare.URL))
						bareNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					})
					b.Run("fedele", func(b *testing.B) {
						before := commits()
						ops := clients(b, n, op.run(e.url))
						if op.name == "POST" {
							// Below 1 when creates share commits.
							b.ReportMetric(float64(commits()-before)/float64(b.N), "commits/op")
						}
						if bareNs > 0 {
							b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bareNs, "x-bare")
						}
						if boltOps > 0 {
							b.ReportMetric(ops/boltOps, "x-bbolt")
						}
					})
					if op.name == "POST" {
						// The same, on a store of its own, with the local
						// relay of `fedele serve` delivering each create's
						// event to the consumers as it goes.
						b.Run("fedele+relay", func(b *testing.B) {
							re := newEnv(b, engines["embedded"](b))
							ctx, stop := context.WithCancel(context.Background())
							var relay sync.WaitGroup
							relay.Go(func() { re.app.LocalRelay(time.Millisecond).Run(ctx) })
							ops := clients(b, n, postAs(re.a.auth)(re.url))
							stop()
							relay.Wait()
							if boltOps > 0 {
								b.ReportMetric(ops/boltOps, "x-bbolt")
							}
						})
					}
				})
			}
		})
	}
}

// clients runs op b.N times from n goroutines and reports, and returns,
// the operations per second.
func clients(b *testing.B, n int, op func() error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	b.ResetTimer()
	for range n {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) && failed.Load() == nil {
				if err := op(); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	ops := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(ops, "ops/s")
	return ops
}

func send(hc *http.Client, req *http.Request, body string, status int) error {
	if body != "" {
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != status {
		return fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL.Path, res.StatusCode, status)
	}
	return nil
}
