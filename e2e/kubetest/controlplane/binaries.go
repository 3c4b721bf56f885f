package controlplane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The versions pinned by the wrapper modules in e2e/cluster; a test keeps them in
// step with those go.mod files. The cache holds each component under
// <cache>/<component>/<version>/, written by e2e/cluster/build.sh; etcd and kwok
// are built in Kubernetes' module, so they sit beside its binaries.
const (
	KubernetesVersion  = "v1.37.2"
	EtcdVersion        = "v3.7.0"
	KwokVersion        = "v0.8.0"
	KubeconformVersion = "v0.8.0"
)

// BuildHint is how to provide the binaries when they are missing.
const BuildHint = "run `make cluster-build` (e2e/cluster/build.sh: 25 minutes or more the first time, a second once cached)"

// Binaries are the programs a control plane runs.
type Binaries struct {
	Etcd              string
	APIServer         string
	ControllerManager string
	Scheduler         string
	Kwok              string
}

// CacheDirs returns the directories searched for built components, in order:
// $DEPLOY_ACTION_CACHE when set, else the directories build.sh would choose.
func CacheDirs(getenv func(string) string) []string {
	if d := getenv("DEPLOY_ACTION_CACHE"); d != "" {
		return []string{d}
	}
	dirs := []string{"/var/cache/deploy-action"}
	if x := getenv("XDG_CACHE_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "deploy-action"))
	} else if h := getenv("HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, ".cache", "deploy-action"))
	}
	return dirs
}

// Component returns the directory of a completely built component (build.sh writes
// .complete last), or an error that says how to build it.
func Component(getenv func(string) string, name, version string) (string, error) {
	for _, root := range CacheDirs(getenv) {
		dir := filepath.Join(root, name, version)
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%s %s is not built in %s", name, version, strings.Join(CacheDirs(getenv), " or "))
}

// FindBinaries locates the control-plane programs in the cache.
func FindBinaries(getenv func(string) string) (Binaries, error) {
	var missing []string
	dir := func(name, version string) string {
		d, err := Component(getenv, name, version)
		if err != nil {
			missing = append(missing, name+" "+version)
		}
		return d
	}
	kube := dir("kube", KubernetesVersion)
	if len(missing) > 0 {
		return Binaries{}, fmt.Errorf("%s not built in %s", strings.Join(missing, ", "), strings.Join(CacheDirs(getenv), " or "))
	}
	b := Binaries{
		Etcd:              filepath.Join(kube, "etcd"),
		APIServer:         filepath.Join(kube, "kube-apiserver"),
		ControllerManager: filepath.Join(kube, "kube-controller-manager"),
		Scheduler:         filepath.Join(kube, "kube-scheduler"),
		Kwok:              filepath.Join(kube, "kwok"),
	}
	return b, b.check()
}

func (b Binaries) check() error {
	var errs []error
	for _, p := range []string{b.Etcd, b.APIServer, b.ControllerManager, b.Scheduler, b.Kwok} {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
		} else if fi.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s is not executable", p))
		}
	}
	return errors.Join(errs...)
}

// Kubectl returns the path of the cached kubectl of the pinned release.
func Kubectl(getenv func(string) string) (string, error) {
	d, err := Component(getenv, "kube", KubernetesVersion)
	if err != nil {
		return "", err
	}
	p := filepath.Join(d, "kubectl")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w (a build from before kubectl was added; rebuild)", err)
	}
	return p, nil
}

// Kubeconform returns the path of the cached kubeconform binary.
func Kubeconform(getenv func(string) string) (string, error) {
	d, err := Component(getenv, "kubeconform", KubeconformVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "kubeconform"), nil
}

// Schemas returns the directory of the JSON schemas generated from the pinned
// Kubernetes release; use it with kubeconform -schema-location
// '<dir>/{{ .ResourceKind }}{{ .KindSuffix }}.json'.
func Schemas(getenv func(string) string) (string, error) {
	return Component(getenv, "schemas", KubernetesVersion)
}
