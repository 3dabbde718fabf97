package fakes3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// awsChunkedBody is a decoded aws-chunked body.
type awsChunkedBody struct {
	data     []byte
	chunks   int
	trailers map[string]string
}

// maxLine bounds a chunk-size or trailer line: the longest legitimate one
// is a size with a 64-hex-digit chunk signature.
const maxLine = 4096

// decodeAWSChunked undoes S3's aws-chunked content encoding (SigV4
// streaming, docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):
//
//	<hex size>[;chunk-signature=<sig>]\r\n<size bytes>\r\n   (repeated)
//	0[;chunk-signature=<sig>]\r\n
//	<name>:<value>\r\n                                     (trailers, optional)
//	\r\n
//
// It is not HTTP/1.1 chunked transfer encoding (net/http has already
// removed that if the body also had it): the framing is part of the body,
// and stored as is it would corrupt the object. Chunk signatures and the
// x-amz-trailer-signature are accepted unchecked, like every signature
// here.
func decodeAWSChunked(raw []byte) (awsChunkedBody, error) {
	out := awsChunkedBody{trailers: map[string]string{}}
	r := bufio.NewReader(bytes.NewReader(raw))
	var data bytes.Buffer
	for {
		line, err := readLine(r)
		if err != nil {
			return out, fmt.Errorf("chunk %d size: %w", out.chunks+1, err)
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseUint(strings.TrimSpace(sizeHex), 16, 63)
		if err != nil {
			return out, fmt.Errorf("chunk %d size %q: %w", out.chunks+1, sizeHex, err)
		}
		if size == 0 {
			break
		}
		if _, err := io.CopyN(&data, r, int64(size)); err != nil {
			return out, fmt.Errorf("chunk %d: %w", out.chunks+1, err)
		}
		if end, err := readLine(r); err != nil || end != "" {
			return out, fmt.Errorf("chunk %d is longer than its size %d", out.chunks+1, size)
		}
		out.chunks++
	}
	for {
		line, err := readLine(r)
		if err != nil {
			return out, fmt.Errorf("trailers: %w", err)
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return out, fmt.Errorf("trailer %q has no colon", line)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "x-amz-trailer-signature" {
			continue
		}
		out.trailers[name] = strings.TrimSpace(value)
	}
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		return out, fmt.Errorf("%d bytes after the end of the body", len(rest))
	}
	out.data = data.Bytes()
	return out, nil
}

// readLine reads up to a CRLF and returns the line without it; a bare LF
// or a missing CRLF at the end is malformed.
func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxLine {
			return "", errors.New("line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return "", io.ErrUnexpectedEOF
		}
		if err != nil {
			return "", err
		}
		break
	}
	s, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok {
		return "", errors.New("line not ended by CRLF")
	}
	return s, nil
}
