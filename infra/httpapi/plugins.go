package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/plugins"
)

// MaxModuleBytes is the largest plugin upload.
const MaxModuleBytes = 20 << 20

const pluginsTag = "Plugins"

// PluginPath names a plugin.
type PluginPath struct {
	Name string `path:"name" pattern:"^[a-z0-9][a-z0-9_-]{0,62}$" doc:"The plugin's name, chosen at its first upload."`
}

// VersionPath names a version of a plugin.
type VersionPath struct {
	PluginPath
	Version int `path:"version" minimum:"1" doc:"The version number, from 1."`
}

type versionOutput struct {
	ETag string `header:"ETag"`
	Body plugins.Version
}

// activationOutput says, beside the version now active, which one it
// replaced: a caller who activates one plugin learns that another stopped.
type activationOutput struct {
	ETag string `header:"ETag"`
	Body plugins.Activation
}

// activationOut is an activation with the ETag of the version it made
// active.
func activationOut(a plugins.Activation) *activationOutput {
	out := &activationOutput{Body: a}
	if a.Revision > 0 {
		out.ETag = versionETag(a.Version)
	}
	return out
}

// versionOut is a version with its ETag: its revision and its status,
// which the kind's pointers decide and which change apart from it.
func versionOut(v plugins.Version) *versionOutput {
	out := &versionOutput{Body: v}
	if v.Revision > 0 {
		out.ETag = versionETag(v)
	}
	return out
}

func versionETag(v plugins.Version) string {
	return `"` + strconv.FormatInt(v.Revision, 10) + "-" + v.Status + `"`
}

type versionsOutput struct {
	Body struct {
		Items []plugins.Version `json:"items"`
	}
}

