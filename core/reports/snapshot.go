package reports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// AllCurrencies names the series that counts customers and orders over
// every currency, without money (amounts of two currencies do not add).
// Every other series is one ISO 4217 currency: a customer belongs to a
// currency's series from its first counted order in that currency.
const AllCurrencies = ""

// DayStats is one day of one series: what the customers active that day
// bought. Every field is a sum over customers, so pages of customers add.
type DayStats struct {
	Orders  int64       `json:"o,omitempty"`
	Revenue money.Total `json:"r,omitzero"`  // net of refunds, minor units
	Costed  money.Total `json:"cr,omitzero"` // the part of Revenue whose lines had a known cost
	Cost    money.Total `json:"c,omitzero"`  // what those lines cost
	New     int64       `json:"n,omitempty"` // customers whose first transaction day it is
	Active  int64       `json:"a,omitempty"` // customers with a transaction that day
}

// Cell is one month of one acquisition cohort: Months since acquisition
// is its key in Cohort.Cells.
type Cell struct {
	Active  int64       `json:"a,omitempty"` // of the cohort, customers with a transaction that month
	Orders  int64       `json:"o,omitempty"`
	Revenue money.Total `json:"r,omitzero"`
	// Repeat counts the cohort's customers whose second transaction day
	// falls in that month: what the repeat-purchase rate is read from.
	Repeat int64 `json:"p,omitempty"`
}

// Cohort is the customers acquired in one month (their first transaction
// day in the series falls in it).
type Cohort struct {
	Size  int64         `json:"s"`
	Cells map[int]*Cell `json:"c"`
}

// Part is one series' rollups for one calendar year of the tenant's time
// zone: the days of the year, who was active in each of its months and
// when each of them was last active before, and the cohorts acquired in
// it (with every later month they were active in). A part stays near
// 100 KB for a decade of history (366 days, 12 months × 120 previous
// months, 12 cohorts × 120 cells), under DynamoDB's 400 KB item.
type Part struct {
	Series string               `json:"series"`
	Year   int                  `json:"year"`
	Days   map[string]*DayStats `json:"days,omitempty"`
	// Returns counts, for each month of the year (YYYY-MM), the customers
	// active in it by the month each was last active in before ("" for
	// none: they are new that month). From it follow each month's active,
	// new and retained customers, and the distinct customers active over
	// any range of months (those active in a month of the range whose
	// previous active month is before the range).
	Returns map[string]map[string]int64 `json:"returns,omitempty"`
	Cohorts map[string]*Cohort          `json:"cohorts,omitempty"`
}

// PartRef names a part.
type PartRef struct {
	Series string `json:"series"`
	Year   int    `json:"year"`
}

func (r PartRef) sk() string {
	s := r.Series
	if s == AllCurrencies {
		s = "*"
	}
	return s + "#" + strconv.Itoa(r.Year)
}

func (r PartRef) less(o PartRef) bool {
	if r.Series != o.Series {
		return r.Series < o.Series
	}
	return r.Year < o.Year
}

// Head is the published snapshot: which build the reports read, as of
// when, and what is not per year (the current RFM segments and CLV
// distribution, read from the profiles as the build found them).
type Head struct {
	BuildID string    `json:"build_id"`
	AsOf    time.Time `json:"as_of"`
	// Today is AsOf's date in the tenant's zone (YYYY-MM-DD): the last
	// month of every cohort row.
	Today    string             `json:"today"`
	TimeZone string             `json:"time_zone"`
	Parts    []PartRef          `json:"parts,omitempty"`
	Profiles int                `json:"profiles"`
	RFM      map[string]int64   `json:"rfm,omitempty"`
	CLV      map[string]*Sketch `json:"clv,omitempty"`
	States   map[string]int64   `json:"states,omitempty"`
}

// Keys (docs/keys.md, "Reports"): the head is one document; a build's
// parts share a partition named by the build (the job's id), so that a
// new build is written beside the one being read, and the old one is
// deleted by a query of its partition once the new one is published.
func headKey(tenant string) store.Key { return store.Tenant(tenant).Marker("report") }

func buildPK(tenant, build string) string { return store.Tenant(tenant).PK("report-build", build) }

func partKey(tenant, build string, r PartRef) store.Key {
	return store.Key{PK: buildPK(tenant, build), SK: r.sk()}
}

// PartTTL bounds how long a build's parts are kept: a published build is
// replaced daily and its parts deleted then, so the TTL only clears
// builds that never finished (failed or cancelled jobs).
const PartTTL = 40 * 24 * time.Hour

var headDoc = record.Doc[Head]{Name: "report snapshot"}

// partDoc's TTL is set per write (keptUntil): record.Doc's TTL reads the
// document, and a part does not carry its build's start.
var partDoc = record.Doc[storedPart]{Name: "report part", TTL: func(p *storedPart) time.Time { return p.Until }}

type storedPart struct {
	Part
	Until time.Time `json:"until"`
}

// month is a calendar month, counted from year 0, so that months subtract.
type month int

func parseMonth(s string) (month, bool) {
	if len(s) != 7 || s[4] != '-' {
		return 0, false
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:])
	if err1 != nil || err2 != nil || y < 1 || m < 1 || m > 12 || strings.ContainsAny(s, "+ ") {
		return 0, false
	}
	return month(y*12 + m - 1), true
}

func (m month) year() int { return int(m) / 12 }

func (m month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// dateMonth is the month of a valid date (YYYY-MM-DD).
func dateMonth(d string) month {
	m, _ := parseMonth(d[:7])
	return m
}

func validDate(d string) bool {
	if len(d) != 10 || d[:4] == "0000" {
		return false
	}
	_, err := time.Parse(time.DateOnly, d)
	return err == nil
}

// validCode says whether c is spelled as an ISO 4217 code: orders are
// held to it at ingest, and a part's key must not meet AllCurrencies'.
func validCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}
