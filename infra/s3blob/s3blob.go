// Package s3blob keeps plugin modules' bytes (core/plugins.Blobs) as
// objects in an S3 bucket, for the AWS deployment; locally infra/blobfs
// does the same in a folder, and both pass core/plugins/blobtest.
//
// It must never call S3 with a key outside the grammar blobfs enforces (so
// that a key works in both places or in neither, and an empty key can never
// turn a GetObject into a bucket listing), and it must never report a
// missing bucket or a denied request as a missing blob: only S3's
// NoSuchKey, or a bare 404, is plugins.ErrBlobNotFound.
//
// S3 answers a missing key with 403 AccessDenied, not 404 NoSuchKey, to a
// role without s3:ListBucket on the bucket; the functions' role needs that
// permission for Get to tell "missing" from "forbidden".
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/fedele-crm/fedele/core/plugins"
)

// Store is a bucket, or a prefix ("folder") of one, holding blobs.
type Store struct {
	client *s3.Client
	bucket string
	prefix string
}

var _ plugins.Blobs = (*Store)(nil)

// New stores blobs in bucket, under prefix if it is not empty: key k is
// the object "<prefix>/<k>". Slashes around prefix are ignored, so
// "plugins", "plugins/" and "/plugins" are the same place.
func New(client *s3.Client, bucket, prefix string) *Store {
	return &Store{client: client, bucket: bucket, prefix: strings.Trim(prefix, "/")}
}

// ErrInvalidKey is a key (with the prefix) that is not a safe object name.
var ErrInvalidKey = plugins.ErrInvalidBlobKey

// objectKey is the object name of key, checked.
func (s *Store) objectKey(key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	name := key
	if s.prefix != "" {
		name = s.prefix + "/" + key
	}
	if err := validKey(name); err != nil {
		return "", err
	}
	return name, nil
}

// validKey is the one key grammar of every adapter, so that a key works in
// S3 and in the folder or in neither.
func validKey(key string) error { return plugins.CheckBlobKey(key) }

// Put stores data under key with one PutObject: S3 replaces an object
// whole, so a reader never sees a partial blob.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	name, err := s.objectKey(key)
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(name),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		// Modules are code the CRM runs: always have S3 check what it
		// received, whatever the client's RequestChecksumCalculation says.
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	return nil
}

// Get returns the bytes under key, or an error wrapping
// plugins.ErrBlobNotFound when S3 says there is no such key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	name, err := s.objectKey(key)
	if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(name),
		// Modules are code the CRM runs: always have the SDK check the
		// bytes against the checksum S3 stored, whatever the client's
		// ResponseChecksumValidation says.
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if notFound(err) {
		return nil, fmt.Errorf("get blob %s: %w (%w)", key, plugins.ErrBlobNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 {
		buf.Grow(int(n))
	}
	// The checksum is verified as the body is read, so a mismatch is an
	// error of this read.
	if _, err := io.Copy(&buf, out.Body); err != nil {
		return nil, fmt.Errorf("get blob %s: read: %w", key, err)
	}
	return buf.Bytes(), nil
}

// Delete removes key; S3 answers a missing key with success already.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.objectKey(key)
	if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(name),
	})
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// notFound is S3's NoSuchKey, or a 404 with no error code in its body
// (which the SDK names NotFound). NoSuchBucket and other 404s are not: a
// missing bucket is a broken deployment, not an absent module.
func notFound(err error) bool {
	if err == nil {
		return false
	}
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
		return false
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "NotFound"
}
