package layers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/imagesource"
	"github.com/deploy-action/deploy-action/pkg/internal/ports"
)

// defaultPlatform is picked from a multi-platform base when Spec.Platform is empty.
const defaultPlatform = "linux/amd64"

// historyAuthor marks the history entries this builder adds.
const historyAuthor = "deploy-action"

// Spec says what to build.
type Spec struct {
	// Base is "scratch", a registry reference ("debian:trixie-slim",
	// "ghcr.io/x/y@sha256:..."), "oci:DIR[@sha256:...]" (an OCI image layout)
	// or "tarball:FILE" (the output of docker save).
	Base string
	// Layers are appended in order, one image layer each.
	Layers []Layer
	// Workdir, when set, is the absolute working directory.
	Workdir string
	// Entrypoint replaces the base's; as with a Dockerfile's ENTRYPOINT, it
	// also clears the base's Cmd unless Cmd is set.
	Entrypoint []string
	// Cmd replaces the base's.
	Cmd []string
	// Env holds KEY=VALUE pairs that override or extend the base's.
	Env []string
	// User, when set, replaces the base's: "65532", "65532:65532" or a name.
	User string
	// Ports are exposed in addition to the base's: "8000", "8000/tcp", "53/udp".
	Ports []string
	// Labels are added to the base's.
	Labels map[string]string
	// Platform is "os/arch[/variant]": the one picked from a multi-platform
	// base (default linux/amd64) and the one a scratch image says it is for.
	Platform string
}

// Builder builds the image a Spec describes.
type Builder struct {
	spec     Spec
	opts     options
	base     imagesource.Source
	sources  []source
	platform v1.Platform
	epoch    time.Time
	ports    []string
}

// New checks the spec against itself and the file system, and reports every
// problem it finds at once, so a user fixes their inputs in one round.
func New(spec Spec, opts ...Option) (*Builder, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	b := &Builder{spec: spec, opts: o}

	var errs []error
	if o.keychain == nil || (o.ownRT && o.transport == nil) || o.getenv == nil {
		errs = append(errs, errors.New("layers: WithKeychain, WithTransport and WithGetenv need a non-nil value"))
	}
	p := spec.Platform
	if p == "" {
		p = defaultPlatform
	}
	pl, err := v1.ParsePlatform(p)
	if err != nil || pl.OS == "" || pl.Architecture == "" {
		pl = nil
	}
	if b.base, err = imagesource.Parse(spec.Base, b.baseOptions(pl)...); err != nil {
		errs = append(errs, err)
	}
	for _, l := range spec.Layers {
		src, err := findSource(l, o.dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.sources = append(b.sources, src)
	}
	if spec.Workdir != "" && !strings.HasPrefix(spec.Workdir, "/") {
		errs = append(errs, field.Errorf(FieldWorkdir, `%q is relative; write an absolute path, e.g. "/app"`, spec.Workdir))
	}
	if strings.ContainsAny(spec.User, " \t\r\n") {
		errs = append(errs, field.Errorf(FieldUser, `%q has white space; write UID[:GID] or a user name, e.g. "65532:65532"`, spec.User))
	}
	errs = append(errs, checkEnv(spec.Env)...)
	ports, perrs := parsePorts(spec.Ports)
	b.ports = ports
	errs = append(errs, perrs...)
	for k := range spec.Labels {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, field.Errorf(FieldLabels, "a label has an empty key; write KEY=VALUE"))
		}
	}
	if pl == nil {
		errs = append(errs, fmt.Errorf(`platform %q is not os/arch[/variant]; write e.g. "linux/amd64" or "linux/arm64"`, p))
	} else {
		b.platform = *pl
	}
	if b.epoch, err = sourceDateEpoch(o); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

// baseOptions says how to read Spec.Base: relative paths start at the
// directory, and the Docker engine is out of reach of a daemonless build.
// Nil credentials or transport and a bad platform (pl nil) are reported by
// New, once.
func (b *Builder) baseOptions(pl *v1.Platform) []imagesource.Option {
	o := b.opts
	opts := []imagesource.Option{
		imagesource.WithField(FieldBase),
		imagesource.WithDir(o.dir),
		imagesource.WithKinds(imagesource.Scratch, imagesource.Remote, imagesource.Layout, imagesource.Tarball),
	}
	if o.keychain != nil {
		opts = append(opts, imagesource.WithKeychain(o.keychain))
	}
	if o.ownRT {
		opts = append(opts, imagesource.WithTransport(o.transport))
	}
	if o.timeout != 0 {
		opts = append(opts, imagesource.WithRequestTimeout(o.timeout))
	}
	if len(o.insecure) > 0 {
		opts = append(opts, imagesource.WithInsecure(o.insecure...))
	}
	switch {
	case pl == nil:
	case b.spec.Platform != "":
		// Asked for: a single-platform base must be for it too.
		opts = append(opts, imagesource.WithPlatform(*pl))
	default:
		opts = append(opts, imagesource.WithDefaultPlatform(*pl))
	}
	return opts
}

// findSource stats a layer's source, following a symlink that is the source
// itself (as COPY does); symlinks inside a directory stay symlinks.
func findSource(l Layer, dir string) (source, error) {
	if err := l.validate(); err != nil {
		return source{}, err
	}
	p := resolve(dir, l.Source)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return source{}, layerError(l.String(), fmt.Sprintf("has a source that cannot be read (%v)", err), "build the file first or fix the path (a relative one starts at "+absDir(dir)+")")
	}
	fi, err := os.Stat(real)
	if err != nil {
		return source{}, layerError(l.String(), fmt.Sprintf("has a source that cannot be read (%v)", err), "build the file first or fix the path")
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return source{}, layerError(l.String(), "has a source that is neither a file nor a directory", "name a file or a directory")
	}
	return source{Layer: l, path: real, isDir: fi.IsDir(), name: filepath.Base(p)}, nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}

