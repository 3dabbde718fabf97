// Package functions holds one main package per Lambda function (api,
// relay, worker, scheduler), each only wiring core and infra together, and
// the tests that build them and drive them through a loopback Lambda
// Runtime API. It must never hold logic of its own.
package functions
