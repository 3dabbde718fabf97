// Package fakes3 is an in-memory HTTP endpoint that speaks the part of
// S3's REST protocol infra/s3blob uses — path-style PutObject, GetObject,
// HeadObject and DeleteObject — so that tests drive the real aws-sdk-go-v2
// client against it: there is no S3 emulator on the machines tests run on.
//
// It is strict where a lenient fake would hide a bug: it decodes the
// aws-chunked bodies the SDK streams over HTTPS and verifies their trailing
// checksum, verifies x-amz-checksum-*, Content-MD5 and a literal
// x-amz-content-sha256 against the bytes it stores, answers errors as S3's
// XML error documents, and refuses any sub-resource or operation it does
// not implement instead of treating it as a plain object call. It accepts
// any SigV4 signature without checking it. For tests only; production code
// must never import it.
package fakes3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MaxObjectBytes bounds one PutObject body, far below S3's 5 GiB, so that
// a runaway test fails instead of eating the machine's memory.
const MaxObjectBytes = 256 << 20

// Put is how one accepted PutObject travelled, for tests that check which
// wire form the SDK chose.
type Put struct {
	Bucket, Key string
	// ContentSHA256 is the x-amz-content-sha256 header: a hex digest,
	// UNSIGNED-PAYLOAD, or a STREAMING-… mode.
	ContentSHA256 string
	// AWSChunked reports a body in aws-chunked content encoding; Chunks is
	// how many data chunks it had and Trailers its trailing headers.
	AWSChunked bool
	Chunks     int
	Trailers   map[string]string
	// Checksum is the verified x-amz-checksum-* header or trailer, by its
	// lower-case name.
	Checksum map[string]string
	// TransferChunked reports HTTP/1.1 chunked transfer encoding (of
	// unknown length), which net/http removes before the body is read.
	TransferChunked bool
	// ExpectContinue reports an "Expect: 100-continue" request: the
	// client waited for the server's go-ahead before sending the body.
	ExpectContinue bool
	Size           int
}

type object struct {
	data        []byte
	etag        string
	contentType string
	modified    time.Time
	// checksum is the full-object checksum S3 keeps: the one the client
	// sent, else CRC64NVME, which S3 computes for every new object.
	checksumHeader, checksum string
}

// Server is the fake endpoint; its URL is the client's BaseEndpoint.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	buckets map[string]map[string]object
	puts    []Put
	reqs    int
}

// New starts a plain-HTTP fake holding the named, empty buckets, and stops
// it when t ends. Over plain HTTP the SDK sends a PutObject body as is,
// with its checksum in a header.
func New(t testing.TB, buckets ...string) *Server {
	return start(t, httptest.NewServer, buckets)
}

// NewTLS is New over HTTPS. Over HTTPS the SDK streams a PutObject body in
// aws-chunked encoding with the checksum in a trailer, so both wire forms
// need a run.
func NewTLS(t testing.TB, buckets ...string) *Server {
	return start(t, httptest.NewTLSServer, buckets)
}

func start(t testing.TB, listen func(http.Handler) *httptest.Server, buckets []string) *Server {
	s := &Server{buckets: map[string]map[string]object{}}
	for _, b := range buckets {
		s.buckets[b] = map[string]object{}
	}
	s.Server = listen(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// S3Client is a real SDK client aimed at the fake: path-style addressing
// (no DNS for bucket.host), static credentials, us-east-1, the fake's
// HTTP client (which trusts its TLS certificate), and no retries so that
// a failure shows on the first attempt. Its checksum settings are the ones
// config.LoadDefaultConfig gives production clients (s3.Options alone
// leaves them unset, which sends no checksum at all), without reading the
// environment, so a developer's AWS_* variables cannot change a test.
func (s *Server) S3Client(optFns ...func(*s3.Options)) *s3.Client {
	opts := s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(s.URL),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider("fakes3", "fakes3", ""),
		HTTPClient:                 s.Client(),
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return s3.New(opts, optFns...)
}

// Puts returns the PutObject calls accepted so far.
func (s *Server) Puts() []Put {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Put(nil), s.puts...)
}

// Object returns the bytes stored under bucket and the full object key, as
// the wire named it.
func (s *Server) Object(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.buckets[bucket][key]
	return bytes.Clone(o.data), ok
}

// Corrupt flips the bits of the first byte stored under bucket and key (or
// stores one byte if the object is empty), keeping its ETag and checksum:
// storage rot, which a client checking checksums must catch.
func (s *Server) Corrupt(bucket, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.buckets[bucket][key]
	if !ok {
		panic(fmt.Sprintf("fakes3: corrupt %s/%s: no such object", bucket, key))
	}
	// A new slice, so that a GET being served keeps the bytes it began with.
	if len(o.data) == 0 {
		o.data = []byte{0}
	} else {
		o.data = bytes.Clone(o.data)
		o.data[0] ^= 0xff
	}
	s.buckets[bucket][key] = o
}

// Keys returns every object key in bucket, sorted.
func (s *Server) Keys(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.buckets[bucket]))
}

