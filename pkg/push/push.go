package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/bytesize"
	"github.com/deploy-action/deploy-action/pkg/metadata"
)

// Result is what a push produced: the image's digest and, for each repository,
// where it now lives.
type Result struct {
	// Digest is the manifest digest, the same in every registry.
	Digest v1.Hash
	// Tags are the tags that were asked for.
	Tags []string
	// Registries holds one entry per repository, in the order given.
	Registries []RegistryResult
}

// RegistryResult is the outcome of the push to one repository.
type RegistryResult struct {
	// Repository is the fully qualified repository, e.g. "index.docker.io/acme/shop".
	Repository string
	// Ref pins the image by digest: "<repository>@sha256:...". It is set only
	// once the manifest is in the registry.
	Ref string
	// Tags are the tags written, a prefix of Result.Tags when a tag failed.
	Tags []string
	// Err says why the push failed; nil on success. See ErrUnreachable,
	// ErrUnauthorized, ErrDenied and ErrUntrusted.
	Err error
	// TransientFailures counts the failures worth retrying that were met (5xx,
	// 429, dropped connections); each was retried while attempts remained.
	TransientFailures int
	// Duration is the wall time spent on this repository.
	Duration time.Duration
}

// Failed returns the repositories that failed, in order.
func (r *Result) Failed() []RegistryResult {
	var failed []RegistryResult
	for _, rr := range r.Registries {
		if rr.Err != nil {
			failed = append(failed, rr)
		}
	}
	return failed
}

// Refs returns the digest references of the repositories that succeeded.
func (r *Result) Refs() []string {
	var refs []string
	for _, rr := range r.Registries {
		if rr.Err == nil {
			refs = append(refs, rr.Ref)
		}
	}
	return refs
}

// Pusher writes images to registries. It is safe for concurrent use.
type Pusher struct {
	o *options
	// progress serialises lines written from concurrent registries.
	mu sync.Mutex
}

// New checks the options and returns a Pusher.
func New(opts ...Option) (*Pusher, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Pusher{o: o}, nil
}

// Push writes img to every repository in repos at once, then tags it with each
// of tags there. See Pusher.Push.
func Push(ctx context.Context, img v1.Image, repos []string, tags []string, opts ...Option) (*Result, error) {
	p, err := New(opts...)
	if err != nil {
		return nil, err
	}
	return p.Push(ctx, img, repos, tags)
}

// target is one parsed repository with its tags.
type target struct {
	repo name.Repository
	tags []name.Tag
}

// Push writes img to every repository in repos at once. In each it uploads the
// blobs the registry lacks, PUTs the manifest by digest and only then writes the
// tags, so a tag never points at a partial image. A registry that fails does not
// stop the others: the Result says which succeeded, and the error names the
// ones that failed. Inputs are checked before anything is sent.
func (p *Pusher) Push(ctx context.Context, img v1.Image, repos []string, tags []string) (*Result, error) {
	if img == nil {
		return nil, errors.New("push: no image")
	}
	tags = unique(tags)
	targets, err := p.parse(repos, tags)
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("computing the image digest: %w", err)
	}
	summary := describe(img)

	res := &Result{
		Digest:     digest,
		Tags:       tags,
		Registries: make([]RegistryResult, len(targets)),
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(p.o.jobs)
	for i, tg := range targets {
		g.Go(func() error {
			// A failed registry never cancels the others: errors go in the
			// result, not to the group.
			res.Registries[i] = p.pushOne(ctx, img, digest, tg, summary)
			return nil
		})
	}
	_ = g.Wait()

	failed := res.Failed()
	if len(failed) == 0 {
		return res, nil
	}
	errs := make([]error, 0, len(failed))
	for _, f := range failed {
		errs = append(errs, f.Err)
	}
	ok := res.Refs()
	head := fmt.Sprintf("push failed for %d of %d repositories", len(failed), len(res.Registries))
	if len(ok) > 0 {
		head += fmt.Sprintf(" (pushed: %s)", strings.Join(ok, ", "))
	}
	return res, fmt.Errorf("%s:\n%w", head, errors.Join(errs...))
}

// parse checks every repository and tag before any request is made.
func (p *Pusher) parse(repos, tags []string) ([]target, error) {
	if len(repos) == 0 {
		return nil, field.Errorf(FieldRepos, `no repository given; use "<registry>/<namespace>/<name>"`)
	}
	for _, t := range tags {
		if !metadata.ValidTag(t) {
			return nil, field.Errorf(FieldTags, `%q is not a valid tag; use up to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`, t)
		}
	}
	seen := map[string]bool{}
	var targets []target
	for _, r := range repos {
		repo, err := p.parseRepository(r)
		if err != nil {
			return nil, err
		}
		if seen[repo.Name()] {
			continue
		}
		seen[repo.Name()] = true
		tg := target{repo: repo}
		for _, t := range tags {
			tg.tags = append(tg.tags, repo.Tag(t))
		}
		targets = append(targets, tg)
	}
	return targets, nil
}

