// Package customers is what a tenant knows of each contact as a customer:
// the purchase summary kept current from order events, the RFM scores and
// segment, the lifecycle state, and the lifetime value — one profile
// document per contact, listed page by page by the jobs that recompute
// them, and shown on the contact.
//
// It must never rescan a contact's orders to keep its summary current, and
// never read another tenant's profiles.
package customers
