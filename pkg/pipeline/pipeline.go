package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/deploy-action/deploy-action/pkg/build"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/deploy"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/metadata"
	"github.com/deploy-action/deploy-action/pkg/push"
)

// Config is everything a run needs, made and validated before the run starts.
type Config struct {
	Stages []Stage

	// Builder makes the image when the build stage runs.
	Builder build.Interface
	// Source gives the image when the build stage does not run (an image built
	// by an earlier job or command).
	Source func(context.Context) (v1.Image, error)
	// Output, when set, is an OCI layout directory the built image is written to.
	Output string

	// Tester checks the image when the test stage runs; a failed check stops
	// the run before anything is pushed.
	Tester Tester

	// Meta says what the image is called and what it says about itself.
	Meta Meta

	// Images are the repositories to push to, with Pusher (default: push.New()).
	Images []string
	Pusher Pusher

	// Deployer rolls the pushed image out when the deploy stage runs.
	Deployer Deployer

	// Names names fields in messages that refer to a setting (see
	// field.Names); nil names them as they are.
	Names field.Names
}

// Deployer is the deploy stage. Prepare runs before anything is built, so that
// an unreachable cluster or a broken manifest costs no build; repos are the
// repositories the run pushes to (none without the push stage). Deploy gets
// the pushed references, "<repository>@sha256:...".
type Deployer interface {
	Prepare(ctx context.Context, repos []string) error
	Deploy(ctx context.Context, refs []string) (*deploy.Result, error)
}

// Pusher is the push stage (push.Pusher). Check runs before anything is
// built, so that a bad repository or tag costs no build.
type Pusher interface {
	Check(repos, tags []string) error
	Push(ctx context.Context, img v1.Image, repos, tags []string) (*push.Result, error)
}

// Meta is the naming and labelling of the image.
type Meta struct {
	Context     metadata.Context
	Title       string
	Version     string
	Policies    []string
	RawTags     []string
	Created     time.Time
	Annotations map[string]string
}

// Tester checks an image before it ships. engineRef names the image in the
// Docker engine when a build left it there ("" when it must be loaded).
type Tester interface {
	Test(ctx context.Context, img v1.Image, engineRef string) (*imagetest.Report, error)
}

// Observer is told about the run as it goes.
type Observer interface {
	Group(title string) func()
	Infof(format string, args ...any)
}

// StageResult is how one stage went.
type StageResult struct {
	Stage    Stage
	Duration time.Duration
	Err      error
}

// Result is what a run produced. Fields are set as far as the run got.
type Result struct {
	Image  v1.Image
	Digest v1.Hash
	Tags   []string
	Labels map[string]string
	Test   *imagetest.Report
	Push   *push.Result
	Deploy *deploy.Result
	Stages []StageResult
}

// Fields of Config, as the *field.Error of Validate and Run names them.
const (
	FieldStages   = "pipeline.Config.Stages"
	FieldBuilder  = "pipeline.Config.Builder"
	FieldSource   = "pipeline.Config.Source"
	FieldOutput   = "pipeline.Config.Output"
	FieldTester   = "pipeline.Config.Tester"
	FieldImages   = "pipeline.Config.Images"
	FieldDeployer = "pipeline.Config.Deployer"
)

// Validate checks a Config before anything runs. Errors are *field.Error.
func (c *Config) Validate() error {
	switch {
	case len(c.Stages) == 0:
		return field.Errorf(FieldStages, "no stage to run; list some of %s", names())
	case has(c.Stages, Build) && c.Builder == nil:
		return field.Errorf(FieldBuilder, "the build stage has no builder; give a Dockerfile build or a daemonless one")
	case has(c.Stages, Test) && c.Tester == nil:
		return field.Errorf(FieldTester, "the test stage has no tester; configure the policy checks, structure tests or smoke run")
	case !has(c.Stages, Build) && c.Source == nil && (has(c.Stages, Test) || has(c.Stages, Push)):
		return field.Errorf(FieldSource, "without the build stage there is no image; give an image built earlier (oci:DIR, tarball:FILE or docker:NAME)")
	case has(c.Stages, Push) && len(c.Images) == 0:
		return field.Errorf(FieldImages, `the push stage has nowhere to push; give one or more repositories, e.g. "docker.io/<namespace>/<name>"`)
	case has(c.Stages, Deploy) && c.Deployer == nil:
		return field.Errorf(FieldDeployer, "the deploy stage has no deployer; give the release's manifests (files, a kustomization or a Helm chart)")
	}
	return nil
}

// Run runs the configured stages in order. On error the Result holds what was
// done before the failing stage, and the error names the stage.
func Run(ctx context.Context, cfg Config, obs Observer) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Pusher == nil {
		p, err := push.New()
		if err != nil {
			return nil, err
		}
		cfg.Pusher = p
	}
	res := &Result{}
	if err := res.prepare(ctx, cfg); err != nil {
		return res, err
	}
	if !has(cfg.Stages, Build) && !has(cfg.Stages, Test) && !has(cfg.Stages, Push) {
		// A deploy alone: the image was pushed by an earlier job.
		return res, res.deploy(ctx, cfg, obs)
	}
	img, engineRef, err := res.image(ctx, cfg, obs)
	if err != nil {
		return res, err
	}
	if has(cfg.Stages, Test) {
		if err := res.stage(obs, Test, func() error { return res.test(ctx, cfg, img, engineRef) }); err != nil {
			return res, err
		}
	}
	if has(cfg.Stages, Push) {
		err := res.stage(obs, Push, func() error {
			pr, err := cfg.Pusher.Push(ctx, img, cfg.Images, res.Tags)
			res.Push = pr
			return err
		})
		if err != nil {
			return res, err
		}
	}
	if has(cfg.Stages, Deploy) {
		return res, res.deploy(ctx, cfg, obs)
	}
	return res, nil
}

