package pipeline_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/deploy"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/imagesource"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/metadata"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
)

type nopObserver struct{ lines []string }

func (o *nopObserver) Group(title string) func() {
	o.lines = append(o.lines, "group "+title)
	return func() {}
}
func (o *nopObserver) Infof(f string, a ...any) { o.lines = append(o.lines, f) }

// countingBuilder records whether it was asked to build.
type countingBuilder struct {
	calls int
	img   v1.Image
	err   error
}

func (b *countingBuilder) Build(context.Context) (v1.Image, error) { b.calls++; return b.img, b.err }

func newRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	return u.Host
}

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestRunBuildAndPush(t *testing.T) {
	t.Parallel()
	host := newRegistry(t)
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "index.html"), []byte("hi"), 0o644))
	b, err := layers.New(layers.Spec{Base: "scratch", Layers: []layers.Layer{{Source: src, Target: "/srv"}}},
		layers.WithGetenv(func(string) string { return "" }))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "layout")

	res, err := pipeline.Run(context.Background(), pipeline.Config{
		Stages:  []pipeline.Stage{pipeline.Build, pipeline.Push},
		Builder: b,
		Output:  out,
		Meta: pipeline.Meta{
			Context:  metadata.Context{SHA: "0123456789abcdef0123456789abcdef01234567", Repository: "acme/shop", RunNumber: 7},
			Version:  "1.4.0",
			Policies: []string{"version", "latest", "run"},
			Created:  created,
		},
		Images: []string{host + "/acme/shop"},
	}, &nopObserver{})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.4.0", "latest", "v7"}, res.Tags)
	require.Len(t, res.Stages, 2)

	// Every tag resolves to the digest the run reports, and the labels are on the image.
	for _, tag := range res.Tags {
		ref, err := name.ParseReference(host + "/acme/shop:" + tag)
		require.NoError(t, err)
		desc, err := remote.Get(ref)
		require.NoError(t, err)
		assert.Equal(t, res.Digest, desc.Digest, tag)
	}
	cf, err := res.Image.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		metadata.LabelSource:   "https://github.com/acme/shop",
		metadata.LabelRevision: "0123456789abcdef0123456789abcdef01234567",
		metadata.LabelCreated:  "2026-01-02T03:04:05Z",
		metadata.LabelVersion:  "1.4.0",
		metadata.LabelTitle:    "shop",
	}, cf.Config.Labels)

	// The layout written by the build is the same image, so a later push of it
	// (another job) pushes the same digest.
	img, err := imagesource.Resolve(context.Background(), "oci:"+out)
	require.NoError(t, err)
	d, err := img.Digest()
	require.NoError(t, err)
	assert.Equal(t, res.Digest, d)

	res2, err := pipeline.Run(context.Background(), pipeline.Config{
		Stages: []pipeline.Stage{pipeline.Push},
		Source: func(ctx context.Context) (v1.Image, error) { return imagesource.Resolve(ctx, "oci:"+out) },
		Meta:   pipeline.Meta{Policies: []string{"version"}, Version: "1.4.1"},
		Images: []string{host + "/acme/other"},
	}, &nopObserver{})
	require.NoError(t, err)
	assert.Equal(t, res.Digest, res2.Digest)
}

