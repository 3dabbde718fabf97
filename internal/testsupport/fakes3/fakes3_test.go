package fakes3_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/internal/testsupport/fakes3"
)

const (
	bucket  = "b"
	auth    = "AWS4-HMAC-SHA256 Credential=fakes3/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
	payload = "hello, aws-chunked world"
)

func crc32b64(s string) string {
	var b [4]byte
	v := crc32.ChecksumIEEE([]byte(s))
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return base64.StdEncoding.EncodeToString(b[:])
}

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// chunked frames payload as aws-chunked in chunks of n bytes, with ext
// after each size and the given trailer lines.
func chunked(n int, ext string, trailers ...string) string {
	var b strings.Builder
	for rest := payload; rest != ""; {
		c := rest[:min(n, len(rest))]
		rest = rest[len(c):]
		fmt.Fprintf(&b, "%x%s\r\n%s\r\n", len(c), ext, c)
	}
	fmt.Fprintf(&b, "0%s\r\n", ext)
	for _, t := range trailers {
		b.WriteString(t + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

type response struct {
	status int
	header http.Header
	body   string
	code   string // S3 error code from an XML body
}

func do(t *testing.T, srv *fakes3.Server, method, path string, header map[string]string, body string) response {
	t.Helper()
	return doBody(t, srv, method, path, header, strings.NewReader(body))
}

// doBody sends body as is: a reader of unknown length goes out with
// Transfer-Encoding: chunked.
func doBody(t *testing.T, srv *fakes3.Server, method, path string, header map[string]string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if strings.HasPrefix(out.body, "<?xml") {
		var e struct{ Code string }
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body %q: %v", b, err)
		}
		out.code = e.Code
	}
	return out
}

func streaming(mode string, trailer string, decoded int) map[string]string {
	h := map[string]string{
		"Content-Encoding":             "aws-chunked",
		"x-amz-content-sha256":         mode,
		"x-amz-decoded-content-length": strconv.Itoa(decoded),
	}
	if trailer != "" {
		h["x-amz-trailer"] = trailer
	}
	return h
}

func TestPut(t *testing.T) {
	const sig = ";chunk-signature=" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	unsignedTrailer := streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-checksum-crc32", len(payload))
	goodTrailer := "x-amz-checksum-crc32:" + crc32b64(payload)
	cases := []struct {
		name     string
		path     string
		header   map[string]string
		body     string
		wantCode string // "" for success
		status   int

		transferChunked bool
	}{
		{name: "plain body, hex payload hash and CRC32 header",
			header: map[string]string{"x-amz-content-sha256": sha256hex(payload), "x-amz-checksum-crc32": crc32b64(payload)},
			body:   payload, status: 200},
		{name: "aws-chunked, several chunks, CRC32 trailer", header: unsignedTrailer,
			body: chunked(5, "", goodTrailer), status: 200},
		{name: "aws-chunked after another content encoding",
			header: map[string]string{"Content-Encoding": "identity, aws-chunked", "x-amz-decoded-content-length": strconv.Itoa(len(payload))},
			body:   chunked(7, ""), status: 200},
		{name: "signed chunks", header: streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "", len(payload)),
			body: chunked(8, sig), status: 200},
		{name: "signed chunks with a signed trailer",
			header: streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "x-amz-checksum-crc32", len(payload)),
			body:   chunked(8, sig, goodTrailer, "x-amz-trailer-signature:"+strings.Repeat("cd", 32)), status: 200},
		{name: "aws-chunked through HTTP chunked transfer",
			header: streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-checksum-crc32", len(payload)),
			body:   chunked(64, "", goodTrailer), status: 200, transferChunked: true},
		{name: "wrong trailing checksum", header: unsignedTrailer,
			body: chunked(5, "", "x-amz-checksum-crc32:"+crc32b64("other")), wantCode: "BadDigest", status: 400},
		{name: "announced trailer missing", header: unsignedTrailer,
			body: chunked(5, ""), wantCode: "MalformedTrailerError", status: 400},
		{name: "wrong checksum header", header: map[string]string{"x-amz-checksum-crc32": crc32b64("other")},
			body: payload, wantCode: "BadDigest", status: 400},
		{name: "two checksums",
			header: map[string]string{"x-amz-checksum-crc32": crc32b64(payload), "x-amz-checksum-sha256": "x="},
			body:   payload, wantCode: "InvalidRequest", status: 400},
		{name: "checksum other than the declared algorithm",
			header: map[string]string{"x-amz-checksum-crc32": crc32b64(payload), "x-amz-sdk-checksum-algorithm": "SHA256"},
			body:   payload, wantCode: "InvalidRequest", status: 400},
		{name: "wrong payload hash", header: map[string]string{"x-amz-content-sha256": sha256hex("other")},
			body: payload, wantCode: "XAmzContentSHA256Mismatch", status: 400},
		{name: "wrong Content-MD5", header: map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(make([]byte, 16))},
			body: payload, wantCode: "BadDigest", status: 400},
		{name: "chunk shorter than its size", header: unsignedTrailer,
			body: "ff\r\n" + payload + "\r\n0\r\n\r\n", wantCode: "IncompleteBody", status: 400},
		{name: "chunk longer than its size", header: unsignedTrailer,
			body: "3\r\n" + payload + "\r\n0\r\n\r\n", wantCode: "IncompleteBody", status: 400},
		{name: "bare LF", header: unsignedTrailer,
			body: strings.ReplaceAll(chunked(5, "", goodTrailer), "\r\n", "\n"), wantCode: "IncompleteBody", status: 400},
		{name: "no final CRLF", header: unsignedTrailer,
			body: strings.TrimSuffix(chunked(5, "", goodTrailer), "\r\n"), wantCode: "IncompleteBody", status: 400},
		{name: "bytes after the end", header: unsignedTrailer,
			body: chunked(5, "", goodTrailer) + "junk", wantCode: "IncompleteBody", status: 400},
		{name: "bad chunk size", header: unsignedTrailer,
			body: "zz\r\n" + payload + "\r\n0\r\n\r\n", wantCode: "IncompleteBody", status: 400},
		{name: "decoded length missing",
			header: map[string]string{"Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
			body:   chunked(5, ""), wantCode: "MissingContentLength", status: 411},
		{name: "decoded length wrong", header: streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "", len(payload)+1),
			body: chunked(5, ""), wantCode: "IncompleteBody", status: 400},
		{name: "unsigned request", header: map[string]string{"Authorization": ""},
			body: payload, wantCode: "AccessDenied", status: 403},
		{name: "missing bucket", path: "/nope/k", body: payload, wantCode: "NoSuchBucket", status: 404},
		{name: "sub-resource", path: "/b/k?acl", body: payload, wantCode: "NotImplemented", status: 501},
		{name: "bucket operation", path: "/b", body: payload, wantCode: "NotImplemented", status: 501},
		{name: "copy", header: map[string]string{"x-amz-copy-source": "/b/other"}, wantCode: "NotImplemented", status: 501},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakes3.New(t, bucket)
			path := tc.path
			if path == "" {
				path = "/b/dir/k.wasm?x-id=PutObject"
			}
			var body io.Reader = strings.NewReader(tc.body)
			if tc.transferChunked {
				// A reader of unknown length makes net/http wrap the
				// aws-chunked body in HTTP chunked transfer encoding.
				body = io.MultiReader(body)
			}
			got := doBody(t, srv, http.MethodPut, path, tc.header, body)
			if got.status != tc.status || got.code != tc.wantCode {
				t.Fatalf("status %d code %q, want %d %q; body %s", got.status, got.code, tc.status, tc.wantCode, got.body)
			}
			stored, ok := srv.Object(bucket, "dir/k.wasm")
			if tc.wantCode != "" {
				if ok {
					t.Errorf("a refused put stored %q", stored)
				}
				return
			}
			if puts := srv.Puts(); len(puts) != 1 || puts[0].TransferChunked != tc.transferChunked {
				t.Errorf("puts %+v, want one with TransferChunked %v", puts, tc.transferChunked)
			}
			if string(stored) != payload {
				t.Errorf("stored %q, want %q", stored, payload)
			}
			md := md5.Sum([]byte(payload))
			if etag := got.header.Get("ETag"); etag != `"`+hex.EncodeToString(md[:])+`"` {
				t.Errorf("ETag %s, want the quoted MD5 of the payload", etag)
			}
		})
	}
}

