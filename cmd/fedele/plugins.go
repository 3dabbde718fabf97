package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/fedele-crm/fedele/infra/blobfs"
	"github.com/fedele-crm/fedele/infra/wasm"
)

// pluginHost opens the plugin ports of the local server: modules in a
// folder of the data folder, compiled code cached beside them. close
// releases both, after the App built on them is done.
func pluginHost(data string) (host *wasm.Host, blobs *blobfs.Store, close func(), err error) {
	blobs, err = blobfs.New(filepath.Join(data, "plugins"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("plugin folder: %w", err)
	}
	host, err = wasm.New(wasm.Config{CacheDir: filepath.Join(data, "wasm-cache")})
	if err != nil {
		_ = blobs.Close()
		return nil, nil, nil, fmt.Errorf("plugin host: %w", err)
	}
	return host, blobs, func() {
		_ = host.Close(context.Background())
		_ = blobs.Close()
	}, nil
}
