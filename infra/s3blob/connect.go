package s3blob

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/fedele-crm/fedele/infra/awsconfig"
)

// Connect returns an S3 client from the environment's AWS configuration;
// endpoint, when set, is a local S3 (path-style addressing).
func Connect(ctx context.Context, endpoint string) (*s3.Client, error) {
	cfg, err := awsconfig.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = &endpoint
			o.UsePathStyle = true
		}
	}), nil
}
