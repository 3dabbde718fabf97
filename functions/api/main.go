// Command api is the HTTP API Lambda function (API Gateway HTTP API,
// payload v2): the same handler as `fedele serve`, on DynamoDB, with
// plugins' modules in S3 and their compiled code cached in /tmp.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/httpapi"
	"github.com/fedele-crm/fedele/infra/lambdaapi"
	"github.com/fedele-crm/fedele/infra/lambdaenv"
	"github.com/fedele-crm/fedele/infra/s3blob"
	"github.com/fedele-crm/fedele/infra/starttrace"
	"github.com/fedele-crm/fedele/infra/wasm"
)

func main() {
	trace := starttrace.Start() // FEDELE_INIT_TRACE=1: where the cold start goes
	// Plugin uploads compile in a child process: this same binary.
	wasm.RunCompilerIfChild()
	log := slog.New(httpapi.LogHandler(slog.NewJSONHandler(os.Stderr, nil)))
	var env lambdaenv.Env
	table := env.Required("TABLE_NAME")
	// The base of one-click unsubscribe links in the messages this
	// function requests (template.yaml: the PublicUrl parameter, else the
	// HTTP API's own URL); never a default, which would mail localhost.
	publicURL := env.Required("PUBLIC_URL")
	endpoint := env.Optional("DYNAMODB_ENDPOINT", "")
	bucket := env.Optional("PLUGIN_BUCKET", "")
	s3Endpoint := env.Optional("S3_ENDPOINT", "")
	claims := lambdaapi.Claims{Tenant: env.Optional("JWT_TENANT_CLAIM", "custom:tenant"), Scopes: env.Optional("JWT_SCOPES_CLAIM", "scope")}
	if err := env.Err(); err != nil {
		lambdaenv.Fatal(log, "api", err)
	}
	trace.Step("config")
	ctx := context.Background()
	client, err := dynamo.Connect(ctx, endpoint)
	if err != nil {
		lambdaenv.Fatal(log, "api", err)
	}
	trace.Step("dynamo.connect")
	st := dynamo.New(client, table)
	// Instances scale out: their rate limits share buckets in the table.
	ports := app.Ports{PublicURL: publicURL, Store: st, Log: log, Limiter: ratelimit.NewShared(st, time.Now)}
	if bucket != "" { // without a bucket, plugin uploads and runs answer 503
		s3c, err := s3blob.Connect(ctx, s3Endpoint)
		if err != nil {
			lambdaenv.Fatal(log, "api", err)
		}
		trace.Step("s3blob.connect")
		// /tmp outlives one invocation: a warm instance, or a new one on the
		// same disk, loads compiled modules instead of compiling them.
		host, err := wasm.New(wasm.Config{CacheDir: "/tmp/fedele-wasm"})
		if err != nil {
			lambdaenv.Fatal(log, "api", err)
		}
		ports.Plugins, ports.Blobs = host, s3blob.New(s3c, bucket, "modules")
		trace.Step("wasm.runtime")
	}
	a, err := app.New(ports)
	if err != nil {
		lambdaenv.Fatal(log, "api", err)
	}
	api := a.Handler()
	trace.Step("httpapi.new")
	lambda.Start(lambdaapi.Handler(trace.FirstRequest(api), claims))
}
