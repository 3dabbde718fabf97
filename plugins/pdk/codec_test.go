package pdk

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/schemas"
)

func fixture(t testing.TB, kind string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "infra", "wasm", "fixtures", kind+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeScore(t *testing.T) {
	got, err := DecodeScore([]byte(`[
		{"contact": {"id": "c1", "first_name": "Ad\u00e0 \"A\" \\ \ud83d\ude00", "emails": [{"address": "ada@example.com", "primary": true}],
		  "phones": [{"number": "+390212345678", "label": "work"}], "tags": ["vip", "beta"], "lifecycle_stage": "mql",
		  "custom": {"budget": 1200.5, "region": "north", "ok": true, "list": [1, "a"], "none": null},
		  "unknown": {"deep": [1, 2, {"x": null}]}, "created_at": "2026-11-01T10:00:00.123Z"},
		 "company": {"id": "co", "size": "1001-5000", "industry": "Software"},
		 "activities": [{"type": "meeting", "channel": "in_person", "at": "2026-11-20T10:00:00Z"}],
		 "orders": {"count": 2.0, "total_minor": 250000, "currency": "EUR", "last_order_at": null}},
		{"contact": {"id": "c2"}, "company": null}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []ScoreRecord{
		{
			Contact: Contact{ID: "c1", FirstName: "Adà \"A\" \\ 😀", Emails: []Email{{Address: "ada@example.com", Primary: true}},
				Phones: []Phone{{Number: "+390212345678", Label: "work"}}, Tags: []string{"vip", "beta"}, LifecycleStage: "mql",
				Custom:    map[string]any{"budget": 1200.5, "region": "north", "ok": true, "list": []any{1.0, "a"}, "none": nil},
				CreatedAt: time.Date(2026, 11, 1, 10, 0, 0, 123e6, time.UTC)},
			Company:    &Company{ID: "co", Size: "1001-5000", Industry: "Software"},
			Activities: []Activity{{Type: "meeting", Channel: "in_person", At: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}},
			Orders:     Orders{Count: 2, TotalMinor: 250000, Currency: "EUR"},
		},
		{Contact: Contact{ID: "c2"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	for _, in := range []string{
		``, `[`, `{}`, `[{"contact": {"id": 5}}]`, `[{"contact": {"id": "a"}}] x`, `[{"contact": {"id": "\x01"}}]`,
		`[{"orders": {"count": 1.5}}]`, `[{"activities": [{"at": "yesterday"}]}]`, `[{"contact": {"id": "a\q"}}]`,
		`[{"contact": {"id": "a"},}]`, `[1,]`, `[{"contact": {"tags": [tru]}}]`, `[{"company": 7}]`,
		strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100),
	} {
		if _, err := DecodeScore([]byte(in)); err == nil {
			t.Errorf("DecodeScore(%q) accepted it", in)
		}
	}
}

// What the encoders write keeps the contract, and reads back as written.
func TestEncodersKeepTheContract(t *testing.T) {
	delay := int64(3600)
	for _, tc := range []struct {
		kind string
		out  []byte
		n    int
	}{
		{"score", EncodeScore([]ScoreResult{{Score: 87, Reasons: []string{"opened \"3\" e-mails\n"}, Tags: []string{"hot"}}, {Score: 140}, {Err: "no e-mail"}}), 3},
		{"route", EncodeRoute([]RouteResult{{Assignee: "01JFIXTUREUSER00000000001", Reason: "least loaded"}, {Queue: "tier-2"}, {}}), 3},
		{"campaign", EncodeCampaign([]CampaignResult{{Enrol: true, Variant: "b", Fields: map[string]string{"first": "Ada", "a": "\u2028"}, DelaySeconds: &delay}, {Enrol: false}, {Err: "x"}}), 3},
	} {
		if err := schemas.ValidatePluginOutput(tc.kind, tc.out, tc.n); err != nil {
			t.Errorf("%s: %s: %v", tc.kind, tc.out, err)
		}
		if !json.Valid(tc.out) {
			t.Errorf("%s: not JSON: %s", tc.kind, tc.out)
		}
	}
	var back []map[string]any
	_ = json.Unmarshal(EncodeScore([]ScoreResult{{Score: 140, Reasons: []string{"a\tb\x01"}}}), &back)
	if diff := cmp.Diff([]map[string]any{{"score": 100.0, "reasons": []any{"a\tb\x01"}}}, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// The codec agrees with encoding/json on the built-in fixtures.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	got, err := DecodeRoute(fixture(t, "route"))
	if err != nil {
		t.Fatal(err)
	}
	var want []struct {
		Item struct {
			Type, ID string
			Fields   map[string]any
		}
		Candidates []struct {
			ID        string
			Skills    []string
			Territory string
			Load      int64
			Capacity  int64
			Available bool
		}
	}
	if err := json.Unmarshal(fixture(t, "route"), &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Item.ID != want[i].Item.ID || got[i].Item.Type != want[i].Item.Type || !cmp.Equal(got[i].Item.Fields, want[i].Item.Fields, cmpEmpty) {
			t.Errorf("record %d item: %+v, want %+v", i, got[i].Item, want[i].Item)
		}
		for j, c := range want[i].Candidates {
			g := got[i].Candidates[j]
			if g.ID != c.ID || g.Load != c.Load || g.Capacity != c.Capacity || g.Available != c.Available || g.Territory != c.Territory || !cmp.Equal(g.Skills, c.Skills) {
				t.Errorf("record %d candidate %d: %+v, want %+v", i, j, g, c)
			}
		}
	}
	if _, err := DecodeCampaign(fixture(t, "campaign")); err != nil {
		t.Errorf("campaign fixture: %v", err)
	}
	recs, err := DecodeScore(fixture(t, "score"))
	if err != nil || len(recs) != 3 || recs[0].Company == nil || recs[0].Company.Size != "1001-5000" || recs[0].Orders.Count != 2 ||
		len(recs[0].Activities) != 1 || recs[1].Company != nil || len(recs[2].Contact.Emails) != 1 {
		t.Errorf("score fixture: %+v, %v", recs, err)
	}
}

var cmpEmpty = cmp.Comparer(func(a, b map[string]any) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })

func TestBatchHelpersTurnPanicsIntoRecordErrors(t *testing.T) {
	out, err := ScoreBatch([]byte(`[{"contact":{"id":"a"}},{"contact":{"id":"boom"}}]`), time.Time{}, func(r *ScoreRecord, _ time.Time) ScoreResult {
		if r.Contact.ID == "boom" {
			panic("bad record")
		}
		return ScoreResult{Score: 5}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"score":5},{"error":"panic: bad record"}]`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
}

// The decoders never panic, accept only JSON, and whatever they decode the
// encoders write back within the contract.
func FuzzDecodeScore(f *testing.F) {
	f.Add(fixture(f, "score"))
	f.Add([]byte(`[{"contact":{"id":"a","custom":{"x":[{"y":"\u00e9"}]}}}]`))
	f.Add([]byte(`[{"contact":{"id":"a"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := DecodeScore(in)
		if err != nil {
			return
		}
		if !json.Valid(in) {
			t.Fatalf("decoded %q, which is not JSON", in)
		}
		res := make([]ScoreResult, len(recs))
		for i, r := range recs {
			res[i] = ScoreResult{Score: len(r.Contact.ID), Reasons: []string{r.Contact.FirstName}, Tags: r.Contact.Tags}
			if len(res[i].Tags) > 10 {
				res[i].Tags = res[i].Tags[:10]
			}
			for j, tag := range res[i].Tags {
				if len(tag) > 64 {
					res[i].Tags[j] = tag[:64]
				}
			}
			if len(r.Contact.FirstName) > 200 {
				res[i].Reasons = nil
			}
		}
		out := EncodeScore(res)
		if !json.Valid(out) {
			t.Fatalf("encoded %q, which is not JSON", out)
		}
	})
}

func FuzzDecodeRoute(f *testing.F) {
	f.Add(fixture(f, "route"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := DecodeRoute(in); err == nil && !json.Valid(in) {
			t.Fatalf("decoded %q, which is not JSON", in)
		}
	})
}

func FuzzDecodeCampaign(f *testing.F) {
	f.Add(fixture(f, "campaign"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := DecodeCampaign(in); err == nil && !json.Valid(in) {
			t.Fatalf("decoded %q, which is not JSON", in)
		}
	})
}

func TestParseUTCAgreesWithTimeParse(t *testing.T) {
	for _, s := range []string{
		"2026-11-27T10:00:00Z", "2026-11-27T10:00:00.5Z", "2026-11-27T10:00:00.123456789Z", "2024-02-29T23:59:59Z",
		"2026-02-30T10:00:00Z", "2026-13-01T10:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T10:00:00.Z",
		"2026-11-27T10:00:00+01:00", "2026-11-27 10:00:00Z", "20261127T100000Z", "2026-11-27T10:00:00.1234567890Z",
	} {
		want, werr := time.Parse(time.RFC3339Nano, s)
		got, ok := parseUTC(s)
		if ok && (werr != nil || !got.Equal(want)) {
			t.Errorf("parseUTC(%q) = %v, time.Parse = %v, %v", s, got, want, werr)
		}
		r := &reader{b: []byte(`"` + s + `"`)}
		if rt := r.time(); (r.err == nil) != (werr == nil) || werr == nil && !rt.Equal(want) {
			t.Errorf("reader.time(%q) = %v, %v; time.Parse = %v, %v", s, rt, r.err, want, werr)
		}
	}
}
