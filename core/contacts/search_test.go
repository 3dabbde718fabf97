package contacts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
)

type fixture struct {
	ctx       context.Context
	store     store.Store
	contacts  *contacts.Contacts
	companies *contacts.Companies
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Millisecond); return now }
	tenants := tenancy.NewTenants(st, clock)
	ctx := context.Background()
	for _, id := range []string{"acme", "globex"} {
		if _, err := tenants.Create(ctx, id, id, "US"); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{ctx: ctx, store: st, contacts: contacts.NewContacts(st, tenants, clock), companies: contacts.NewCompanies(st, tenants, clock)}
}

func (fx *fixture) contact(t *testing.T, tenant string, f core.ContactFields) core.Contact {
	t.Helper()
	c, err := fx.contacts.Create(fx.ctx, tenant, f)
	if err != nil {
		t.Fatalf("create %+v: %v", f, err)
	}
	return c
}

// names lists every page of contacts matching f, by first and last name.
func (fx *fixture) names(t *testing.T, tenant string, f contacts.ContactFilter, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 100 {
		page, next, err := fx.contacts.List(fx.ctx, tenant, f, limit, cursor)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		for _, c := range page {
			out = append(out, strings.TrimSpace(c.FirstName+" "+c.LastName))
		}
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("list does not end")
	return nil
}

func emails(as ...string) []core.Email {
	var out []core.Email
	for _, a := range as {
		out = append(out, core.Email{Address: a})
	}
	return out
}

func TestSearchContacts(t *testing.T) {
	fx := newFixture(t)
	fx.contact(t, "acme", core.ContactFields{FirstName: "Ada", LastName: "Lovelace", Emails: emails("ada@example.com", "countess@analytical.example"),
		Phones: []core.Phone{{Number: "+1 415 555 2671"}}})
	fx.contact(t, "acme", core.ContactFields{FirstName: "Éloïse", LastName: "Dupont-Ñúñez", Emails: emails("eloise@example.fr")})
	fx.contact(t, "acme", core.ContactFields{FirstName: "Adam", LastName: "Smith", Phones: []core.Phone{{Number: "+44 20 7946 0958"}}})
	fx.contact(t, "acme", core.ContactFields{LastName: "O'Brien", Emails: emails("obrien@example.com")})
	grace := fx.contact(t, "acme", core.ContactFields{FirstName: "Grace", LastName: "Hopper", Tags: []string{"navy"}})
	fx.contact(t, "globex", core.ContactFields{FirstName: "Ada", LastName: "Other tenant", Emails: emails("ada@globex.example")})

	for _, tt := range []struct {
		q    string
		tag  string
		want []string
	}{
		// Ada matches by her first name and her e-mail, and is listed once.
		{q: "ada", want: []string{"Ada Lovelace", "Adam Smith"}},
		{q: "ADA love", want: []string{"Ada Lovelace"}},
		{q: "lovel", want: []string{"Ada Lovelace"}},
		{q: "eloi", want: []string{"Éloïse Dupont-Ñúñez"}},
		{q: "ÉLOÏSE", want: []string{"Éloïse Dupont-Ñúñez"}},
		{q: "nunez", want: []string{"Éloïse Dupont-Ñúñez"}},
		{q: "o'brien", want: []string{"O'Brien"}},
		{q: "countess@ana", want: []string{"Ada Lovelace"}},
		{q: "+1 (415) 555", want: []string{"Ada Lovelace"}},
		{q: "4420", want: []string{"Adam Smith"}},
		{q: "ex", want: nil}, // e-mails match from their start, not their domain
		{q: "grace", tag: "navy", want: []string{"Grace Hopper"}},
		{q: "grace", tag: "army", want: nil},
		{q: "zz", want: nil},
	} {
		for _, limit := range []int{1, 50} {
			got := fx.names(t, "acme", contacts.ContactFilter{Q: tt.q, Tag: tt.tag}, limit)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("q=%q tag=%q limit %d (-want +got):\n%s", tt.q, tt.tag, limit, diff)
			}
		}
	}

	// A search follows renames and deletes.
	if _, err := fx.contacts.Update(fx.ctx, "acme", grace.ID, 0, func(f *core.ContactFields) error { f.FirstName = "Amazing"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := fx.names(t, "acme", contacts.ContactFilter{Q: "grace"}, 50); got != nil {
		t.Errorf("q=grace after the rename: %v", got)
	}
	if got := fx.names(t, "acme", contacts.ContactFilter{Q: "amaz hop"}, 50); !cmp.Equal(got, []string{"Amazing Hopper"}) {
		t.Errorf("q=amaz hop after the rename: %v", got)
	}
	if _, err := fx.contacts.Delete(fx.ctx, "acme", grace.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got := fx.names(t, "acme", contacts.ContactFilter{Q: "hopper"}, 50); got != nil {
		t.Errorf("q=hopper after the delete: %v", got)
	}

	// Another tenant's Ada is only its own.
	if got := fx.names(t, "globex", contacts.ContactFilter{Q: "ada"}, 50); !cmp.Equal(got, []string{"Ada Other tenant"}) {
		t.Errorf("globex q=ada: %v", got)
	}

	for _, f := range []contacts.ContactFilter{{Q: "a"}, {Q: "ada", Sort: "name"}} {
		if _, _, err := fx.contacts.List(fx.ctx, "acme", f, 50, ""); core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("%+v: %v, want invalid", f, err)
		}
	}
}

func TestSortByName(t *testing.T) {
	fx := newFixture(t)
	for _, f := range []core.ContactFields{
		{FirstName: "zoë", LastName: "Adams"},
		{FirstName: "Ada"},
		{FirstName: "Ada", LastName: "Lovelace"},
		{FirstName: "Émile", LastName: "Zola"},
		{FirstName: "bob"},
	} {
		fx.contact(t, "acme", f)
	}
	fx.contact(t, "globex", core.ContactFields{FirstName: "Aaron"})
	want := []string{"Ada", "Ada Lovelace", "bob", "Émile Zola", "zoë Adams"}
	for _, limit := range []int{1, 2, 50} {
		if diff := cmp.Diff(want, fx.names(t, "acme", contacts.ContactFilter{Sort: "name"}, limit)); diff != "" {
			t.Errorf("sort=name limit %d (-want +got):\n%s", limit, diff)
		}
		rev := fx.names(t, "acme", contacts.ContactFilter{Sort: "-name"}, limit)
		for i := range rev {
			if rev[i] != want[len(want)-1-i] {
				t.Errorf("sort=-name limit %d: %v", limit, rev)
				break
			}
		}
	}
}

func TestSearchAndSortCompanies(t *testing.T) {
	fx := newFixture(t)
	for _, f := range []core.CompanyFields{
		{Name: "Initech", Domain: "initech.example"},
		{Name: "Société Générale", Domain: "societe.example"},
		{Name: "Acme Corp"},
		{Name: "initial Ventures"},
	} {
		if _, err := fx.companies.Create(fx.ctx, "acme", f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.companies.Create(fx.ctx, "globex", core.CompanyFields{Name: "Initech Globex"}); err != nil {
		t.Fatal(err)
	}
	list := func(f contacts.CompanyFilter, limit int) []string {
		t.Helper()
		var out []string
		cursor := ""
		for {
			page, next, err := fx.companies.List(fx.ctx, "acme", f, limit, cursor)
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			for _, c := range page {
				out = append(out, c.Name)
			}
			if cursor = next; next == "" {
				return out
			}
		}
	}
	for _, tt := range []struct {
		f    contacts.CompanyFilter
		want []string
	}{
		{contacts.CompanyFilter{Q: "init"}, []string{"Initech", "initial Ventures"}},
		{contacts.CompanyFilter{Q: "societe gen"}, []string{"Société Générale"}},
		{contacts.CompanyFilter{Q: "initech.ex"}, []string{"Initech"}},
		{contacts.CompanyFilter{Q: "init", Domain: "initech.example"}, []string{"Initech"}},
		{contacts.CompanyFilter{Sort: "name"}, []string{"Acme Corp", "Initech", "initial Ventures", "Société Générale"}},
		{contacts.CompanyFilter{Sort: "-name"}, []string{"Société Générale", "initial Ventures", "Initech", "Acme Corp"}},
	} {
		for _, limit := range []int{1, 50} {
			if diff := cmp.Diff(tt.want, list(tt.f, limit)); diff != "" {
				t.Errorf("%+v limit %d (-want +got):\n%s", tt.f, limit, diff)
			}
		}
	}
}

// The largest contact the rules allow fits one transaction when created,
// when every value it has is replaced at once, and when deleted: DynamoDB
// takes at most 100 items, and the search entries must not push it over.
func TestSearchEntriesFitOneTransaction(t *testing.T) {
	fx := newFixture(t)
	full := func(v string, company string) core.ContactFields {
		f := core.ContactFields{FirstName: "Ann" + v + " Bea" + v + " Cleo" + v, LastName: "Dee" + v + " Eve" + v + " Fay" + v + " Gil" + v, CompanyID: company,
			ExternalID: "ext-" + v}
		for i := range core.MaxEmails {
			f.Emails = append(f.Emails, core.Email{Address: fmt.Sprintf("p%d-%s@example.com", i, v)})
		}
		for i := range core.MaxPhones {
			f.Phones = append(f.Phones, core.Phone{Number: fmt.Sprintf("+1 415 555 %s%d%02d", v, i, i)})
		}
		for i := range core.MaxTags {
			f.Tags = append(f.Tags, fmt.Sprintf("t%d-%s", i, v))
		}
		return f
	}
	var companies []string
	for _, n := range []string{"One", "Two"} {
		co, err := fx.companies.Create(fx.ctx, "acme", core.CompanyFields{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		companies = append(companies, co.ID)
	}
	c := fx.contact(t, "acme", full("1", companies[0]))
	if _, err := fx.contacts.Replace(fx.ctx, "acme", c.ID, 0, full("2", companies[1])); err != nil {
		t.Fatalf("replace every value: %v", err)
	}
	if got := fx.names(t, "acme", contacts.ContactFilter{Q: "p9-2@"}, 50); len(got) != 1 {
		t.Errorf("q=p9-2@: %v", got)
	}
	if got := fx.names(t, "acme", contacts.ContactFilter{Q: "gil2"}, 50); len(got) != 0 {
		t.Errorf("q=gil2 (the 7th name token, not indexed): %v", got)
	}
	if _, err := fx.contacts.Delete(fx.ctx, "acme", c.ID, 0); err != nil {
		t.Fatal(err)
	}
}
