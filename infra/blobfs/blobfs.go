// Package blobfs keeps plugin modules' bytes (core/plugins.Blobs) as files
// in one folder, for the local all-in-one server; in AWS infra/s3blob does
// the same on S3.
//
// It must never read, write or delete anything outside its folder: every
// key is checked against a strict grammar before it becomes a path, and all
// file access goes through an os.Root, so a symlink planted in the folder
// cannot lead out of it either. It must never leave a half-written blob
// under a key: a reader sees the old bytes or the new ones.
package blobfs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/fedele-crm/fedele/core/plugins"
)

// Tenant data: readable by the server's user only, like the embedded
// store's file.
const (
	dirPerm  = 0o700
	filePerm = 0o600
)

// tempMarker names files being written. Keys cannot contain it at the start
// of a segment (they cannot begin a segment with a dot), so a temporary
// file never shadows a blob and a crash leaves only names no key reaches.
const tempMarker = ".tmp-"

// Store is a folder of blobs; a key "a/b/c.wasm" is the file a/b/c.wasm
// under it.
type Store struct {
	root *os.Root
}

var _ plugins.Blobs = (*Store)(nil)

// New opens the folder dir, creating it if needed. Close releases it.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("create blob folder: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob folder: %w", err)
	}
	return &Store{root: root}, nil
}

// Close releases the folder; the Store must not be used afterwards.
func (s *Store) Close() error { return s.root.Close() }

// ErrInvalidKey is a key that is not a safe relative name in the folder.
var ErrInvalidKey = plugins.ErrInvalidBlobKey

// validKey is the one key grammar of every adapter (plugins.CheckBlobKey).
func validKey(key string) error { return plugins.CheckBlobKey(key) }

// Put writes data under key: to a temporary file beside the final one,
// synced, then renamed over it, and the folder synced, so that a crash
// leaves the old blob or the new one, never a torn one.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	dir := path.Dir(key)
	if err := s.root.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	f, tmp, err := s.createTemp(key)
	if err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = s.root.Remove(tmp)
		}
	}()
	if err := writeSynced(f, data); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	committed = true
	// The rename is durable only once the folder entry is.
	if err := syncDir(s.root, dir); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	return nil
}

// createTemp makes a new, empty temporary file in key's folder. Exclusive
// creation with a random name, so that concurrent puts of one key never
// share a file.
func (s *Store) createTemp(key string) (*os.File, string, error) {
	for range 10 {
		name := path.Join(path.Dir(key), tempMarker+path.Base(key)+"-"+rand.Text())
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("no free temporary name")
}

// writeSynced writes data to f, flushes it to the disk and closes f.
func writeSynced(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get returns the bytes under key, or an error wrapping
// plugins.ErrBlobNotFound when nothing is there. A folder, or a path
// through a file, holds no blob: S3 says NoSuchKey for those too.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := validKey(key); err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	info, err := s.root.Lstat(key)
	if missing(err) || err == nil && !info.Mode().IsRegular() {
		return nil, fmt.Errorf("get blob %s: %w", key, plugins.ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	data, err := s.root.ReadFile(key)
	if missing(err) {
		// Deleted between the Lstat and the read.
		return nil, fmt.Errorf("get blob %s: %w", key, plugins.ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	return data, nil
}

// Delete removes the blob under key; nothing there is not an error. It
// never removes a folder, even an empty one a key happens to name.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	info, err := s.root.Lstat(key)
	if missing(err) || err == nil && info.IsDir() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	if err := s.root.Remove(key); err != nil && !missing(err) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// missing is an error saying no file is at a path, including a path that
// runs through a file ("a/b" is a file, "a/b/c" is asked for).
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
