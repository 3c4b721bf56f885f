package imagesource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/deploy-action/deploy-action/pkg/engine"
)

// OCI annotations that record the base image of an image (image-spec
// annotations.md).
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// Image reads the image for the platform (see WithPlatform).
func (s Source) Image(ctx context.Context) (v1.Image, error) {
	img, _, err := s.BaseImage(ctx)
	return img, err
}

// BaseImage reads the image like Image, and returns with it the annotations
// an image built on it carries to record its base: AnnotationBaseName and
// AnnotationBaseDigest, the digest of what the reference names (the index
// for a multi-platform image). Only a registry source has them: a layout, a
// tarball or the engine has no name that others can pull.
func (s Source) BaseImage(ctx context.Context) (v1.Image, map[string]string, error) {
	var (
		img  v1.Image
		anns map[string]string
		err  error
	)
	switch s.kind {
	case Scratch:
		// OCI media types: layers appended later follow the manifest's kind.
		return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), nil, nil
	case Remote:
		img, anns, err = s.remote(ctx)
	case Layout:
		img, err = s.layout()
	case Tarball:
		if img, err = tarball.ImageFromPath(s.path, nil); err != nil {
			err = fmt.Errorf(`it is not an image tarball (%w); write one with "docker save IMAGE -o FILE"`, err)
		}
	case Docker:
		img, err = s.daemon(ctx)
	default:
		return nil, nil, errors.New("imagesource: the zero Source names no image; make one with Parse")
	}
	if err != nil {
		return nil, nil, s.readError(err)
	}
	if s.o.explicit {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, nil, s.readError(err)
		}
		want := s.o.platform
		if have := cf.Platform(); have != nil && !platformMatches(*have, want) {
			return nil, nil, fmt.Errorf("%s: %s is for %s, not %s; choose an image for %s or drop the platform",
				s.o.names.Of(s.o.field), s, have, want.String(), want.String())
		}
	}
	return img, anns, nil
}

// readError names the source as the user wrote it: "reading debian:12: ...".
func (s Source) readError(err error) error {
	return fmt.Errorf("reading %s: %w", s, err)
}

func (s Source) remote(ctx context.Context) (v1.Image, map[string]string, error) {
	desc, err := remote.Get(s.ref,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(s.o.keychain),
		remote.WithTransport(s.o.transport),
	)
	if err != nil {
		return nil, nil, err
	}
	anns := map[string]string{
		AnnotationBaseName:   s.ref.Name(),
		AnnotationBaseDigest: desc.Digest.String(),
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		return img, anns, err
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, nil, err
	}
	img, err := selectPlatform(idx, s.o.platform)
	return img, anns, err
}

// layout reads DIR@DIGEST, the only image in DIR, or the one for the
// platform when DIR holds a multi-platform image.
func (s Source) layout() (v1.Image, error) {
	want := s.o.platform
	idx, err := layout.ImageIndexFromPath(s.path)
	if err != nil {
		return nil, err
	}
	if s.digest != nil {
		return findInIndex(idx, *s.digest, want)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	switch {
	case len(im.Manifests) == 0:
		return nil, errors.New("the layout holds no image; write one into it first")
	case len(im.Manifests) == 1 && im.Manifests[0].MediaType.IsImage():
		return idx.Image(im.Manifests[0].Digest)
	case len(im.Manifests) == 1 && im.Manifests[0].MediaType.IsIndex():
		child, err := idx.ImageIndex(im.Manifests[0].Digest)
		if err != nil {
			return nil, err
		}
		return selectPlatform(child, want)
	}
	// Several entries: a multi-platform layout whose top index lists images.
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() || d.Platform == nil {
			return nil, fmt.Errorf("the layout holds %d entries; name one as %s%s@%s",
				len(im.Manifests), layoutPrefix, s.path, im.Manifests[0].Digest)
		}
	}
	return selectPlatform(idx, want)
}

func (s Source) daemon(ctx context.Context) (v1.Image, error) {
	if s.o.docker != nil {
		return daemon.Image(s.ref, daemon.WithContext(ctx), daemon.WithClient(s.o.docker))
	}
	eopts := []engine.Option{engine.WithGetenv(s.o.getenv)}
	if s.o.dockerHost != "" {
		eopts = append(eopts, engine.WithHost(s.o.dockerHost))
	}
	c, err := engine.New(eopts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker engine: %w", err)
	}
	defer c.Close()
	img, err := daemon.Image(s.ref, daemon.WithContext(ctx), daemon.WithClient(c))
	if err != nil {
		return nil, err
	}
	// The client closes on return: read the config (an inspect) and the
	// image (a docker save, held in memory) now, not when they are used.
	if _, err := img.ConfigFile(); err != nil {
		return nil, err
	}
	if _, err := img.Layers(); err != nil {
		return nil, err
	}
	return img, nil
}

// findInIndex finds the manifest with digest h anywhere under idx.
func findInIndex(idx v1.ImageIndex, h v1.Hash, want v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		switch {
		case d.Digest == h && d.MediaType.IsImage():
			return idx.Image(h)
		case d.Digest == h && d.MediaType.IsIndex():
			child, err := idx.ImageIndex(h)
			if err != nil {
				return nil, err
			}
			return selectPlatform(child, want)
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := findInIndex(child, h, want); err == nil {
				return img, nil
			}
		}
	}
	return nil, fmt.Errorf("no manifest %s in the layout; list its digests with \"jq .manifests index.json\"", h)
}

// selectPlatform picks the image for want from a multi-platform index.
func selectPlatform(idx v1.ImageIndex, want v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var have []string
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() || d.Platform == nil {
			continue
		}
		if platformMatches(*d.Platform, want) {
			return idx.Image(d.Digest)
		}
		if d.Platform.OS != "unknown" { // attestations, not images to run
			have = append(have, d.Platform.String())
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("it has no image for %s nor for any other platform", want.String())
	}
	slices.Sort(have)
	return nil, fmt.Errorf("it has no image for %s, only for %s; set the platform to one of them", want.String(), strings.Join(have, ", "))
}

// platformMatches is Platform.Satisfies, except that arm64 without a variant
// is arm64/v8, the only arm64 there is.
func platformMatches(have, want v1.Platform) bool {
	norm := func(p v1.Platform) v1.Platform {
		if p.Architecture == "arm64" && p.Variant == "v8" {
			p.Variant = ""
		}
		return p
	}
	have, want = norm(have), norm(want)
	return have.OS == want.OS && have.Architecture == want.Architecture &&
		(want.Variant == "" || have.Variant == want.Variant)
}
