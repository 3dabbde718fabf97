package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeFastForward: with --fast-forward, a timer due in 90 days fires
// within seconds of wall time on the running server, through its local
// timer loop.
func TestServeFastForward(t *testing.T) {
	url, out, stop := startServe(t, t.TempDir(), "--fast-forward", "10000000") // 90 days in 0.8 s
	key := keyPattern.FindString(out.String())
	due := time.Now().Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339)
	req, _ := http.NewRequest("POST", url+"/v1/timers", strings.NewReader(`{"kind":"emit","subject":"c1","due":"`+due+`"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tm struct{ ID, State string }
	_ = json.NewDecoder(res.Body).Decode(&tm)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("schedule: %d", res.StatusCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	for tm.State != "fired" {
		if time.Now().After(deadline) {
			t.Fatalf("a 90-day timer is still %s after 30 s at ×10 000 000", tm.State)
		}
		time.Sleep(20 * time.Millisecond) // polling the server, with a deadline
		req, _ := http.NewRequest("GET", url+"/v1/timers/"+tm.ID, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Body).Decode(&tm)
		res.Body.Close()
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