// s3Error is S3's REST error document.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Key       string `xml:",omitempty"`
	Bucket    string `xml:",omitempty"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

type wireError struct {
	status        int
	code, message string
}

func (e *wireError) Error() string { return e.code + ": " + e.message }

func fail(status int, code, format string, args ...any) *wireError {
	return &wireError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs++
	reqID := fmt.Sprintf("FAKE%012d", s.reqs)
	s.mu.Unlock()
	w.Header().Set("x-amz-request-id", reqID)
	w.Header().Set("x-amz-id-2", "fakes3/"+reqID)

	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	err := s.route(w, r, bucket, key)
	if err == nil {
		return
	}
	var we *wireError
	if !errors.As(err, &we) {
		we = fail(http.StatusInternalServerError, "InternalError", "%v", err)
	}
	if r.Method == http.MethodHead {
		// HEAD answers carry no body, so the SDK sees only the status.
		w.WriteHeader(we.status)
		return
	}
	body, _ := xml.Marshal(s3Error{Code: we.code, Message: we.message, Key: key, Bucket: bucket, RequestID: reqID, HostID: "fakes3/" + reqID})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(we.status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		return fail(http.StatusForbidden, "AccessDenied", "request is not signed with SigV4")
	}
	if bucket == "" || key == "" {
		return fail(http.StatusNotImplemented, "NotImplemented", "only object operations on /{bucket}/{key} are implemented")
	}
	for q := range r.URL.Query() {
		// The SDK names the operation in x-id; any other parameter is a
		// sub-resource (?acl, ?uploads, ?tagging…) this fake does not do.
		if q != "x-id" {
			return fail(http.StatusNotImplemented, "NotImplemented", "query parameter %q is not implemented", q)
		}
	}
	switch r.Method {
	case http.MethodPut:
		if r.Header.Get("x-amz-copy-source") != "" {
			return fail(http.StatusNotImplemented, "NotImplemented", "CopyObject is not implemented")
		}
		return s.put(w, r, bucket, key)
	case http.MethodGet, http.MethodHead:
		return s.get(w, r, bucket, key)
	case http.MethodDelete:
		return s.delete(w, bucket, key)
	}
	return fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s is not allowed on an object", r.Method)
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxObjectBytes+1<<20))
	if err != nil {
		return fail(http.StatusBadRequest, "IncompleteBody", "read body: %v", err)
	}
	rec := Put{
		Bucket: bucket, Key: key,
		ContentSHA256:   r.Header.Get("x-amz-content-sha256"),
		Checksum:        map[string]string{},
		ExpectContinue:  strings.EqualFold(r.Header.Get("Expect"), "100-continue"),
		TransferChunked: slices.Contains(r.TransferEncoding, "chunked"),
	}
	data := raw
	if isAWSChunked(r) {
		body, err := decodeAWSChunked(raw)
		if err != nil {
			return fail(http.StatusBadRequest, "IncompleteBody", "aws-chunked body: %v", err)
		}
		data = body.data
		rec.AWSChunked, rec.Chunks, rec.Trailers = true, body.chunks, body.trailers
		if err := checkTrailers(r, body.trailers); err != nil {
			return err
		}
		decoded := r.Header.Get("x-amz-decoded-content-length")
		if decoded == "" {
			return fail(http.StatusLengthRequired, "MissingContentLength", "aws-chunked body without x-amz-decoded-content-length")
		}
		if n, err := strconv.Atoi(decoded); err != nil || n != len(data) {
			return fail(http.StatusBadRequest, "IncompleteBody", "x-amz-decoded-content-length %s, body decodes to %d bytes", decoded, len(data))
		}
	}
	if len(data) > MaxObjectBytes {
		return fail(http.StatusBadRequest, "EntityTooLarge", "%d bytes, fakes3 keeps at most %d", len(data), MaxObjectBytes)
	}
	if err := checkPayloadHash(rec.ContentSHA256, raw); err != nil {
		return err
	}
	if err := checkMD5(r.Header.Get("Content-MD5"), data); err != nil {
		return err
	}
	name, sum, err := checkChecksums(r.Header, rec.Trailers, data)
	if err != nil {
		return err
	}
	if name != "" {
		rec.Checksum[name] = sum
	} else {
		name, sum = "x-amz-checksum-crc64nvme", checksumOf("CRC64NVME", data)
	}
	rec.Size = len(data)

	md := md5.Sum(data)
	o := object{
		data:           bytes.Clone(data),
		etag:           `"` + hex.EncodeToString(md[:]) + `"`,
		contentType:    r.Header.Get("Content-Type"),
		modified:       time.Now().UTC().Truncate(time.Second),
		checksumHeader: name,
		checksum:       sum,
	}
	if o.contentType == "" {
		o.contentType = "binary/octet-stream"
	}
	s.mu.Lock()
	objects, ok := s.buckets[bucket]
	if ok {
		objects[key] = o
		s.puts = append(s.puts, rec)
	}
	s.mu.Unlock()
	if !ok {
		return fail(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	}
	w.Header().Set("ETag", o.etag)
	w.Header().Set(name, sum)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	s.mu.Lock()
	objects, bucketOK := s.buckets[bucket]
	o, ok := objects[key]
	s.mu.Unlock()
	if !bucketOK {
		return fail(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	}
	if !ok {
		return fail(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
	h := w.Header()
	h.Set("ETag", o.etag)
	h.Set("Content-Type", o.contentType)
	// S3 returns the stored checksum only when asked, and only for the
	// whole object, never for a range.
	if strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") && r.Header.Get("Range") == "" {
		h.Set(o.checksumHeader, o.checksum)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	// ServeContent gives Content-Length, Last-Modified, Accept-Ranges,
	// Range and the If-* preconditions against the ETag, as S3 does.
	http.ServeContent(w, r, "", o.modified, bytes.NewReader(o.data))
	return nil
}

func (s *Server) delete(w http.ResponseWriter, bucket, key string) error {
	s.mu.Lock()
	objects, ok := s.buckets[bucket]
	delete(objects, key)
	s.mu.Unlock()
	if !ok {
		return fail(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	}
	// S3 answers 204 whether or not the key held anything.
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// isAWSChunked: the SDK marks the encoding in Content-Encoding (possibly
// after other encodings) and the streaming mode in x-amz-content-sha256;
// either is enough.
func isAWSChunked(r *http.Request) bool {
	for enc := range strings.SplitSeq(r.Header.Get("Content-Encoding"), ",") {
		if strings.EqualFold(strings.TrimSpace(enc), "aws-chunked") {
			return true
		}
	}
	return strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-")
}

// checkTrailers: every trailer x-amz-trailer announced must have come.
func checkTrailers(r *http.Request, got map[string]string) error {
	for name := range strings.SplitSeq(r.Header.Get("x-amz-trailer"), ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if _, ok := got[name]; !ok {
			return fail(http.StatusBadRequest, "MalformedTrailerError", "trailer %s was announced but not sent", name)
		}
	}
	return nil
}

// checkPayloadHash verifies a literal SHA-256 of the payload; the
// UNSIGNED-PAYLOAD and STREAMING-… modes carry none.
func checkPayloadHash(header string, raw []byte) error {
	if len(header) != 64 {
		return nil
	}
	if sum := checksumOf("SHA256", raw); !strings.EqualFold(header, hexOfBase64(sum)) {
		return fail(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return nil
}

func checkMD5(header string, data []byte) error {
	if header == "" {
		return nil
	}
	md := md5.Sum(data)
	if header != base64.StdEncoding.EncodeToString(md[:]) {
		return fail(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	}
	return nil
}

func hexOfBase64(s string) string {
	b, _ := base64.StdEncoding.DecodeString(s)
	return hex.EncodeToString(b)
}