func TestRunBadTagPolicyBuildsNothing(t *testing.T) {
	t.Parallel()
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	b := &countingBuilder{img: img}
	_, err = pipeline.Run(context.Background(), pipeline.Config{
		Stages:  []pipeline.Stage{pipeline.Build, pipeline.Push},
		Builder: b,
		Meta:    pipeline.Meta{Policies: []string{"nightly"}},
		Images:  []string{"127.0.0.1:1/acme/shop"},
	}, &nopObserver{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown tag policy "nightly"`)
	assert.Zero(t, b.calls, "a bad tag policy must be caught before the build")
}

func TestRunBuildFailureNamesStage(t *testing.T) {
	t.Parallel()
	b := &countingBuilder{err: errors.New(`step "RUN make" failed`)}
	res, err := pipeline.Run(context.Background(), pipeline.Config{
		Stages:  []pipeline.Stage{pipeline.Build, pipeline.Push},
		Builder: b,
		Meta:    pipeline.Meta{Policies: []string{"latest"}},
		Images:  []string{"127.0.0.1:1/acme/shop"},
	}, &nopObserver{})
	require.Error(t, err)
	assert.Equal(t, `build: step "RUN make" failed`, err.Error())
	require.Len(t, res.Stages, 1)
	assert.Nil(t, res.Push, "nothing is pushed after a failed build")
}

func TestValidate(t *testing.T) {
	t.Parallel()
	img, _ := random.Image(8, 1)
	b := &countingBuilder{img: img}
	for _, tc := range []struct {
		name  string
		cfg   pipeline.Config
		field string
		want  string
	}{
		{"no stages", pipeline.Config{}, pipeline.FieldStages, "no stage to run"},
		{"build without builder", pipeline.Config{Stages: []pipeline.Stage{pipeline.Build}}, pipeline.FieldBuilder, "the build stage has no builder"},
		{"test without tester", pipeline.Config{Stages: []pipeline.Stage{pipeline.Build, pipeline.Test}, Builder: b}, pipeline.FieldTester, "the test stage has no tester"},
		{"push without image", pipeline.Config{Stages: []pipeline.Stage{pipeline.Push}, Images: []string{"x/y"}}, pipeline.FieldSource, "there is no image"},
		{"push without images", pipeline.Config{Stages: []pipeline.Stage{pipeline.Build, pipeline.Push}, Builder: b}, pipeline.FieldImages, "nowhere to push"},
		{"deploy without deployer", pipeline.Config{Stages: []pipeline.Stage{pipeline.Deploy}}, pipeline.FieldDeployer, "no deployer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			var fe *field.Error
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Err.Error(), tc.want)
		})
	}
}

func TestParseStages(t *testing.T) {
	t.Parallel()
	got, err := pipeline.ParseStages([]string{"push, build"})
	require.NoError(t, err)
	assert.Equal(t, []pipeline.Stage{pipeline.Build, pipeline.Push}, got, "stages run in pipeline order")
	got, err = pipeline.ParseStages([]string{"deploy test\nbuild"})
	require.NoError(t, err)
	assert.Equal(t, []pipeline.Stage{pipeline.Build, pipeline.Test, pipeline.Deploy}, got, "spaces and newlines separate too")
	for _, bad := range [][]string{{"build,deploy-now"}, nil, {" , "}} {
		_, err = pipeline.ParseStages(bad)
		var fe *field.Error
		require.True(t, errors.As(err, &fe), "%v", err)
		assert.Equal(t, pipeline.FieldStages, fe.Field)
	}
	_, err = pipeline.ParseStages([]string{"build,deploy-now"})
	assert.ErrorContains(t, err, `unknown stage "deploy-now"; use`)
}

// stubTester returns a fixed report; the tester is the pipeline's own interface.
type stubTester struct {
	report    *imagetest.Report
	engineRef string
}

func (s *stubTester) Test(_ context.Context, _ v1.Image, engineRef string) (*imagetest.Report, error) {
	s.engineRef = engineRef
	return s.report, nil
}

func TestFailedTestPushesNothing(t *testing.T) {
	t.Parallel()
	host := newRegistry(t)
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	tester := &stubTester{report: &imagetest.Report{Cases: []imagetest.Case{
		{Suite: imagetest.SuitePolicy, Name: "user", Status: imagetest.Fail, Message: "runs as root"},
		{Suite: imagetest.SuitePolicy, Name: "size", Status: imagetest.Warn},
	}}}
	res, err := pipeline.Run(context.Background(), pipeline.Config{
		Stages:  []pipeline.Stage{pipeline.Build, pipeline.Test, pipeline.Push},
		Builder: &countingBuilder{img: img},
		Tester:  tester,
		Meta:    pipeline.Meta{Policies: []string{"latest"}},
		Images:  []string{host + "/acme/shop"},
	}, &nopObserver{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test: the image failed its tests (")
	assert.Contains(t, err.Error(), "nothing was pushed")
	assert.Nil(t, res.Push)
	require.NotNil(t, res.Test)
	ref, err := name.ParseReference(host + "/acme/shop:latest")
	require.NoError(t, err)
	_, err = remote.Head(ref)
	assert.Error(t, err, "no tag may exist after a failed test")

	// A passing report lets the push go on.
	tester.report = &imagetest.Report{Cases: []imagetest.Case{{Suite: imagetest.SuitePolicy, Name: "user", Status: imagetest.Pass}}}
	_, err = pipeline.Run(context.Background(), pipeline.Config{
		Stages:  []pipeline.Stage{pipeline.Build, pipeline.Test, pipeline.Push},
		Builder: &countingBuilder{img: img},
		Tester:  tester,
		Meta:    pipeline.Meta{Policies: []string{"latest"}},
		Images:  []string{host + "/acme/shop"},
	}, &nopObserver{})
	require.NoError(t, err)
	_, err = remote.Head(ref)
	assert.NoError(t, err)
}

// recordingDeployer records what the deploy stage was given.
type recordingDeployer struct {
	prepared   [][]string
	deployed   [][]string
	prepareErr error
}

func (d *recordingDeployer) Prepare(_ context.Context, repos []string) error {
	d.prepared = append(d.prepared, repos)
	return d.prepareErr
}

func (d *recordingDeployer) Deploy(_ context.Context, refs []string) (*deploy.Result, error) {
	d.deployed = append(d.deployed, refs)
	return &deploy.Result{Outcome: deploy.Succeeded}, nil
}

// TestDeployStage: the deploy stage is prepared with the repositories before
// anything is built, and deploys what was pushed, by digest.
func TestDeployStage(t *testing.T) {
	t.Parallel()
	host := newRegistry(t)
	img, err := random.Image(512, 1)
	require.NoError(t, err)
	b := &countingBuilder{img: img}
	d := &recordingDeployer{}
	res, err := pipeline.Run(context.Background(), pipeline.Config{
		Stages:   []pipeline.Stage{pipeline.Build, pipeline.Push, pipeline.Deploy},
		Builder:  b,
		Meta:     pipeline.Meta{Policies: []string{"version"}, Version: "1.0.0"},
		Images:   []string{host + "/acme/shop"},
		Deployer: d,
	}, &nopObserver{})
	require.NoError(t, err)
	require.NotNil(t, res.Deploy)
	assert.Equal(t, [][]string{{host + "/acme/shop"}}, d.prepared)
	assert.Equal(t, [][]string{{host + "/acme/shop@" + res.Digest.String()}}, d.deployed)
	assert.Equal(t, pipeline.Deploy, res.Stages[len(res.Stages)-1].Stage)

	t.Run("a failed prepare costs no build", func(t *testing.T) {
		b := &countingBuilder{img: img}
		d := &recordingDeployer{prepareErr: errors.New("cluster unreachable")}
		_, err := pipeline.Run(context.Background(), pipeline.Config{
			Stages: []pipeline.Stage{pipeline.Build, pipeline.Push, pipeline.Deploy}, Builder: b,
			Meta: pipeline.Meta{Policies: []string{"latest"}}, Images: []string{host + "/acme/shop"}, Deployer: d,
		}, &nopObserver{})
		require.ErrorContains(t, err, "deploy: cluster unreachable")
		assert.Zero(t, b.calls)
		assert.Empty(t, d.deployed)
	})
	t.Run("a deploy alone needs no image", func(t *testing.T) {
		d := &recordingDeployer{}
		res, err := pipeline.Run(context.Background(), pipeline.Config{Stages: []pipeline.Stage{pipeline.Deploy}, Deployer: d}, &nopObserver{})
		require.NoError(t, err)
		assert.Nil(t, res.Image)
		assert.Equal(t, [][]string{nil}, d.prepared)
		assert.Equal(t, [][]string{nil}, d.deployed)
	})
	t.Run("no deployer", func(t *testing.T) {
		_, err := pipeline.Run(context.Background(), pipeline.Config{Stages: []pipeline.Stage{pipeline.Deploy}}, &nopObserver{})
		var fe *field.Error
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, pipeline.FieldDeployer, fe.Field)
	})
}
