package msgfolder_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/messaging/messagingtest"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/infra/msgfolder"
)

// A requested e-mail, relayed twice, is one file with what a provider
// needs; the other events of the change write nothing.
func TestOutboxWritesRequestedMessages(t *testing.T) {
	st := memstore.New()
	r := messagingtest.NewRig(t, st)
	c := r.Contact(t, "acme", "ada@example.com", "")
	out := r.Request(t, "acme", messaging.Request{ContactID: c.ID, Channel: messaging.Email, Template: "welcome",
		CampaignID: "onboarding", Variant: "b", Step: "1", Merge: map[string]any{"first_name": "Ada"}})
	ctx := context.Background()
	page, err := store.QueryMerged(ctx, st, store.Query{}, events.EventsPKs("acme"), 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var evs []events.Envelope
	for _, it := range page.Items {
		ev, err := events.Decode(it)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	dir := t.TempDir()
	o := msgfolder.Outbox{Dir: dir}
	for range 2 {
		for i, err := range o.Publish(ctx, evs) {
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*"))
	if err != nil || len(files) != 1 || files[0] != filepath.Join(dir, "acme", out.Message.ID+".json") {
		t.Fatalf("files %v (%v), want one for message %s", files, err, out.Message.ID)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var f msgfolder.File
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Address != "ada@example.com" || f.Template != "welcome" || f.Variant != "b" || f.IdempotencyKey != out.Message.ID ||
		f.Merge["first_name"] != "Ada" || f.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" ||
		!f.RequestedAt.Equal(messagingtest.T0) || f.RequestedAt.Location() != time.UTC {
		t.Fatalf("file: %+v", f)
	}
}
