package sales

import "github.com/fedele-crm/fedele/core/store"

func pipelinesPK(tenant string) string { return store.Tenant(tenant).PK("pipeline") }

// PipelineKey is where a pipeline is stored.
func PipelineKey(tenant, id string) store.Key { return store.Key{PK: pipelinesPK(tenant), SK: id} }

func dealsPK(tenant string) string { return store.Tenant(tenant).PK("deal") }

// DealKey is where a deal is stored (activities reference it).
func DealKey(tenant, id string) store.Key { return store.Key{PK: dealsPK(tenant), SK: id} }

func dealPipelinePK(tenant, pipeline string) string {
	return store.Tenant(tenant).PK("deal-pipeline", pipeline)
}

// A deal's contact and company index partitions list the deals of one
// contact or one company (gsi2, gsi3), in creation order.
func dealContactPK(tenant, contact string) string {
	return store.Tenant(tenant).PK("deal-contact", contact)
}

func dealCompanyPK(tenant, company string) string {
	return store.Tenant(tenant).PK("deal-company", company)
}
