package imagesource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Kind is the kind of image a Source names.
type Kind int

const (
	// Scratch is the empty image: "scratch".
	Scratch Kind = iota + 1
	// Remote is an image in a registry: "debian:trixie-slim",
	// "ghcr.io/owner/name@sha256:...".
	Remote
	// Layout is an OCI image layout on disk: "oci:DIR" or "oci:DIR@sha256:...".
	Layout
	// Tarball is a file written by docker save: "tarball:FILE".
	Tarball
	// Docker is an image in the Docker engine: "docker:NAME".
	Docker
)

var allKinds = []Kind{Scratch, Remote, Layout, Tarball, Docker}

// Prefixes of the local kinds; a registry reference has none.
const (
	layoutPrefix  = "oci:"
	tarballPrefix = "tarball:"
	dockerPrefix  = "docker:"
)

func (k Kind) String() string {
	switch k {
	case Scratch:
		return "scratch"
	case Remote:
		return "registry"
	case Layout:
		return "oci"
	case Tarball:
		return "tarball"
	case Docker:
		return "docker"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// form is how a user writes the kind, for the fix in an error message.
func (k Kind) form() string {
	switch k {
	case Scratch:
		return `"scratch"`
	case Remote:
		return `an image reference such as "debian:trixie-slim"`
	case Layout:
		return `"oci:DIR[@sha256:...]"`
	case Tarball:
		return `"tarball:FILE"`
	}
	return `"docker:NAME"`
}

// noun says what the kind is, for an error message.
func (k Kind) noun() string {
	switch k {
	case Scratch:
		return "the empty image"
	case Remote:
		return "a registry reference"
	case Layout:
		return "an OCI image layout"
	case Tarball:
		return "an image tarball"
	}
	return "an image in the Docker engine"
}

// Source is a parsed, validated image source. Make one with Parse; it keeps
// the options it was parsed with (credentials, platform, engine address) to
// read the image later.
type Source struct {
	kind   Kind
	ref    name.Reference // Remote, Docker
	path   string         // Layout: directory; Tarball: file
	digest *v1.Hash       // Layout, optional
	o      options
}

// Parse checks the text for an image source now, so that a mistake is
// reported before anything runs: its syntax, and that a local layout or
// tarball exists. It reads no image; Source.Image does. Its errors about the
// text are *field.Error (see WithField).
func Parse(s string, opts ...Option) (Source, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return Source{}, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return Source{}, field.Errorf(o.field, "no image given; %s", o.fix())
	}
	k := kindOf(s)
	if !o.takes(k) {
		return Source{}, o.refuse(k, s)
	}
	src := Source{kind: k, o: o}
	switch k {
	case Layout:
		err = src.parseLayout(s)
	case Tarball:
		err = src.parseTarball(s)
	case Docker:
		n := strings.TrimPrefix(s, dockerPrefix)
		if src.ref, err = name.ParseReference(n); err != nil {
			err = field.Errorf(o.field, `%q is not an image name (%v); write docker:NAME[:TAG], e.g. docker:shop:1`, s, err)
		}
	case Remote:
		if src.ref, err = name.ParseReference(s); err != nil {
			err = field.Errorf(o.field, "%q is not an image reference (%v); %s%s", s, err, o.fix(), o.pathHint(s))
		} else if o.insecure[src.ref.Context().RegistryStr()] {
			src.ref, err = name.ParseReference(s, name.Insecure)
		}
	}
	if err != nil {
		return Source{}, err
	}
	return src, nil
}

func kindOf(s string) Kind {
	switch {
	case s == "scratch":
		return Scratch
	case strings.HasPrefix(s, layoutPrefix):
		return Layout
	case strings.HasPrefix(s, tarballPrefix):
		return Tarball
	case strings.HasPrefix(s, dockerPrefix):
		return Docker
	}
	return Remote
}

func (s *Source) parseLayout(text string) error {
	f := s.o.field
	s.path = strings.TrimPrefix(text, layoutPrefix)
	// A digest never holds "@", a directory might.
	if i := strings.LastIndex(s.path, "@"); i >= 0 {
		d := s.path[i+1:]
		h, err := v1.NewHash(d)
		if err != nil {
			return field.Errorf(f, `%q has a bad digest %q (%v); write oci:DIR@sha256:<64 hex digits>`, text, d, err)
		}
		s.path, s.digest = s.path[:i], &h
	}
	if s.path == "" {
		return field.Errorf(f, `%q names no directory; write oci:DIR, e.g. oci:dist/image`, text)
	}
	s.path = s.o.resolve(s.path)
	if _, err := os.Stat(filepath.Join(s.path, "index.json")); err != nil {
		return field.Errorf(f, `%s is not an OCI image layout (no readable index.json: %v); write one with "deploy-action build --output DIR", "skopeo copy ... oci:DIR" or "crane pull --format=oci"`, s.path, err)
	}
	return nil
}

func (s *Source) parseTarball(text string) error {
	f := s.o.field
	s.path = strings.TrimPrefix(text, tarballPrefix)
	if s.path == "" {
		return field.Errorf(f, `%q names no file; write tarball:FILE, e.g. tarball:image.tar from "docker save"`, text)
	}
	s.path = s.o.resolve(s.path)
	if fi, err := os.Stat(s.path); err != nil || !fi.Mode().IsRegular() {
		return field.Errorf(f, `%s is not a readable file; save an image there with "docker save IMAGE -o FILE"`, s.path)
	}
	return nil
}

func (o options) resolve(p string) string {
	if filepath.IsAbs(p) || o.dir == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(o.dir, p)
}

// fix lists the kinds the field takes: `use "scratch", ... or "docker:NAME"`.
func (o options) fix() string {
	forms := make([]string, len(o.kinds))
	for i, k := range o.kinds {
		forms[i] = k.form()
	}
	if len(forms) == 1 {
		return "use " + forms[0]
	}
	return "use " + strings.Join(forms[:len(forms)-1], ", ") + " or " + forms[len(forms)-1]
}

// refuse explains that the field does not take text of kind k.
func (o options) refuse(k Kind, s string) error {
	switch {
	case k == Remote:
		return field.Errorf(o.field, "%q is not an image source; %s%s", s, o.fix(), o.pathHint(s))
	case k == Docker && o.takes(Tarball):
		// Reading the engine needs a daemon; a saved tarball does not.
		const file = "image.tar"
		return field.Errorf(o.field, `%q is %s, which this input cannot read; run "docker save %s -o %s" and use tarball:%s`,
			s, k.noun(), strings.TrimPrefix(s, dockerPrefix), file, file)
	}
	return field.Errorf(o.field, "%q is %s, which this input does not take; %s", s, k.noun(), o.fix())
}

// pathHint suggests the prefix a local path needs, when s names one.
func (o options) pathHint(s string) string {
	fi, err := os.Stat(o.resolve(s))
	switch {
	case err != nil:
		return ""
	case fi.IsDir() && o.takes(Layout):
		return fmt.Sprintf(" (for the OCI image layout in that directory, write %q)", layoutPrefix+s)
	case fi.Mode().IsRegular() && o.takes(Tarball):
		return fmt.Sprintf(" (for the image tarball in that file, write %q)", tarballPrefix+s)
	}
	return ""
}

// Kind says what kind of image the source names.
func (s Source) Kind() Kind { return s.kind }

// String is the source as text Parse takes; local paths are resolved against
// WithDir.
func (s Source) String() string {
	switch s.kind {
	case Scratch:
		return "scratch"
	case Remote:
		return s.ref.String()
	case Layout:
		if s.digest != nil {
			return layoutPrefix + s.path + "@" + s.digest.String()
		}
		return layoutPrefix + s.path
	case Tarball:
		return tarballPrefix + s.path
	case Docker:
		return dockerPrefix + s.ref.String()
	}
	return ""
}

// Resolve parses ref and reads the image it names.
func Resolve(ctx context.Context, ref string, opts ...Option) (v1.Image, error) {
	s, err := Parse(ref, opts...)
	if err != nil {
		return nil, err
	}
	return s.Image(ctx)
}
