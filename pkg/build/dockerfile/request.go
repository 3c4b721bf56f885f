package dockerfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Request says what to build.
type Request struct {
	ContextDir string            // build context directory (required)
	Dockerfile string            // path; default <ContextDir>/Dockerfile; relative paths are from the working directory, as with `docker build -f`
	Target     string            // multi-stage target, optional
	BuildArgs  map[string]string // ARG values; they show in step names and in the image history, so secrets go through WithSecret
	Labels     map[string]string // labels added to the image config
	Tag        string            // name given to the result in the engine's image store, optional
	NoCache    bool              // ignore the build cache
}

// targetPattern is what the Dockerfile frontend accepts as a stage name.
var targetPattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]*$`)

// validate checks the request against the file system and returns it with
// absolute paths and defaults filled in. names names the fields a message
// refers to.
func (r Request) validate(stat func(string) (fs.FileInfo, error), names field.Names) (Request, error) {
	if strings.TrimSpace(r.ContextDir) == "" {
		return r, field.Errorf(FieldContextDir, `no directory given; give the directory to build from, e.g. "."`)
	}
	dir, err := filepath.Abs(r.ContextDir)
	if err != nil {
		return r, field.Errorf(FieldContextDir, "%q: %w", r.ContextDir, err)
	}
	switch fi, err := stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return r, field.Errorf(FieldContextDir, "%s does not exist; give the directory to build from", dir)
	case err != nil:
		return r, field.Errorf(FieldContextDir, "%s cannot be read (%w); make it readable or choose another directory", dir, err)
	case !fi.IsDir():
		return r, field.Errorf(FieldContextDir, "%s is a file, not a directory; give the directory to build from (and the file as %s)", dir, names.Of(FieldDockerfile))
	}
	r.ContextDir = dir

	df := r.Dockerfile
	if strings.TrimSpace(df) == "" {
		df = filepath.Join(dir, "Dockerfile")
	}
	if df, err = filepath.Abs(df); err != nil {
		return r, field.Errorf(FieldDockerfile, "%q: %w", r.Dockerfile, err)
	}
	switch fi, err := stat(df); {
	case errors.Is(err, fs.ErrNotExist):
		return r, field.Errorf(FieldDockerfile, "%s does not exist; give the path of your Dockerfile", df)
	case err != nil:
		return r, field.Errorf(FieldDockerfile, "%s cannot be read (%w); make it readable or give another file", df, err)
	case fi.IsDir():
		return r, field.Errorf(FieldDockerfile, "%s is a directory; give the path of your Dockerfile, e.g. %s", df, filepath.Join(df, "Dockerfile"))
	}
	r.Dockerfile = df

	if r.Target != "" && !targetPattern.MatchString(r.Target) {
		return r, field.Errorf(FieldTarget, `%q is not a stage name; use the name after "AS" in a FROM line, e.g. "runtime"`, r.Target)
	}
	for k := range r.BuildArgs {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return r, field.Errorf(FieldBuildArgs, `%q is not an argument name; use NAME=value, one per line`, k)
		}
	}
	for k := range r.Labels {
		if strings.TrimSpace(k) == "" {
			return r, field.Errorf(FieldLabels, "a label has an empty key; use key=value, one per line")
		}
	}
	if r.Tag != "" {
		ref, err := name.ParseReference(r.Tag)
		if err != nil {
			return r, field.Errorf(FieldTag, `%q is not an image name (%v); use "<name>:<tag>" in lower case, e.g. "shop/web:dev"`, r.Tag, err)
		}
		if _, ok := ref.(name.Tag); !ok {
			return r, field.Errorf(FieldTag, `%q names a digest; the engine stores tags only, use "<name>:<tag>"`, r.Tag)
		}
	}
	return r, nil
}

// frontendAttrs are the Dockerfile frontend's options for the request.
func (r Request) frontendAttrs(sourceDateEpoch string) map[string]string {
	attrs := map[string]string{"filename": filepath.Base(r.Dockerfile)}
	if r.Target != "" {
		attrs["target"] = r.Target
	}
	if r.NoCache {
		attrs["no-cache"] = ""
	}
	// Newer frontends clamp timestamps to SOURCE_DATE_EPOCH (older ones ignore
	// it), which is how `docker buildx` passes it too; an explicit build arg wins.
	if sourceDateEpoch != "" {
		attrs["build-arg:SOURCE_DATE_EPOCH"] = sourceDateEpoch
	}
	for k, v := range r.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	for k, v := range r.Labels {
		attrs["label:"+k] = v
	}
	return attrs
}

// osStat is the stat used outside tests.
var osStat = os.Stat
