// Package sales is the area of pipelines and deals: stages, stage history,
// closing rules, the weighted forecast and the pipeline report.
//
// It must never import an engine or an adapter; reports read deals through
// the repository, never by key.
package sales
