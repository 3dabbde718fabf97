// Package contacts is the area of the people and companies a tenant knows:
// their repositories and use cases (create, change, upsert by e-mail,
// batches, lists with filters), on the one persistence type (core/record).
//
// It must never import an engine or an adapter, nor know how its records
// reach the wire: callers hand it typed fields and changes.
package contacts
