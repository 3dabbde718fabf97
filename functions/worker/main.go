// Command worker is the Lambda function behind the EventBridge rules: each
// event goes to the app's consumers, idempotently — the daily stats,
// routing of new leads, and scoring (by the tenant's active score plugin,
// modules from S3, when PLUGIN_BUCKET is set; by the built-in scorer
// otherwise). The consumers are package app's, the same `fedele serve`
// runs; template.yaml's rules route exactly their detail types.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/lambdaenv"
	"github.com/fedele-crm/fedele/infra/s3blob"
	"github.com/fedele-crm/fedele/infra/wasm"
	"github.com/fedele-crm/fedele/infra/worker"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var env lambdaenv.Env
	table := env.Required("TABLE_NAME")
	// The base of one-click unsubscribe links in the messages this
	// function requests (template.yaml: the PublicUrl parameter, else the
	// HTTP API's own URL); never a default, which would mail localhost.
	publicURL := env.Required("PUBLIC_URL")
	endpoint := env.Optional("DYNAMODB_ENDPOINT", "")
	bucket := env.Optional("PLUGIN_BUCKET", "")
	s3Endpoint := env.Optional("S3_ENDPOINT", "")
	if err := env.Err(); err != nil {
		lambdaenv.Fatal(log, "worker", err)
	}
	ctx := context.Background()
	client, err := dynamo.Connect(ctx, endpoint)
	if err != nil {
		lambdaenv.Fatal(log, "worker", err)
	}
	ports := app.Ports{PublicURL: publicURL, Store: dynamo.New(client, table), Log: log}
	if bucket != "" {
		s3c, err := s3blob.Connect(ctx, s3Endpoint)
		if err != nil {
			lambdaenv.Fatal(log, "worker", err)
		}
		host, err := wasm.New(wasm.Config{CacheDir: "/tmp/fedele-wasm"})
		if err != nil {
			lambdaenv.Fatal(log, "worker", err)
		}
		ports.Plugins, ports.Blobs = host, s3blob.New(s3c, bucket, "modules")
	}
	a, err := app.New(ports)
	if err != nil {
		lambdaenv.Fatal(log, "worker", err)
	}
	lambda.Start(worker.Handler(a.Delivery()))
}
