package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The walk-through's first step: the generated files are bodies the batch
// endpoints accept whole, and loading them twice counts each order once.
func TestDemoOrdersLoadThroughTheBatchEndpoints(t *testing.T) {
	dir := t.TempDir()
	var said bytes.Buffer
	if err := run(context.Background(), []string{"demo", "orders", "--customers", "150", "--out", dir}, &said, io.Discard); err != nil {
		t.Fatalf("demo orders: %v", err)
	}
	if !strings.Contains(said.String(), "of 150 customers") {
		t.Errorf("demo orders said %q", said.String())
	}
	url, out, stop := startServe(t, t.TempDir())
	defer stop()
	key := keyPattern.FindString(out.String())

	post := func(path, file string) []int {
		t.Helper()
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", url+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var got struct {
			Results []struct {
				Status int `json:"status"`
			} `json:"results"`
		}
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
			t.Fatalf("POST %s %s: %d %v", path, filepath.Base(file), res.StatusCode, err)
		}
		var statuses []int
		for _, r := range got.Results {
			statuses = append(statuses, r.Status)
		}
		return statuses
	}
	count := func(statuses []int, want int) int {
		n := 0
		for _, s := range statuses {
			if s == want {
				n++
			}
		}
		return n
	}

	if got := post("/v1/products/batch", filepath.Join(dir, "products.json")); count(got, 201) != len(got) || len(got) == 0 {
		t.Fatalf("products: %v", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "orders-*.json"))
	if len(files) == 0 {
		t.Fatal("no orders files")
	}
	orders := 0
	for _, f := range files {
		got := post("/v1/orders/batch", f)
		if count(got, 201) != len(got) || len(got) > 100 {
			t.Fatalf("%s: %v", filepath.Base(f), got)
		}
		orders += len(got)
	}
	if orders < 150 {
		t.Errorf("%d orders for 150 customers", orders)
	}
	if got := post("/v1/orders/batch", files[0]); count(got, 200) != len(got) {
		t.Errorf("the same file again: %v, want every order 200 (an upsert, never a second order)", got)
	}
}
