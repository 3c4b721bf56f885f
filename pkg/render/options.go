package render

import (
	"errors"
	"fmt"
	"io"

	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Option configures Render. Options are checked before anything is read.
type Option func(*options) error

type options struct {
	fs          filesys.FileSystem
	root        string
	stdin       io.Reader
	kubeVersion chartutil.KubeVersion
	names       field.Names
}

// DefaultKubeVersion is the Kubernetes version charts see
// (.Capabilities.KubeVersion) without WithKubeVersion: the release whose API
// this program is built against. Helm's own default, v1.20, fails the
// kubeVersion constraint of many current charts.
const DefaultKubeVersion = "v1.37.0"

// Defaults live here and nowhere else.
func defaults() *options {
	kv, err := chartutil.ParseKubeVersion(DefaultKubeVersion)
	if err != nil {
		panic(err) // a constant
	}
	return &options{fs: filesys.MakeFsOnDisk(), kubeVersion: *kv}
}

func newOptions(opts []Option) (*options, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithFileSystem reads the manifests from fs instead of the disk (for example
// filesys.MakeFsInMemory()).
func WithFileSystem(fs filesys.FileSystem) Option {
	return func(o *options) error {
		if fs == nil {
			return errors.New("render.WithFileSystem: nil file system")
		}
		o.fs = fs
		return nil
	}
}

// WithRoot confines the files manifests read to the directory dir, symbolic
// links resolved: the paths of Spec.Paths, a kustomization's resources,
// generators and bases, a chart's files (Helm values files are the caller's
// own input and may be anywhere). Within dir a kustomization may use
// files outside its own directory (kubectl's --load-restrictor
// LoadRestrictionsNone, as Flux does); without WithRoot it may not (kubectl's
// default). Give the repository's top directory.
func WithRoot(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return field.Errorf(FieldRoot, "no directory given; give the directory manifests may read from, e.g. the repository's top directory")
		}
		o.root = dir
		return nil
	}
}

// WithStdin is what the path "-" reads.
func WithStdin(r io.Reader) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("render.WithStdin: nil reader")
		}
		o.stdin = r
		return nil
	}
}

// WithKubeVersion is the Kubernetes version Helm charts see
// (.Capabilities.KubeVersion, and their kubeVersion constraint): give the
// target cluster's, e.g. "v1.31.4". Default: DefaultKubeVersion.
func WithKubeVersion(v string) Option {
	return func(o *options) error {
		kv, err := chartutil.ParseKubeVersion(v)
		if err != nil {
			return fmt.Errorf("the cluster's version %q is not a Kubernetes version Helm can read (%v)", v, err)
		}
		o.kubeVersion = *kv
		return nil
	}
}

// WithFieldNames names the settings that messages refer to in the caller's
// terms (the action's inputs, in "set <format> to auto"); without it they are
// named by their Field constants.
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}
