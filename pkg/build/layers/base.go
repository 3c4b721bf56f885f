package layers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI annotations that record the base image (image-spec annotations.md).
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

const baseFix = `use "scratch", an image reference such as "debian:trixie-slim", "oci:DIR[@sha256:...]" or "tarball:FILE"`

type baseKind int

const (
	baseScratch baseKind = iota
	baseRemote
	baseLayout
	baseTarball
)

// base is a parsed Spec.Base.
type base struct {
	kind   baseKind
	ref    name.Reference // baseRemote
	path   string         // baseLayout: directory; baseTarball: file
	digest *v1.Hash       // baseLayout, optional
}

// parseBase reads Spec.Base and checks that a local base exists.
func parseBase(s, dir string) (base, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return base{}, fmt.Errorf(`input "base" is empty; %s`, baseFix)
	case s == "scratch":
		return base{kind: baseScratch}, nil
	case strings.HasPrefix(s, "oci:"):
		b := base{kind: baseLayout, path: strings.TrimPrefix(s, "oci:")}
		if p, d, ok := strings.Cut(b.path, "@"); ok {
			h, err := v1.NewHash(d)
			if err != nil {
				return base{}, fmt.Errorf(`input "base": %q has a bad digest %q (%v); write oci:DIR@sha256:<64 hex digits>`, s, d, err)
			}
			b.path, b.digest = p, &h
		}
		if b.path == "" {
			return base{}, fmt.Errorf(`input "base": %q names no directory; write oci:DIR, e.g. oci:./out/base`, s)
		}
		b.path = resolve(dir, b.path)
		if _, err := os.Stat(filepath.Join(b.path, "index.json")); err != nil {
			return base{}, fmt.Errorf(`input "base": %s is not an OCI image layout (no readable index.json: %v); write one with "skopeo copy ... oci:DIR" or "crane pull --format=oci"`, b.path, err)
		}
		return b, nil
	case strings.HasPrefix(s, "tarball:"):
		b := base{kind: baseTarball, path: strings.TrimPrefix(s, "tarball:")}
		if b.path == "" {
			return base{}, fmt.Errorf(`input "base": %q names no file; write tarball:FILE, e.g. tarball:base.tar from "docker save"`, s)
		}
		b.path = resolve(dir, b.path)
		if fi, err := os.Stat(b.path); err != nil || !fi.Mode().IsRegular() {
			return base{}, fmt.Errorf(`input "base": %s is not a readable file; save an image there with "docker save IMAGE -o FILE"`, b.path)
		}
		return b, nil
	case strings.HasPrefix(s, "docker:"):
		return base{}, fmt.Errorf(`input "base": %q reads the Docker engine, which the daemonless build does not; run "docker save %s -o base.tar" and use tarball:base.tar`, s, strings.TrimPrefix(s, "docker:"))
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return base{}, fmt.Errorf(`input "base": %q is not an image reference (%v); %s`, s, err, baseFix)
	}
	return base{kind: baseRemote, ref: ref}, nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func (b base) String() string {
	switch b.kind {
	case baseScratch:
		return "scratch"
	case baseRemote:
		return b.ref.String()
	case baseLayout:
		if b.digest != nil {
			return "oci:" + b.path + "@" + b.digest.String()
		}
		return "oci:" + b.path
	default:
		return "tarball:" + b.path
	}
}

// image resolves the base to one image for the platform. explicit says the
// platform was asked for, so a single-platform base must match it.
func (b base) image(ctx context.Context, o options, want v1.Platform, explicit bool) (v1.Image, map[string]string, error) {
	var (
		img  v1.Image
		anns map[string]string
		err  error
	)
	switch b.kind {
	case baseScratch:
		// OCI media types: the layers appended later follow the manifest's kind.
		img = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		return img, nil, nil
	case baseRemote:
		img, anns, err = b.remote(ctx, o, want)
	case baseLayout:
		img, err = b.layout(want)
	case baseTarball:
		img, err = tarball.ImageFromPath(b.path, nil)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading base %s: %w", b, err)
	}
	if explicit {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, nil, fmt.Errorf("reading base %s: %w", b, err)
		}
		if have := cf.Platform(); have != nil && !platformMatches(*have, want) {
			return nil, nil, fmt.Errorf("base %s is for %s, not %s; choose a base for %s or drop the platform", b, have, want.String(), want.String())
		}
	}
	return img, anns, nil
}

func (b base) remote(ctx context.Context, o options, want v1.Platform) (v1.Image, map[string]string, error) {
	desc, err := remote.Get(b.ref,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(o.transport),
	)
	if err != nil {
		return nil, nil, err
	}
	anns := map[string]string{
		annotationBaseName:   b.ref.Name(),
		annotationBaseDigest: desc.Digest.String(),
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		return img, anns, err
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, nil, err
	}
	img, err := selectPlatform(idx, want)
	return img, anns, err
}

func (b base) layout(want v1.Platform) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(b.path)
	if err != nil {
		return nil, err
	}
	if b.digest != nil {
		return findInIndex(idx, *b.digest, want)
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
			return nil, fmt.Errorf("the layout holds %d entries; name one as oci:DIR@%s", len(im.Manifests), im.Manifests[0].Digest)
		}
	}
	return selectPlatform(idx, want)
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
