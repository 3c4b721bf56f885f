package metadata

import (
	"fmt"
	"maps"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// OCI pre-defined annotation keys (image-spec annotations.md), used as labels.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelCreated  = "org.opencontainers.image.created"
	LabelVersion  = "org.opencontainers.image.version"
	LabelTitle    = "org.opencontainers.image.title"
)

const defaultServerURL = "https://github.com"

// Labels returns the OCI labels for an image built in context c. Keys whose
// value is unknown are left out, so a label never says something empty. The
// title defaults to the repository's name; created is written in RFC 3339,
// UTC (pass the commit time to keep builds reproducible).
func Labels(c Context, title, version string, created time.Time) map[string]string {
	l := map[string]string{}
	if c.Repository != "" {
		server := strings.TrimSuffix(c.ServerURL, "/")
		if server == "" {
			server = defaultServerURL
		}
		l[LabelSource] = server + "/" + c.Repository
	}
	if c.SHA != "" {
		l[LabelRevision] = c.SHA
	}
	if !created.IsZero() {
		l[LabelCreated] = created.UTC().Format(time.RFC3339)
	}
	if version != "" {
		l[LabelVersion] = version
	}
	if title == "" && c.Repository != "" {
		title = c.Repository[strings.LastIndex(c.Repository, "/")+1:]
	}
	if title != "" {
		l[LabelTitle] = title
	}
	return l
}

// Annotate adds labels to the image config and annotations to the image
// manifest; existing keys are overwritten. With nothing to add it returns img.
func Annotate(img v1.Image, labels, annotations map[string]string) (v1.Image, error) {
	if len(labels) > 0 {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the image config: %w", err)
		}
		cf = cf.DeepCopy()
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		maps.Copy(cf.Config.Labels, labels)
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, fmt.Errorf("setting labels: %w", err)
		}
	}
	if len(annotations) > 0 {
		a, ok := mutate.Annotations(img, annotations).(v1.Image)
		if !ok {
			return nil, fmt.Errorf("setting annotations: the result is not an image")
		}
		img = a
	}
	return img, nil
}