// prepare checks, before anything slow happens, what would fail later: the
// tags and repositories of the push, the cluster and manifests of the deploy.
// A bad tag policy or an unreachable cluster must not cost a build.
func (r *Result) prepare(ctx context.Context, cfg Config) error {
	if has(cfg.Stages, Push) {
		tags, err := metadata.Tags(cfg.Meta.Context, cfg.Meta.Policies, cfg.Meta.Version, cfg.Meta.RawTags, cfg.Names)
		if err != nil {
			return err
		}
		r.Tags = tags
		if err := cfg.Pusher.Check(cfg.Images, tags); err != nil {
			return err
		}
	}
	if has(cfg.Stages, Deploy) {
		var repos []string
		if has(cfg.Stages, Push) {
			repos = cfg.Images
		}
		if err := cfg.Deployer.Prepare(ctx, repos); err != nil {
			// The deploy failed before anything was built: its verdict is
			// there for the workflow to read, as for a failed apply.
			r.Deploy = &deploy.Result{Outcome: deploy.Failed}
			return fmt.Errorf("%s: %w", Deploy, err)
		}
	}
	return nil
}

// image builds the image, or takes it from Source without the build stage,
// and records its digest. engineRef names it in the Docker engine when the
// build left it there.
func (r *Result) image(ctx context.Context, cfg Config, obs Observer) (img v1.Image, engineRef string, err error) {
	if has(cfg.Stages, Build) {
		err = r.stage(obs, Build, func() error {
			img, engineRef, err = r.build(ctx, cfg)
			return err
		})
	} else {
		img, err = cfg.Source(ctx)
	}
	if err != nil {
		return nil, "", err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, "", fmt.Errorf("computing the image digest: %w", err)
	}
	r.Image, r.Digest = img, d
	obs.Infof("image %s", d)
	return img, engineRef, nil
}

// build runs the builder and labels what it built.
func (r *Result) build(ctx context.Context, cfg Config) (v1.Image, string, error) {
	built, err := cfg.Builder.Build(ctx)
	if err != nil {
		return nil, "", err
	}
	// A BuildKit build leaves the image in the engine: the test stage runs
	// that one instead of loading it again.
	var engineRef string
	if e, ok := built.(*dockerfile.Image); ok {
		engineRef = e.ID()
	}
	r.Labels = metadata.Labels(cfg.Meta.Context, cfg.Meta.Title, cfg.Meta.Version, cfg.Meta.Created)
	img, err := metadata.Annotate(built, r.Labels, cfg.Meta.Annotations)
	if err != nil {
		return nil, "", fmt.Errorf("labelling the image: %w", err)
	}
	if cfg.Output != "" {
		if err := writeLayout(cfg.Output, img); err != nil {
			return nil, "", err
		}
	}
	return img, engineRef, nil
}

// test runs the tester; a failed test is an error, so nothing is pushed.
func (r *Result) test(ctx context.Context, cfg Config, img v1.Image, engineRef string) error {
	rep, err := cfg.Tester.Test(ctx, img, engineRef)
	r.Test = rep
	if err != nil {
		return err
	}
	if rep.Failed() {
		msg := "the image failed its tests (" + rep.Verdict() + ")"
		if has(cfg.Stages, Push) {
			msg += "; nothing was pushed"
		}
		return errors.New(msg)
	}
	return nil
}

// deploy runs the deploy stage with what the push stage pushed, if it ran.
func (r *Result) deploy(ctx context.Context, cfg Config, obs Observer) error {
	var refs []string
	if r.Push != nil {
		for _, reg := range r.Push.Registries {
			if reg.Err == nil {
				refs = append(refs, reg.Ref)
			}
		}
	}
	return r.stage(obs, Deploy, func() error {
		dr, err := cfg.Deployer.Deploy(ctx, refs)
		r.Deploy = dr
		return err
	})
}

func (r *Result) stage(obs Observer, s Stage, f func() error) error {
	end := obs.Group(string(s))
	start := time.Now()
	err := f()
	d := time.Since(start)
	end()
	r.Stages = append(r.Stages, StageResult{Stage: s, Duration: d, Err: err})
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	obs.Infof("%s done in %s", s, d.Round(time.Millisecond))
	return nil
}

func writeLayout(dir string, img v1.Image) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return field.Errorf(FieldOutput, "writing an OCI layout to %s: %w", dir, err)
	}
	if err := p.AppendImage(img); err != nil {
		return field.Errorf(FieldOutput, "writing the image to %s: %w", dir, err)
	}
	return nil
}
