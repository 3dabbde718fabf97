package dynamo

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/fedele-crm/fedele/core/store"
)

// What DynamoDB (or DynamoDB Local under load) answers becomes the port's
// errors: a store that is busy or gave no answer is retryable, never the
// 500 of an unknown error; what the request did wrong stays as it is.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want error // nil: passed through unclassified
	}{
		{"condition", &types.ConditionalCheckFailedException{}, store.ErrConditionFailed},
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException"}, store.ErrThrottled},
		{"limit", &types.RequestLimitExceeded{}, store.ErrThrottled},
		{"server error", &types.InternalServerError{}, store.ErrUnavailable},
		{"no answer", fmt.Errorf("operation error DynamoDB: PutItem: %w", errors.New("response did not match expected checksum")), store.ErrUnavailable},
		{"the request's fault", &smithy.GenericAPIError{Code: "ValidationException", Message: "key too long"}, nil},
		{"cancelled by the caller", context.Canceled, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := classify(c.err)
			if c.want == nil {
				for _, e := range []error{store.ErrConditionFailed, store.ErrThrottled, store.ErrUnavailable} {
					if errors.Is(got, e) {
						t.Errorf("classified as %v", e)
					}
				}
				return
			}
			if !errors.Is(got, c.want) {
				t.Errorf("%v: not %v", got, c.want)
			}
		})
	}
}
