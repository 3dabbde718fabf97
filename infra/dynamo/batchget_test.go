package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/dynamo"
)

// fakeBatchGet is a DynamoDB endpoint that answers BatchGetItem by holding
// every key and processing at most perRound of them a round (0: none, as a
// throttled table does), so that the engine's UnprocessedKeys loop can be
// driven where DynamoDB Local cannot: it is never throttled.
func fakeBatchGet(t *testing.T, perRound int) (*dynamo.Store, *atomic.Int64) {
	t.Helper()
	var rounds atomic.Int64
	type keysAndAttrs struct {
		Keys           []map[string]map[string]string
		ConsistentRead bool
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if target := r.Header.Get("X-Amz-Target"); target != "DynamoDB_20120810.BatchGetItem" {
			http.Error(w, "unexpected "+target, http.StatusBadRequest)
			return
		}
		rounds.Add(1)
		var in struct{ RequestItems map[string]keysAndAttrs }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := struct {
			Responses       map[string][]map[string]map[string]string
			UnprocessedKeys map[string]keysAndAttrs
		}{Responses: map[string][]map[string]map[string]string{}, UnprocessedKeys: map[string]keysAndAttrs{}}
		for table, req := range in.RequestItems {
			if !req.ConsistentRead {
				http.Error(w, "not a consistent read", http.StatusBadRequest)
				return
			}
			n := min(perRound, len(req.Keys))
			for _, k := range req.Keys[:n] {
				out.Responses[table] = append(out.Responses[table], map[string]map[string]string{
					"pk": k["pk"], "sk": k["sk"], "v": {"N": "1"}})
			}
			if rest := req.Keys[n:]; len(rest) > 0 {
				out.UnprocessedKeys[table] = keysAndAttrs{Keys: rest, ConsistentRead: true}
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	client, err := dynamo.Connect(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return dynamo.New(client, "fake"), &rounds
}

func TestGetManyRetriesUnprocessedKeys(t *testing.T) {
	var keys []store.Key
	for i := range 12 {
		keys = append(keys, store.Key{PK: "T#a#x", SK: fmt.Sprintf("%02d", 11-i)})
	}
	cases := []struct {
		name       string
		perRound   int
		wantRounds int64
		wantErr    error
	}{
		// More rounds than the stall bound: each one made progress.
		{"one key a round", 1, 12, nil},
		{"five keys a round", 5, 3, nil},
		{"all at once", 100, 1, nil},
		// The initial round and every retry read nothing.
		{"throttled", 0, 1 + 8, store.ErrThrottled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, rounds := fakeBatchGet(t, tc.perRound)
			got, err := s.GetMany(context.Background(), keys)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("GetMany: %v, want %v", err, tc.wantErr)
			}
			if n := rounds.Load(); n != tc.wantRounds {
				t.Errorf("%d rounds, want %d", n, tc.wantRounds)
			}
			if n := s.Usage().Requests["batchget"]; int64(n) != tc.wantRounds {
				t.Errorf("usage counted %d batchget requests, want %d", n, tc.wantRounds)
			}
			if tc.wantErr != nil {
				return
			}
			var gotKeys []store.Key
			for _, it := range got {
				gotKeys = append(gotKeys, it.Key)
			}
			if diff := cmp.Diff(keys, gotKeys); diff != "" {
				t.Errorf("keys (-asked +got):\n%s", diff)
			}
		})
	}
}

// TestGetManyPastTheResponseLimit proves on DynamoDB Local that a GetMany
// of more than 16 MB goes through UnprocessedKeys (and so that the
// conformance suite's big read tests that path on this engine).
func TestGetManyPastTheResponseLimit(t *testing.T) {
	s, _ := openTable(t)
	ctx := context.Background()
	var keys []store.Key
	for i := range 42 { // × 400 KB > 16 MB
		it := store.Item{Key: store.Key{PK: "T#a#big", SK: fmt.Sprintf("%02d", i)}, Version: 1}
		it.Data = make([]byte, store.MaxItemBytes-it.Size())
		if err := s.Put(ctx, it, store.Cond{}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, it.Key)
	}
	before := s.Usage()
	got, err := s.GetMany(ctx, keys)
	if err != nil || len(got) != len(keys) {
		t.Fatalf("GetMany of %d big items: %d items, %v", len(keys), len(got), err)
	}
	if d := s.Usage().Sub(before); d.Requests["batchget"] < 2 {
		t.Errorf("%d BatchGetItem rounds for %d MB: DynamoDB Local answered past its 16 MB limit", d.Requests["batchget"], len(keys)*store.MaxItemBytes>>20)
	}
}
