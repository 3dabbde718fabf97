package s3blob_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/plugins/blobtest"
	"github.com/fedele-crm/fedele/infra/s3blob"
	"github.com/fedele-crm/fedele/internal/testsupport/fakes3"
)

const bucket = "fedele-plugins"

// Both wire forms of PutObject must work: over plain HTTP the SDK sends
// the body as is, over HTTPS it streams it aws-chunked with a trailing
// checksum.
var transports = []struct {
	name  string
	start func(testing.TB, ...string) *fakes3.Server
}{
	{"http", fakes3.New},
	{"https", fakes3.NewTLS},
}

func TestConformance(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			blobtest.Run(t, func(t *testing.T) plugins.Blobs {
				return s3blob.New(tr.start(t, bucket).S3Client(), bucket, "modules")
			})
		})
	}
}

func TestConformanceWithoutPrefix(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) plugins.Blobs {
		return s3blob.New(fakes3.New(t, bucket).S3Client(), bucket, "")
	})
}

// TestWire pins what the SDK puts on the wire, so that an SDK upgrade that
// changes it shows here rather than as a corrupt module in production.
func TestWire(t *testing.T) {
	key := plugins.ModuleKey("acme", strings.Repeat("0", 64))
	header := map[string]string{"x-amz-checksum-crc32": "?"}
	plain := fakes3.Put{ContentSHA256: "hex", Checksum: header}
	cases := []struct {
		name      string
		transport int
		size      int
		want      fakes3.Put
	}{
		{"http", 0, 400_000, plain},
		{"http empty", 0, 0, plain},
		// Over 2 MB the SDK waits for 100 Continue before the body.
		{"http 3 MiB", 0, 3 << 20, fakes3.Put{ContentSHA256: "hex", Checksum: header, ExpectContinue: true}},
		// The whole known-length body is one aws-chunk, then the
		// zero chunk, then the checksum as a trailer.
		{"https", 1, 400_000, fakes3.Put{ContentSHA256: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			AWSChunked: true, Chunks: 1, Trailers: header, Checksum: header}},
		// An empty body is never chunked: its checksum goes in a header.
		{"https empty", 1, 0, fakes3.Put{ContentSHA256: "UNSIGNED-PAYLOAD", Checksum: header}},
		{"https 3 MiB", 1, 3 << 20, fakes3.Put{ContentSHA256: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			AWSChunked: true, Chunks: 1, Trailers: header, Checksum: header, ExpectContinue: true}},
	}
	// The values are digests the fake has already verified; only their
	// presence and form are compared.
	redact := cmp.Transformer("redact", func(s string) string {
		if len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" {
			return "hex"
		}
		if strings.HasSuffix(s, "=") {
			return "?"
		}
		return s
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte{'w'}, tc.size)
			srv := transports[tc.transport].start(t, bucket)
			s := s3blob.New(srv.S3Client(), bucket, "/plugins/")
			if err := s.Put(t.Context(), key, data); err != nil {
				t.Fatal(err)
			}
			puts := srv.Puts()
			if len(puts) != 1 {
				t.Fatalf("%d puts on the wire, want 1", len(puts))
			}
			want := tc.want
			want.Bucket, want.Key, want.Size = bucket, "plugins/"+key, len(data)
			if diff := cmp.Diff(want, puts[0], redact, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("PutObject on the wire (-want +got):\n%s", diff)
			}
			stored, ok := srv.Object(bucket, "plugins/"+key)
			if !ok || !bytes.Equal(stored, data) {
				t.Errorf("stored %d bytes (found %v), want the %d put", len(stored), ok, len(data))
			}
		})
	}
}

