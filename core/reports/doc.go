// Package reports is the analytical CRM's tenant-wide reports: monthly
// acquisition cohorts and their retention matrix, revenue, orders, average
// order value and gross margin per day or month, repeat-purchase and churn
// rates per month, and the KPIs every team reads (customers, active share,
// retention, CLV quantiles, RFM segment sizes, revenue against the period
// before) — per tenant, per currency, in the tenant's time zone.
//
// Reports are read from a snapshot, never computed on a request: a job
// ("reports_refresh", on core/jobs) reads every customer profile
// (core/customers) page by page and adds each customer's transaction days
// into additive per-currency rollups (see snapshot.go), written into a new
// build while readers keep reading the last one; the build's final step
// publishes it with one write of the head document. A refresh runs when
// asked, a few minutes after order events (one per tenant and five-minute
// window, by a keyed timer), and every night.
//
// It must never read orders or another tenant's profiles, never write a
// customer profile (each part has its own writer), and never refuse a sum:
// money is added in 128 bits (money.Total).
package reports
