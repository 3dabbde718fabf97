package fakes3

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
)

// algorithms are S3's flexible checksums; a header or trailer named
// x-amz-checksum-<lower-case name> carries the base64 of the big-endian
// digest.
var algorithms = map[string]func() hash.Hash{
	"CRC32":  func() hash.Hash { return crc32.NewIEEE() },
	"CRC32C": func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	// The NVMe polynomial, bit-reversed as hash/crc64 wants it.
	"CRC64NVME": func() hash.Hash { return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)) },
	"SHA1":      sha1.New,
	"SHA256":    sha256.New,
}

const checksumPrefix = "x-amz-checksum-"

func checksumOf(algorithm string, data []byte) string {
	h := algorithms[algorithm]()
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// checkChecksums verifies the one flexible checksum a PutObject may carry,
// in a header or an aws-chunked trailer, and returns its lower-case header
// name and value ("" when none came).
func checkChecksums(header http.Header, trailers map[string]string, data []byte) (name, value string, err error) {
	sent := map[string]string{}
	for k, v := range header {
		sent[strings.ToLower(k)] = v[0]
	}
	for k, v := range trailers {
		sent[k] = v
	}
	var algorithm string
	for k, v := range sent {
		suffix, ok := strings.CutPrefix(k, checksumPrefix)
		if !ok || suffix == "mode" || suffix == "type" || suffix == "algorithm" {
			continue
		}
		a := strings.ToUpper(suffix)
		if _, known := algorithms[a]; !known {
			return "", "", fail(http.StatusBadRequest, "InvalidRequest", "unknown checksum %s", k)
		}
		if name != "" {
			return "", "", fail(http.StatusBadRequest, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		name, value, algorithm = k, v, a
	}
	if declared := header.Get("x-amz-sdk-checksum-algorithm"); declared != "" && name != "" && !strings.EqualFold(declared, algorithm) {
		return "", "", fail(http.StatusBadRequest, "InvalidRequest", "x-amz-sdk-checksum-algorithm %s does not match %s", declared, name)
	}
	if name == "" {
		return "", "", nil
	}
	if want := checksumOf(algorithm, data); value != want {
		return "", "", fail(http.StatusBadRequest, "BadDigest", "The %s you specified did not match the calculated checksum.", algorithm)
	}
	return name, value, nil
}
