// Package fakebus is a local HTTP endpoint that speaks EventBridge's
// PutEvents wire protocol (AWS JSON 1.1, X-Amz-Target AWSEvents.PutEvents),
// so that tests drive the real aws-sdk-go-v2 client against it: no
// EventBridge emulator exists. It can fail chosen entries and throttle
// whole calls. For tests only; production code must never import it.
package fakebus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Entry is one accepted event as the wire carried it.
type Entry struct {
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
}

// Bus is the fake endpoint.
type Bus struct {
	*httptest.Server

	mu       sync.Mutex
	accepted []Entry
	calls    int
	// FailEntry, when set, fails an entry of a call (AWS's InternalFailure)
	// when it returns true; ThrottleCall throttles a whole call
	// (ThrottlingException) when it returns true.
	FailEntry    func(call, index int, e Entry) bool
	ThrottleCall func(call int) bool
}

// New starts a fake bus; Close stops it.
func New() *Bus {
	b := &Bus{}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	return b
}

func (b *Bus) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		http.Error(w, "only AWSEvents.PutEvents", http.StatusBadRequest)
		return
	}
	var in struct{ Entries []Entry }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErr(w, "SerializationException", err.Error())
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	call := b.calls
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		writeErr(w, "ValidationException", fmt.Sprintf("%d entries: between 1 and 10", len(in.Entries)))
		return
	}
	if b.ThrottleCall != nil && b.ThrottleCall(call) {
		w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
		writeErr(w, "ThrottlingException", "Rate exceeded")
		return
	}
	type result struct {
		EventId      string `json:",omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	out := struct {
		FailedEntryCount int
		Entries          []result
	}{}
	for i, e := range in.Entries {
		if b.FailEntry != nil && b.FailEntry(call, i, e) {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, result{ErrorCode: "InternalFailure", ErrorMessage: "try again"})
			continue
		}
		b.accepted = append(b.accepted, e)
		out.Entries = append(out.Entries, result{EventId: fmt.Sprintf("evt-%d-%d", call, i)})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// Accepted returns the entries accepted so far.
func (b *Bus) Accepted() []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Entry(nil), b.accepted...)
}

// Calls is the number of PutEvents calls received.
func (b *Bus) Calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// EventIDs returns the event_id in each accepted entry's detail.
func (b *Bus) EventIDs() []string {
	var out []string
	for _, e := range b.Accepted() {
		var d struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal([]byte(e.Detail), &d)
		out = append(out, d.EventID)
	}
	return out
}