func (p *Pusher) parseRepository(s string) (name.Repository, error) {
	s = strings.TrimSpace(s)
	var nopts []name.Option
	if reg, _, ok := strings.Cut(s, "/"); ok && p.o.insecure[reg] {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(s, nopts...)
	if err == nil {
		return repo, nil
	}
	// A common slip: a tag or digest in the repository. Say where it belongs.
	if ref, rerr := name.ParseReference(s, nopts...); rerr == nil {
		switch ref := ref.(type) {
		case name.Tag:
			return name.Repository{}, field.Errorf(FieldRepos, `%q names a tag, not a repository; use %q and give %q in %s`, s, ref.Context().String(), ref.TagStr(), p.o.names.Of(FieldTags))
		case name.Digest:
			return name.Repository{}, field.Errorf(FieldRepos, `%q names a digest, not a repository; use %q`, s, ref.Context().String())
		}
	}
	return name.Repository{}, field.Errorf(FieldRepos, `%q is not a valid repository (%v); use "<registry>/<namespace>/<name>"`, s, err)
}

func (p *Pusher) pushOne(ctx context.Context, img v1.Image, digest v1.Hash, tg target, summary string) RegistryResult {
	start := p.o.now()
	repo := tg.repo
	rr := RegistryResult{Repository: repo.Name()}

	var transient atomic.Int64
	fail := func(err error) RegistryResult {
		rr.Err = err
		rr.TransientFailures = int(transient.Load())
		rr.Duration = p.o.now().Sub(start)
		p.logf("%s: failed after %s: %v", repo.Name(), round(rr.Duration), err)
		return rr
	}

	auth, err := authn.Resolve(ctx, p.o.keychain, repo)
	if err != nil {
		return fail(fmt.Errorf("looking up credentials for %s: %w", repo.RegistryStr(), err))
	}
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return fail(fmt.Errorf("reading credentials for %s: %w", repo.RegistryStr(), err))
	}
	sec := secretsOf(cfg)
	if p.o.masker != nil {
		for _, v := range sec.values {
			p.o.masker.Add(v)
		}
	}
	c := classifier{names: p.o.names, registry: repo.RegistryStr(), repo: repo.Name(), user: cfg.Username, anonymous: auth == authn.Anonymous, secrets: sec, timeout: p.o.timeout,
		done: func() bool { return ctx.Err() != nil }}

	pusher, err := remote.NewPusher(
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithTransport(p.o.transport),
		remote.WithJobs(p.o.jobs),
		remote.WithUserAgent("deploy-action"),
		remote.WithRetryBackoff(p.o.backoff),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithRetryPredicate(func(err error) bool {
			if !retryable(err) {
				return false
			}
			transient.Add(1)
			p.logf("%s: transient failure: %s", repo.Name(), sec.redact(err.Error()))
			return true
		}),
	)
	if err != nil {
		return fail(c.classify(err))
	}

	p.logf("%s: pushing %s", repo.Name(), summary)
	ref := repo.Digest(digest.String())
	// The manifest goes in by digest first: until it is there, no tag exists
	// that could point at a partial image.
	if err := pusher.Push(ctx, ref, img); err != nil {
		return fail(c.classify(err))
	}
	rr.Ref = ref.String()
	for _, t := range tg.tags {
		if err := remote.Tag(t, img, remote.Reuse(pusher), remote.WithContext(ctx)); err != nil {
			return fail(c.classify(fmt.Errorf("tagging %s: %w", t.TagStr(), err)))
		}
		rr.Tags = append(rr.Tags, t.TagStr())
	}
	rr.TransientFailures = int(transient.Load())
	rr.Duration = p.o.now().Sub(start)
	line := fmt.Sprintf("%s: pushed %s in %s", repo.Name(), digest, round(rr.Duration))
	if len(rr.Tags) > 0 {
		line += ", tagged " + strings.Join(rr.Tags, ", ")
	}
	p.logf("%s", line)
	return rr
}

// retryStatusCodes are the answers worth asking again: timeouts, rate limits
// and server-side failures. 4xx other than 408/429 are the caller's to fix.
var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

func (p *Pusher) logf(format string, args ...any) {
	if p.o.progress == io.Discard {
		return
	}
	// One step, one line: registries' error bodies often end in newlines.
	line := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.o.progress, line)
}

// describe says what is being pushed, e.g. "3 layers, 12.5 MB".
func describe(img v1.Image) string {
	layers, err := img.Layers()
	if err != nil {
		return "image"
	}
	var size int64
	for _, l := range layers {
		if s, err := l.Size(); err == nil {
			size += s
		}
	}
	unit := "layers"
	if len(layers) == 1 {
		unit = "layer"
	}
	return fmt.Sprintf("%d %s, %s", len(layers), unit, bytesize.Format(size))
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}

func unique(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
