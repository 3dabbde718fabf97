package pdk

import "time"

// Decoders and encoders of each kind's batch. Unknown fields are skipped,
// so a host that sends more than a plugin knows does not break it.

func (r *reader) time() time.Time {
	s := r.str()
	if s == "" || r.err != nil {
		return time.Time{}
	}
	if t, ok := parseUTC(s); ok {
		return t
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.fail()
	}
	return t
}

// parseUTC reads the form the host always writes, 2006-01-02T15:04:05Z
// with optional fractional seconds, several times faster than time.Parse
// inside a module. Anything else goes to time.Parse.
func parseUTC(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	ns := 0
	if rest := s[19 : len(s)-1]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		frac, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(rest) {
			frac *= 10
		}
		ns = frac
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	if t.Day() != d { // February 30th and the like
		return time.Time{}, false
	}
	return t, true
}

func (r *reader) contact(c *Contact) {
	if !r.open('{') {
		return
	}
	for n := 0; r.more('}', &n); {
		switch string(r.key()) {
		case "id":
			c.ID = r.str()
		case "first_name":
			c.FirstName = r.str()
		case "last_name":
			c.LastName = r.str()
		case "emails":
			if r.open('[') {
				for m := 0; r.more(']', &m); {
					var e Email
					if r.open('{') {
						for k := 0; r.more('}', &k); {
							switch string(r.key()) {
							case "address":
								e.Address = r.str()
							case "primary":
								e.Primary = r.bool()
							case "label":
								e.Label = r.str()
							default:
								r.skip()
							}
						}
					}
					c.Emails = append(c.Emails, e)
				}
			}
		case "phones":
			if r.open('[') {
				for m := 0; r.more(']', &m); {
					var p Phone
					if r.open('{') {
						for k := 0; r.more('}', &k); {
							switch string(r.key()) {
							case "number":
								p.Number = r.str()
							case "label":
								p.Label = r.str()
							default:
								r.skip()
							}
						}
					}
					c.Phones = append(c.Phones, p)
				}
			}
		case "company_id":
			c.CompanyID = r.str()
		case "owner_id":
			c.OwnerID = r.str()
		case "tags":
			c.Tags = r.strings()
		case "lifecycle_stage":
			c.LifecycleStage = r.str()
		case "source":
			c.Source = r.str()
		case "custom":
			c.Custom = r.fields()
		case "created_at":
			c.CreatedAt = r.time()
		case "updated_at":
			c.UpdatedAt = r.time()
		default:
			r.skip()
		}
	}
}

func (r *reader) company() *Company {
	if !r.open('{') {
		return nil
	}
	c := &Company{}
	for n := 0; r.more('}', &n); {
		switch string(r.key()) {
		case "id":
			c.ID = r.str()
		case "name":
			c.Name = r.str()
		case "domain":
			c.Domain = r.str()
		case "industry":
			c.Industry = r.str()
		case "size":
			c.Size = r.str()
		case "custom":
			c.Custom = r.fields()
		default:
			r.skip()
		}
	}
	return c
}

func (r *reader) orders(o *Orders) {
	if !r.open('{') {
		return
	}
	for n := 0; r.more('}', &n); {
		switch string(r.key()) {
		case "count":
			o.Count = r.int()
		case "total_minor":
			o.TotalMinor = r.int()
		case "currency":
			o.Currency = r.str()
		case "last_order_at":
			o.LastOrderAt = r.time()
		default:
			r.skip()
		}
	}
}

// DecodeScore reads a score batch. Its strings alias input.
func DecodeScore(input []byte) ([]ScoreRecord, error) {
	r := &reader{b: input}
	var out []ScoreRecord
	if !r.open('[') {
		r.fail()
	}
	for n := 0; r.more(']', &n); {
		out = append(out, ScoreRecord{})
		rec := &out[len(out)-1]
		if !r.open('{') {
			r.fail()
			break
		}
		for m := 0; r.more('}', &m); {
			switch string(r.key()) {
			case "contact":
				r.contact(&rec.Contact)
			case "company":
				rec.Company = r.company()
			case "activities":
				if r.open('[') {
					for k := 0; r.more(']', &k); {
						var a Activity
						if r.open('{') {
							for j := 0; r.more('}', &j); {
								switch string(r.key()) {
								case "type":
									a.Type = r.str()
								case "channel":
									a.Channel = r.str()
								case "at":
									a.At = r.time()
								default:
									r.skip()
								}
							}
						}
						rec.Activities = append(rec.Activities, a)
					}
				}
			case "orders":
				r.orders(&rec.Orders)
			default:
				r.skip()
			}
		}
	}
	return out, r.end()
}

// end checks that nothing but whitespace follows the batch.
func (r *reader) end() error {
	if r.ws(); r.err == nil && r.i < len(r.b) {
		r.fail()
	}
	return r.err
}

// EncodeScore writes a score batch's results.
func EncodeScore(results []ScoreResult) []byte {
	w := &writer{b: make([]byte, 0, 64*len(results)+2)}
	w.byte('[')
	for i, res := range results {
		if i > 0 {
			w.byte(',')
		}
		if res.Err != "" {
			w.raw(`{"error":`)
			w.str(res.Err)
			w.byte('}')
			continue
		}
		w.raw(`{"score":`)
		w.int(int64(min(max(res.Score, 0), 100)))
		if len(res.Reasons) > 0 {
			w.raw(`,"reasons":`)
			w.strings(res.Reasons)
		}
		if len(res.Tags) > 0 {
			w.raw(`,"tags":`)
			w.strings(res.Tags)
		}
		w.byte('}')
	}
	w.byte(']')
	return w.b
}