func checkEnv(env []string) []error {
	var errs []error
	seen := map[string]bool{}
	for _, e := range env {
		k, _, ok := strings.Cut(e, "=")
		switch {
		case !ok || k == "":
			errs = append(errs, field.Errorf(FieldEnv, `%q is not KEY=VALUE; write e.g. "PORT=8000"`, e))
		case strings.ContainsAny(k, " \t\r\n"):
			errs = append(errs, field.Errorf(FieldEnv, `%q has white space in its name; write KEY=VALUE with a plain name`, e))
		case seen[k]:
			errs = append(errs, field.Errorf(FieldEnv, `%s is set twice; keep one %s=`, k, k))
		}
		seen[k] = true
	}
	return errs
}

// parsePorts returns the ports as config keys, "8000/tcp".
func parsePorts(list []string) ([]string, []error) {
	var out []string
	var errs []error
	for _, p := range list {
		spec, err := ports.Parse(strings.TrimSpace(p))
		switch {
		case errors.Is(err, ports.ErrProtocol):
			_, proto, _ := strings.Cut(p, "/")
			errs = append(errs, field.Errorf(FieldPorts, `%q has protocol %q; use tcp, udp or sctp, e.g. "53/udp"`, p, strings.ToLower(proto)))
		case err != nil || spec.HostPort != "":
			errs = append(errs, field.Errorf(FieldPorts, `%q is not a port; write a number from 1 to 65535 with an optional /tcp, /udp or /sctp, e.g. "8000"`, p))
		default:
			out = append(out, string(spec.Port))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), errs
}

// sourceDateEpoch is the time every file and the config carry: the option,
// else SOURCE_DATE_EPOCH, else the Unix epoch, so that a build is
// reproducible even when nobody asked.
func sourceDateEpoch(o options) (time.Time, error) {
	if o.epoch != nil {
		return *o.epoch, nil
	}
	s := strings.TrimSpace(o.getenv("SOURCE_DATE_EPOCH"))
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf(`environment variable SOURCE_DATE_EPOCH: %q is not a number of seconds since 1970; set it to e.g. $(git log -1 --format=%%ct)`, s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Build reads the base and writes the layers at the same time, then stacks
// the layers on the base and sets the config.
func (b *Builder) Build(ctx context.Context) (v1.Image, error) {
	var (
		img  v1.Image
		anns map[string]string
		adds = make([]mutate.Addendum, len(b.sources))
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, runtime.GOMAXPROCS(0)))
	g.Go(func() error {
		// A remote image keeps the context for the blobs it reads later (a
		// push reads them): give it the caller's, which outlives the group's.
		var err error
		img, anns, err = b.base.BaseImage(ctx)
		return err
	})
	// The layer media type must match the base manifest's kind, which is not
	// known yet: write OCI layers, and convert below if the base is Docker.
	for i, src := range b.sources {
		g.Go(func() error {
			l, err := tarLayer(gctx, src, b.epoch, types.OCILayer)
			if err != nil {
				return err
			}
			adds[i] = mutate.Addendum{
				Layer:     l,
				MediaType: types.OCILayer,
				History: v1.History{
					Created:   v1.Time{Time: b.epoch},
					CreatedBy: "ADD " + src.Target, // not the source path: it differs between machines
					Author:    historyAuthor,
				},
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading base %s: %w", b.base, err)
	}
	if mt == types.DockerManifestSchema2 {
		for i := range adds {
			adds[i].MediaType = types.DockerLayer
		}
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("appending layers to %s: %w", b.base, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of %s: %w", b.base, err)
	}
	cf = cf.DeepCopy()
	b.configure(cf)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("setting the config: %w", err)
	}
	// Docker schema 2 manifests have no annotations; only OCI ones record the base.
	if len(anns) > 0 && mt == types.OCIManifestSchema1 {
		img = mutate.Annotations(img, anns).(v1.Image)
	}
	return img, nil
}

// configure applies the spec to a copy of the base's config.
func (b *Builder) configure(cf *v1.ConfigFile) {
	s := b.spec
	cf.Created = v1.Time{Time: b.epoch}
	if b.base.Kind() == imagesource.Scratch {
		cf.OS, cf.Architecture, cf.Variant = b.platform.OS, b.platform.Architecture, b.platform.Variant
	}
	c := &cf.Config
	if s.Workdir != "" {
		c.WorkingDir = s.Workdir
	}
	if len(s.Entrypoint) > 0 {
		c.Entrypoint = slices.Clone(s.Entrypoint)
		c.Cmd = nil
	}
	if len(s.Cmd) > 0 {
		c.Cmd = slices.Clone(s.Cmd)
	}
	c.Env = mergeEnv(c.Env, s.Env)
	if s.User != "" {
		c.User = s.User
	}
	if len(b.ports) > 0 {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range b.ports {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	if len(s.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, s.Labels)
	}
}

// mergeEnv overrides base entries in place and appends new ones in order.
func mergeEnv(base, add []string) []string {
	out := slices.Clone(base)
	for _, e := range add {
		k, _, _ := strings.Cut(e, "=")
		i := slices.IndexFunc(out, func(o string) bool { return strings.HasPrefix(o, k+"=") })
		if i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}