func (s *Server) registerPlugins() {
	op := func(id, method, path, summary string) huma.Operation {
		return operation(id, method, path, summary, core.ScopePluginsAdmin, pluginsTag)
	}
	created := func(o huma.Operation) huma.Operation { o.DefaultStatus = http.StatusCreated; return o }

	huma.Register(s.api, readsItsBody(created(op("upload-plugin-version", http.MethodPost, "/v1/plugins/{name}/versions",
		"Upload a module as the next version of a plugin"))),
		func(ctx context.Context, in *struct {
			PluginPath
			Kind    plugins.Kind `query:"kind" required:"true" doc:"Every version of a plugin has the kind of its first."`
			Fields  []string     `query:"fields" explode:"false" maxItems:"50" doc:"The input fields the plugin needs, such as contact.emails or company.size; the host sends only those (and ids). None sends everything."`
			RawBody []byte       `contentType:"application/wasm" doc:"The WebAssembly module, up to 20 MiB."`
		}) (*versionOutput, error) {
			v, err := s.plugins.Upload(ctx, tenantOf(ctx), in.Name, in.Kind, in.Fields, in.RawBody)
			if err != nil {
				return nil, s.problem(ctx, relocate(err, map[string]string{"name": "path.name", "kind": "query.kind", "fields": "query.fields"}), "")
			}
			return versionOut(v), nil
		})

	huma.Register(s.api, op("list-plugins", http.MethodGet, "/v1/plugins", "The tenant's plugins, with their active and shadow versions"),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Items []plugins.Plugin `json:"items"`
			}
		}, error) {
			list, err := s.plugins.List(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			out := &struct {
				Body struct {
					Items []plugins.Plugin `json:"items"`
				}
			}{}
			out.Body.Items = append([]plugins.Plugin{}, list...)
			return out, nil
		})

	huma.Register(s.api, op("list-plugin-versions", http.MethodGet, "/v1/plugins/{name}/versions", "A plugin's versions, oldest first"),
		func(ctx context.Context, in *PluginPath) (*versionsOutput, error) {
			vs, err := s.plugins.Versions(ctx, tenantOf(ctx), in.Name)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			out := &versionsOutput{}
			out.Body.Items = append([]plugins.Version{}, vs...)
			return out, nil
		})

	huma.Register(s.api, op("get-plugin-version", http.MethodGet, "/v1/plugins/{name}/versions/{version}", "A version of a plugin"),
		func(ctx context.Context, in *VersionPath) (*versionOutput, error) {
			v, err := s.plugins.Get(ctx, tenantOf(ctx), in.Name, in.Version)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return versionOut(v), nil
		})

	huma.Register(s.api, op("delete-plugin-version", http.MethodDelete, "/v1/plugins/{name}/versions/{version}",
		"Delete a version that is neither active nor in shadow"),
		func(ctx context.Context, in *struct {
			VersionPath
			IfMatchHeader
		}) (*struct{}, error) {
			var revision int64
			if strings.TrimSpace(in.IfMatch) != "" && !ifMatchAny(in.IfMatch) {
				v, err := s.plugins.Get(ctx, tenantOf(ctx), in.Name, in.Version)
				if err != nil {
					return nil, s.problem(ctx, err, "path")
				}
				tags, _, _ := entityTags(in.IfMatch)
				if !slices.Contains(tags, versionETag(v)) { // strong: a W/ tag is never equal
					return nil, s.problem(ctx, core.Errorf(core.CodeStale, "plugin %s version %d is at %s, not %s", in.Name, in.Version, versionETag(v), in.IfMatch), "header")
				}
				revision = v.Revision // the delete applies to that revision only
			}
			if err := s.plugins.Delete(ctx, tenantOf(ctx), in.Name, in.Version, revision); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, readsItsBody(op("dry-run-plugin-version", http.MethodPost, "/v1/plugins/{name}/versions/{version}/dry-run",
		"Run a version on your own input, under live limits, changing nothing")),
		func(ctx context.Context, in *struct {
			VersionPath
			RawBody []byte `contentType:"application/json" doc:"A batch of the kind's input contract (schemas/plugins/<kind>.input.json)."`
		}) (*struct{ Body plugins.DryRun }, error) {
			res, err := s.plugins.DryRun(ctx, tenantOf(ctx), in.Name, in.Version, in.RawBody)
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &struct{ Body plugins.DryRun }{res}, nil
		})

	huma.Register(s.api, op("activate-plugin-version", http.MethodPost, "/v1/plugins/{name}/versions/{version}/activate",
		"Make a version the one its kind runs; the answer names the version it replaced, of this plugin or another"),
		func(ctx context.Context, in *VersionPath) (*activationOutput, error) {
			v, err := s.plugins.Activate(ctx, tenantOf(ctx), in.Name, in.Version)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return activationOut(v), nil
		})

	huma.Register(s.api, op("rollback-plugin", http.MethodPost, "/v1/plugins/{name}/rollback",
		"Go back to this plugin's version that was active before its active one; 409 when it has none"),
		func(ctx context.Context, in *PluginPath) (*activationOutput, error) {
			v, err := s.plugins.Rollback(ctx, tenantOf(ctx), in.Name)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return activationOut(v), nil
		})

	huma.Register(s.api, op("shadow-plugin-version", http.MethodPut, "/v1/plugins/{name}/versions/{version}/shadow",
		"Run a version beside the active one on live calls; its answers are compared, never applied"),
		func(ctx context.Context, in *VersionPath) (*versionOutput, error) {
			v, err := s.plugins.StartShadow(ctx, tenantOf(ctx), in.Name, in.Version)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return versionOut(v), nil
		})

	huma.Register(s.api, op("stop-plugin-shadow", http.MethodDelete, "/v1/plugins/{name}/shadow", "Stop a plugin's shadow run"),
		func(ctx context.Context, in *PluginPath) (*struct{}, error) {
			if err := s.plugins.StopShadow(ctx, tenantOf(ctx), in.Name); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, op("plugin-version-shadow", http.MethodGet, "/v1/plugins/{name}/versions/{version}/shadow",
		"How a version's answers in shadow compared with those applied"),
		func(ctx context.Context, in *VersionPath) (*struct{ Body plugins.Comparison }, error) {
			c, err := s.plugins.Comparison(ctx, tenantOf(ctx), in.Name, in.Version)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body plugins.Comparison }{c}, nil
		})

	huma.Register(s.api, op("plugin-version-stats", http.MethodGet, "/v1/plugins/{name}/versions/{version}/stats",
		"Calls, failures by class, duration percentiles and fuel of a version on live calls"),
		func(ctx context.Context, in *VersionPath) (*struct{ Body plugins.Stats }, error) {
			st, err := s.plugins.Stats(ctx, tenantOf(ctx), in.Name, in.Version)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body plugins.Stats }{st}, nil
		})

	huma.Register(s.api, op("plugin-failures", http.MethodGet, "/v1/plugins/{name}/failures",
		"A plugin's latest failed calls, newest first, with the plugin's own error and logs"),
		func(ctx context.Context, in *struct {
			PluginPath
			Limit int `query:"limit" minimum:"1" maximum:"100" default:"20"`
		}) (*struct {
			Body struct {
				Items []plugins.Failure `json:"items"`
			}
		}, error) {
			fs, err := s.plugins.Failures(ctx, tenantOf(ctx), in.Name, in.Limit)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			out := &struct {
				Body struct {
					Items []plugins.Failure `json:"items"`
				}
			}{}
			out.Body.Items = append([]plugins.Failure{}, fs...)
			return out, nil
		})
}

// relocate renames the fields of a core error to where they are in the
// request (a path parameter, a query parameter).
func relocate(err error, where map[string]string) error {
	ce, ok := errors.AsType[*core.Error](err)
	if !ok {
		return err
	}
	for i, f := range ce.Fields {
		head, rest, _ := strings.Cut(f.Path, "[")
		if loc, ok := where[head]; ok {
			if rest != "" {
				loc += "[" + rest
			}
			ce.Fields[i].Path = loc
		}
	}
	return ce
}
