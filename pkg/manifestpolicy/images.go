package manifestpolicy

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// imageRef is a container's image as the release will apply it.
type imageRef struct {
	pinned bool   // by digest
	tag    string // "" when the reference names none (then latest)
	repo   string // "docker.io/library/postgres"
	err    error
}

func parseImage(s string) imageRef {
	ref, err := name.ParseReference(s)
	if err != nil {
		return imageRef{err: err}
	}
	r := imageRef{repo: ref.Context().Name()}
	if _, ok := ref.(name.Digest); ok {
		r.pinned = true
		return r
	}
	// ParseReference fills in "latest" when no tag is written; tell them apart.
	if last := s[strings.LastIndex(s, "/")+1:]; strings.Contains(last, ":") {
		r.tag = ref.Identifier()
	}
	return r
}

// base is the image's name without registry or namespace: "postgres".
func (r imageRef) base() string { return path.Base(r.repo) }

const pinFix = "pin it by digest (image: NAME:TAG@sha256:...; `crane digest NAME:TAG` or `docker buildx imagetools inspect` gives it), " +
	"or have the deploy pin it: images it pushes are pinned, and so are those of image-map"

// checkLatest reports images tagged latest or not tagged, left unpinned.
func checkLatest(_ context.Context, rel *release, _ Config) ([]finding, error) {
	var out []finding
	for _, w := range rel.workloads {
		for _, c := range w.containers() {
			r := parseImage(c.Image)
			if r.err != nil || r.pinned || (r.tag != "" && r.tag != "latest") {
				continue
			}
			what := "is tagged latest"
			if r.tag == "" {
				what = "names no tag, so it is latest"
			}
			out = append(out, finding{obj: w.obj, line: line(rel.objects[w.obj].Node.YNode(), w.path(c, "image")...),
				msg: fmt.Sprintf("container %s: image %s %s: which version runs changes whenever someone pushes, differs from node to node, and a rollback restores nothing", c.Name, c.Image, what),
				fix: "deploy a version: " + pinFix})
		}
	}
	return out, nil
}

// checkDigest reports images left unpinned after pinning; latest ones are
// the latest check's, unless it is off.
func checkDigest(_ context.Context, rel *release, cfg Config) ([]finding, error) {
	var out []finding
	for _, w := range rel.workloads {
		for _, c := range w.containers() {
			at := line(rel.objects[w.obj].Node.YNode(), w.path(c, "image")...)
			r := parseImage(c.Image)
			if r.err != nil {
				out = append(out, finding{obj: w.obj, line: at,
					msg: fmt.Sprintf("container %s: image %q is not a valid image reference (%v)", c.Name, c.Image, r.err),
					fix: "write REGISTRY/REPOSITORY:TAG@sha256:DIGEST"})
				continue
			}
			if r.pinned || (cfg.Modes[Latest] != Off && (r.tag == "" || r.tag == "latest")) {
				continue
			}
			out = append(out, finding{obj: w.obj, line: at,
				msg: fmt.Sprintf("container %s: image %s is not pinned by digest: the tag can be moved, and each node pulls whatever it names that day", c.Name, c.Image),
				fix: pinFix})
		}
	}
	return out, nil
}