// TestPrefix: the prefix is a folder of the bucket, so two stores with
// different prefixes share a bucket without seeing each other's blobs.
func TestPrefix(t *testing.T) {
	srv := fakes3.New(t, bucket)
	a := s3blob.New(srv.S3Client(), bucket, "a")
	b := s3blob.New(srv.S3Client(), bucket, "b/")
	key := plugins.ModuleKey("acme", strings.Repeat("1", 64))
	if err := a.Put(t.Context(), key, []byte("in a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(t.Context(), key); !errors.Is(err, plugins.ErrBlobNotFound) {
		t.Errorf("get under the other prefix: %v, want ErrBlobNotFound", err)
	}
	if diff := cmp.Diff([]string{"a/" + key}, srv.Keys(bucket)); diff != "" {
		t.Errorf("object keys (-want +got):\n%s", diff)
	}
}

// TestErrors: only a missing key is ErrBlobNotFound; a missing bucket or a
// refused key must surface as what it is, with the key in the message.
func TestErrors(t *testing.T) {
	srv := fakes3.New(t, bucket)
	key := plugins.ModuleKey("acme", strings.Repeat("2", 64))
	cases := []struct {
		name         string
		store        *s3blob.Store
		key          string
		wantNotFound bool
		wantInvalid  bool
		wantIn       string
	}{
		{name: "missing key", store: s3blob.New(srv.S3Client(), bucket, ""), key: key, wantNotFound: true, wantIn: "NoSuchKey"},
		{name: "missing bucket", store: s3blob.New(srv.S3Client(), "no-such-bucket", ""), key: key, wantIn: "NoSuchBucket"},
		{name: "hostile key", store: s3blob.New(srv.S3Client(), bucket, ""), key: "../x", wantInvalid: true},
		{name: "hostile prefix", store: s3blob.New(srv.S3Client(), bucket, "../up"), key: key, wantInvalid: true},
		{name: "key over 1024 bytes with its prefix", store: s3blob.New(srv.S3Client(), bucket, strings.Repeat("p", 1000)),
			key: key, wantInvalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.store.Get(t.Context(), tc.key)
			if err == nil {
				t.Fatal("get succeeded")
			}
			if got := errors.Is(err, plugins.ErrBlobNotFound); got != tc.wantNotFound {
				t.Errorf("get: %v; ErrBlobNotFound %v, want %v", err, got, tc.wantNotFound)
			}
			if got := errors.Is(err, s3blob.ErrInvalidKey); got != tc.wantInvalid {
				t.Errorf("get: %v; ErrInvalidKey %v, want %v", err, got, tc.wantInvalid)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("get: %v; want it to mention %q", err, tc.wantIn)
			}
			if !tc.wantInvalid && !strings.Contains(err.Error(), tc.key) {
				t.Errorf("get: %v; want it to name the key", err)
			}
		})
	}
	if n := len(srv.Puts()); n != 0 {
		t.Errorf("%d puts reached the server", n)
	}
}

// TestCorruptedObject: the adapter asks S3 for the stored checksum, so a
// body that does not match it is an error, not a module.
func TestCorruptedObject(t *testing.T) {
	srv := fakes3.New(t, bucket)
	key := plugins.ModuleKey("acme", strings.Repeat("3", 64))
	s := s3blob.New(srv.S3Client(), bucket, "")
	if err := s.Put(t.Context(), key, []byte("good module")); err != nil {
		t.Fatal(err)
	}
	srv.Corrupt(bucket, key)
	got, err := s.Get(t.Context(), key)
	if err == nil {
		t.Fatalf("get of a corrupted object answered %q", got)
	}
	if errors.Is(err, plugins.ErrBlobNotFound) {
		t.Errorf("get of a corrupted object: %v, must not be ErrBlobNotFound", err)
	}
}

// The adapter sends and checks checksums itself, so a client built with
// checksums off (s3.Options' zero value, or AWS_*_CHECKSUM_* = when_required)
// still has S3 verify every put and verifies every get.
func TestChecksumsWhateverTheClientSays(t *testing.T) {
	srv := fakes3.New(t, bucket)
	key := plugins.ModuleKey("acme", strings.Repeat("4", 64))
	client := srv.S3Client(func(o *s3.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	s := s3blob.New(client, bucket, "")
	if err := s.Put(t.Context(), key, []byte("good module")); err != nil {
		t.Fatal(err)
	}
	if puts := srv.Puts(); len(puts) != 1 || len(puts[0].Checksum) != 1 {
		t.Errorf("puts on the wire %+v, want one with a checksum", puts)
	}
	srv.Corrupt(bucket, key)
	if got, err := s.Get(t.Context(), key); err == nil {
		t.Errorf("get of a corrupted object answered %q", got)
	}
}