// DecodeRoute reads a route batch. Its strings alias input.
func DecodeRoute(input []byte) ([]RouteRecord, error) {
	r := &reader{b: input}
	var out []RouteRecord
	if !r.open('[') {
		r.fail()
	}
	for n := 0; r.more(']', &n); {
		out = append(out, RouteRecord{})
		rec := &out[len(out)-1]
		if !r.open('{') {
			r.fail()
			break
		}
		for m := 0; r.more('}', &m); {
			switch string(r.key()) {
			case "item":
				if r.open('{') {
					for k := 0; r.more('}', &k); {
						switch string(r.key()) {
						case "type":
							rec.Item.Type = r.str()
						case "id":
							rec.Item.ID = r.str()
						case "fields":
							rec.Item.Fields = r.fields()
						default:
							r.skip()
						}
					}
				}
			case "candidates":
				if r.open('[') {
					for k := 0; r.more(']', &k); {
						var c Candidate
						if r.open('{') {
							for j := 0; r.more('}', &j); {
								switch string(r.key()) {
								case "id":
									c.ID = r.str()
								case "skills":
									c.Skills = r.strings()
								case "territory":
									c.Territory = r.str()
								case "load":
									c.Load = r.int()
								case "capacity":
									c.Capacity = r.int()
								case "available":
									c.Available = r.bool()
								default:
									r.skip()
								}
							}
						}
						rec.Candidates = append(rec.Candidates, c)
					}
				}
			default:
				r.skip()
			}
		}
	}
	return out, r.end()
}

// EncodeRoute writes a route batch's results. A result with neither an
// assignee nor a queue is written as an error, which the contract requires.
func EncodeRoute(results []RouteResult) []byte {
	w := &writer{b: make([]byte, 0, 64*len(results)+2)}
	w.byte('[')
	for i, res := range results {
		if i > 0 {
			w.byte(',')
		}
		if res.Err == "" && res.Assignee == "" && res.Queue == "" {
			res.Err = "no assignee or queue"
		}
		if res.Err != "" {
			w.raw(`{"error":`)
			w.str(res.Err)
			w.byte('}')
			continue
		}
		w.byte('{')
		if res.Assignee != "" {
			w.raw(`"assignee":`)
			w.str(res.Assignee)
		} else {
			w.raw(`"queue":`)
			w.str(res.Queue)
		}
		w.raw(`,"reason":`)
		w.str(res.Reason)
		w.byte('}')
	}
	w.byte(']')
	return w.b
}

// DecodeCampaign reads a campaign batch. Its strings alias input.
func DecodeCampaign(input []byte) ([]CampaignRecord, error) {
	r := &reader{b: input}
	var out []CampaignRecord
	if !r.open('[') {
		r.fail()
	}
	for n := 0; r.more(']', &n); {
		out = append(out, CampaignRecord{})
		rec := &out[len(out)-1]
		if !r.open('{') {
			r.fail()
			break
		}
		for m := 0; r.more('}', &m); {
			switch string(r.key()) {
			case "contact":
				r.contact(&rec.Contact)
			case "orders":
				r.orders(&rec.Orders)
			case "trigger":
				if r.open('{') {
					for k := 0; r.more('}', &k); {
						switch string(r.key()) {
						case "detail_type":
							rec.Trigger.DetailType = r.str()
						case "time":
							rec.Trigger.Time = r.time()
						case "data":
							rec.Trigger.Data = r.fields()
						default:
							r.skip()
						}
					}
				}
			case "campaign":
				if r.open('{') {
					for k := 0; r.more('}', &k); {
						switch string(r.key()) {
						case "id":
							rec.Campaign.ID = r.str()
						case "name":
							rec.Campaign.Name = r.str()
						case "variants":
							rec.Campaign.Variants = r.strings()
						default:
							r.skip()
						}
					}
				}
			default:
				r.skip()
			}
		}
	}
	return out, r.end()
}

// EncodeCampaign writes a campaign batch's results.
func EncodeCampaign(results []CampaignResult) []byte {
	w := &writer{b: make([]byte, 0, 48*len(results)+2)}
	w.byte('[')
	for i, res := range results {
		if i > 0 {
			w.byte(',')
		}
		if res.Err != "" {
			w.raw(`{"error":`)
			w.str(res.Err)
			w.byte('}')
			continue
		}
		w.raw(`{"enrol":`)
		w.bool(res.Enrol)
		if res.Variant != "" {
			w.raw(`,"variant":`)
			w.str(res.Variant)
		}
		if len(res.Fields) > 0 {
			w.raw(`,"fields":`)
			w.any(res.Fields)
		}
		if res.DelaySeconds != nil {
			w.raw(`,"delay_seconds":`)
			w.int(min(max(*res.DelaySeconds, 0), 31536000))
		}
		w.byte('}')
	}
	w.byte(']')
	return w.b
}
