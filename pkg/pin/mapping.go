package pin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Mapping says which containers to pin and to what: every container whose
// image is in one of the Match repositories (with Match's tag, when it names
// one) gets Target, or the repository as its manifest wrote it, @Digest.
type Mapping struct {
	// Match are the repositories (or repository:tag) to pin. Names are
	// compared normalised: "shop", "docker.io/library/shop" and
	// "index.docker.io/library/shop:latest" are the same repository.
	Match []string
	// Target is the image reference written, when the manifest's repository
	// is not to be kept: "ghcr.io/acme/shop", or with a tag,
	// "ghcr.io/acme/shop:1.2". "@Digest" is added to it.
	Target string
	// Digest is "sha256:<64 hex digits>".
	Digest string

	// from names the mapping in messages ("the pushed image") when it was
	// not parsed; a parsed one is named by FieldMappings and its line.
	from    string
	parsed  bool
	line    int // of the text ParseMappings read, from 1; 0 for ParseMapping
	matches []matcher
}

// name names m in messages: FieldMappings by names, and the line ("... line
// 2"), or "the pushed image".
func (m *Mapping) name(names field.Names) string {
	switch {
	case m.line > 0:
		return fmt.Sprintf("%s line %d", names.Of(FieldMappings), m.line)
	case m.parsed:
		return names.Of(FieldMappings)
	}
	return m.from
}

type matcher struct {
	repo name.Repository
	tag  string // "" matches any tag (and images pinned only by digest)
	text string
}

// pushedImage names the mapping Pushed makes.
const pushedImage = "the pushed image"

// Pushed is the default mapping: the image just pushed to the repositories of
// refs ("<repository>@sha256:...", as push.RegistryResult.Ref), which must
// share one digest. Each matching container keeps the repository its manifest
// names and gets the digest.
func Pushed(refs ...string) (Mapping, error) {
	if len(refs) == 0 {
		return Mapping{}, errors.New("pin.Pushed: no pushed image to pin; push first, or give Pin mappings of your own")
	}
	m := Mapping{from: pushedImage}
	for _, ref := range refs {
		d, err := name.NewDigest(ref)
		if err != nil {
			return Mapping{}, fmt.Errorf("pushed image %q is not <repository>@sha256:<digest>: %w", ref, err)
		}
		if m.Digest != "" && d.DigestStr() != m.Digest {
			return Mapping{}, fmt.Errorf("pushed images %s and %s differ in digest; pin one image at a time", refs[0], ref)
		}
		m.Digest = d.DigestStr()
		m.Match = append(m.Match, d.Context().Name())
	}
	return m, m.compile()
}

// ParseMapping reads one mapping, as the action's "image-map" input writes it:
//
//	SOURCE=TARGET@sha256:<digest>   containers of SOURCE get TARGET@sha256:...
//	REPOSITORY@sha256:<digest>      containers of REPOSITORY keep their repository and get the digest
//
// SOURCE is a repository, or repository:tag to pin only that tag. An error is
// a *field.Error on FieldMappings.
func ParseMapping(s string) (Mapping, error) {
	return parseMapping(strings.TrimSpace(s), 0)
}

// ParseMappings reads mappings one a line (see ParseMapping), as the
// "image-map" input lists them; blank lines and lines starting with # are
// skipped. An error is a *field.Error on FieldMappings that names the line.
func ParseMappings(text string) ([]Mapping, error) {
	var ms []Mapping
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m, err := parseMapping(line, i+1)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func parseMapping(s string, line int) (Mapping, error) {
	fail := func(format string, args ...any) error {
		if line > 0 {
			format, args = "line %d: "+format, append([]any{line}, args...)
		}
		return field.Errorf(FieldMappings, format, args...)
	}
	src, dst, explicit := strings.Cut(s, "=")
	if !explicit {
		dst = s
	}
	src, dst = strings.TrimSpace(src), strings.TrimSpace(dst)
	d, err := name.NewDigest(dst)
	if err != nil {
		if explicit {
			return Mapping{}, fail("%q: the target must be pinned, <repository>@sha256:<64 hex digits> (%v)", s, err)
		}
		return Mapping{}, fail("%q is not SOURCE=TARGET@sha256:<digest> nor REPOSITORY@sha256:<digest> (%v)", s, err)
	}
	m := Mapping{Digest: d.DigestStr(), parsed: true, line: line}
	if explicit {
		target, _, _ := strings.Cut(dst, "@")
		m.Match, m.Target = []string{src}, target
	} else {
		m.Match = []string{repositoryAsWritten(dst)}
	}
	if err := m.compile(); err != nil {
		return Mapping{}, fail("%w", err)
	}
	return m, nil
}

// compile parses Match and Target; a mapping made by hand (a struct
// literal) is compiled when Pin checks its mappings.
func (m *Mapping) compile() error {
	if m.from == "" && !m.parsed {
		m.from = "mapping " + strings.Join(m.Match, ",")
	}
	if len(m.Match) == 0 {
		return errors.New("the mapping matches no repository; give SOURCE")
	}
	if _, err := v1.NewHash(m.Digest); err != nil {
		return fmt.Errorf("%q is not a digest; use sha256:<64 hex digits>", m.Digest)
	}
	if m.Target != "" {
		if _, err := name.NewTag(m.Target); err != nil {
			return fmt.Errorf("target %q is not an image repository (%v)", m.Target, err)
		}
	}
	m.matches = nil
	for _, s := range m.Match {
		mt, err := newMatcher(s)
		if err != nil {
			return err
		}
		m.matches = append(m.matches, mt)
	}
	return nil
}

func newMatcher(s string) (matcher, error) {
	if strings.Contains(s, "@") {
		return matcher{}, fmt.Errorf("source %q has a digest; name the repository (or repository:tag) to pin", s)
	}
	if repo, err := name.NewRepository(s); err == nil {
		return matcher{repo: repo, text: s}, nil
	}
	tag, err := name.NewTag(s)
	if err != nil {
		return matcher{}, fmt.Errorf("source %q is not an image repository (%v)", s, err)
	}
	return matcher{repo: tag.Context(), tag: tag.TagStr(), text: s}, nil
}
