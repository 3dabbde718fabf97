package contacts

import (
	"strings"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Sorts of the contact and company lists: by creation, last update or
// name, "-" for descending.
var Sorts = append(append([]string(nil), record.Sorts...), "name", "-name")

// sortSep ends the name part of a sort key. It sorts below every character
// a folded name holds (Fold drops control characters), so "Ada" comes
// before "Ada Lovelace" whatever the ids.
const sortSep = "\x01"

// contactTokens are what a contact is found by: indexed, the tokens that
// have index entries (its first name tokens, every e-mail and phone); all,
// those a query's other words may match (every name token too).
func contactTokens(c *core.Contact) (indexed, all []string) {
	names := core.NameTokens(c.FirstName, c.LastName)
	indexed = append(indexedNames(names), contactContactTokens(c)...)
	return indexed, append(names, contactContactTokens(c)...)
}

// indexedNames are the name tokens that get index entries.
func indexedNames(names []string) []string {
	var out []string
	for _, n := range names {
		if core.Indexable(n) && len(out) < core.MaxNameTokens {
			out = append(out, n)
		}
	}
	return out
}

// contactContactTokens are a contact's e-mails, then its phones.
func contactContactTokens(c *core.Contact) []string {
	var out []string
	for _, e := range c.Emails {
		out = append(out, core.Fold(e.Address))
	}
	for _, p := range c.Phones {
		out = append(out, core.PhoneToken(p.Number))
	}
	return out
}

func searchSK(token, id string) string { return token + "#" + id }

// entryToken is the token of a search entry read for record id.
func entryToken(it store.Item, id string) string {
	return strings.TrimSuffix(it.IndexKeys[store.GSI1].SK, "#"+id)
}

func contactSearchKey(tenant, id, token string) store.Key {
	return store.Key{PK: contactSearchShards.PK(tenant, id, core.SearchPartition(token)), SK: searchSK(token, id)}
}

// contactSortName is what a contact sorts by: its name as shown, else its
// primary e-mail, else its first phone.
func contactSortName(c *core.Contact) string {
	name := strings.TrimSpace(c.FirstName + " " + c.LastName)
	switch {
	case name != "":
	case c.PrimaryEmail() != "":
		name = c.PrimaryEmail()
	case len(c.Phones) > 0:
		name = c.Phones[0].Number
	}
	return core.SortName(name) + sortSep + c.ID
}

// contactSlots hold a contact's name and phone search entries and, on
// slot 0, its sort name. At most MaxNameTokens + MaxPhones slots, each one
// write when it changes: with the e-mail entries on the markers, the worst
// update (every e-mail, tag, phone and name token replaced, a new company)
// is 98 items (docs/keys.md, "Search").
func contactSlots(tenant string, c *core.Contact) []store.Item {
	tokens := indexedNames(core.NameTokens(c.FirstName, c.LastName))
	for _, p := range c.Phones {
		tokens = append(tokens, core.PhoneToken(p.Number))
	}
	slots := []store.Item{{Key: contactSlotKey(tenant, c.ID, 0),
		IndexKeys: map[store.Index]store.Key{store.GSI2: {PK: contactNameShards.PK(tenant, c.ID), SK: contactSortName(c)}}}}
	for i, t := range tokens {
		if i > 0 {
			slots = append(slots, store.Item{Key: contactSlotKey(tenant, c.ID, i), IndexKeys: map[store.Index]store.Key{}})
		}
		slots[i].IndexKeys[store.GSI1] = contactSearchKey(tenant, c.ID, t)
	}
	return slots
}

// companyTokens are a company's name tokens (the first MaxNameTokens
// indexed) and its domain.
func companyTokens(c *core.Company) (indexed, all []string) {
	names := core.NameTokens(c.Name)
	indexed = indexedNames(names)
	if c.Domain != "" {
		indexed, names = append(indexed, c.Domain), append(names, c.Domain)
	}
	return indexed, names
}

func companySortName(c *core.Company) string { return core.SortName(c.Name) + sortSep + c.ID }

// companySlots hold a company's search entries, one per indexed token (at
// most MaxNameTokens + 1). A company's partition is not sharded, nor are
// its search partitions.
func companySlots(tenant string, c *core.Company) []store.Item {
	indexed, _ := companyTokens(c)
	slots := make([]store.Item, len(indexed))
	for i, t := range indexed {
		slots[i] = store.Item{Key: companySlotKey(tenant, c.ID, i), IndexKeys: map[store.Index]store.Key{
			store.GSI1: {PK: companySearchPK(tenant, core.SearchPartition(t)), SK: searchSK(t, c.ID)}}}
	}
	return slots
}

// searchPlan reads the entries of a search's driving word, merged over pks.
func searchPlan(q core.SearchQuery, pks []string) record.Plan {
	plan := record.Plan{Query: store.Query{Index: store.GSI1, Prefix: q.Driver()}, Deref: true, PostFilter: true}
	if len(pks) == 1 {
		plan.Query.PK = pks[0]
	} else {
		plan.Shards = pks
	}
	return plan
}