func TestGetHeadDelete(t *testing.T) {
	srv := fakes3.New(t, bucket)
	put := do(t, srv, http.MethodPut, "/b/k", map[string]string{"x-amz-checksum-crc32": crc32b64(payload)}, payload)
	if put.status != 200 {
		t.Fatalf("put: %d %s", put.status, put.body)
	}
	etag := put.header.Get("ETag")
	length := strconv.Itoa(len(payload))
	cases := []struct {
		name        string
		method      string
		path        string
		header      map[string]string
		status      int
		code        string
		body        string
		wantHeaders map[string]string
	}{
		{name: "get", method: "GET", path: "/b/k?x-id=GetObject", status: 200, body: payload,
			wantHeaders: map[string]string{"ETag": etag, "Content-Length": length, "x-amz-checksum-crc32": ""}},
		{name: "get with checksum mode", method: "GET", path: "/b/k", header: map[string]string{"x-amz-checksum-mode": "ENABLED"},
			status: 200, body: payload,
			wantHeaders: map[string]string{"ETag": etag, "x-amz-checksum-crc32": crc32b64(payload), "x-amz-checksum-type": "FULL_OBJECT"}},
		{name: "range", method: "GET", path: "/b/k", header: map[string]string{"Range": "bytes=0-4", "x-amz-checksum-mode": "ENABLED"},
			status: 206, body: payload[:5], wantHeaders: map[string]string{"Content-Length": "5", "x-amz-checksum-crc32": ""}},
		{name: "if-none-match", method: "GET", path: "/b/k", header: map[string]string{"If-None-Match": etag}, status: 304},
		{name: "head", method: "HEAD", path: "/b/k", status: 200, wantHeaders: map[string]string{"ETag": etag, "Content-Length": length}},
		{name: "missing key", method: "GET", path: "/b/none", status: 404, code: "NoSuchKey"},
		{name: "head of a missing key has no body", method: "HEAD", path: "/b/none", status: 404},
		{name: "missing bucket", method: "GET", path: "/nope/k", status: 404, code: "NoSuchBucket"},
		{name: "post", method: "POST", path: "/b/k", status: 405, code: "MethodNotAllowed"},
		{name: "delete of a missing key", method: "DELETE", path: "/b/none?x-id=DeleteObject", status: 204},
		{name: "delete in a missing bucket", method: "DELETE", path: "/nope/k", status: 404, code: "NoSuchBucket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, srv, tc.method, tc.path, tc.header, "")
			if got.status != tc.status || got.code != tc.code {
				t.Fatalf("status %d code %q, want %d %q; body %s", got.status, got.code, tc.status, tc.code, got.body)
			}
			if tc.code == "" && got.body != tc.body {
				t.Errorf("body %q, want %q", got.body, tc.body)
			}
			for k, want := range tc.wantHeaders {
				if v := got.header.Get(k); v != want {
					t.Errorf("header %s: %q, want %q", k, v, want)
				}
			}
			if got.header.Get("x-amz-request-id") == "" {
				t.Error("no x-amz-request-id")
			}
		})
	}
	if got := do(t, srv, "DELETE", "/b/k", nil, ""); got.status != 204 {
		t.Fatalf("delete: %d %s", got.status, got.body)
	}
	if diff := cmp.Diff([]string(nil), srv.Keys(bucket)); diff != "" {
		t.Errorf("keys after delete (-want +got):\n%s", diff)
	}
}

// S3 keeps a CRC64NVME of every object put without a checksum and returns
// it when asked.
func TestDefaultChecksum(t *testing.T) {
	srv := fakes3.New(t, bucket)
	if got := do(t, srv, http.MethodPut, "/b/k", nil, payload); got.status != 200 {
		t.Fatalf("put: %d %s", got.status, got.body)
	}
	got := do(t, srv, http.MethodGet, "/b/k", map[string]string{"x-amz-checksum-mode": "ENABLED"}, "")
	if v := got.header.Get("x-amz-checksum-crc64nvme"); v == "" {
		t.Errorf("no CRC64NVME checksum; headers %v", got.header)
	}
}
