package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// confined is a read-only file system that refuses every path outside root
// (symbolic links resolved), so that a kustomization or a chart in a pull
// request cannot read the runner's files (a kubeconfig, a token) into objects
// sent to the cluster. Flux confines kustomize the same way.
type confined struct {
	fs   filesys.FileSystem
	root string // absolute, clean, symbolic links resolved
	// names names the setting that sets root, in the refusal.
	names field.Names
}

func newConfined(fs filesys.FileSystem, root string, names field.Names) (*confined, error) {
	abs, err := absolute(root)
	if err != nil {
		return nil, fmt.Errorf("manifests root %q: %w", root, err)
	}
	if !fs.IsDir(abs) {
		return nil, fmt.Errorf("manifests root %q is not a directory", root)
	}
	return &confined{fs: fs, root: abs, names: names}, nil
}

// absolute cleans p, makes it absolute and resolves its symbolic links as far
// as they exist on disk (an in-memory file system has none).
func absolute(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	return abs, nil
}

func (c *confined) check(p string) error {
	abs, err := absolute(p)
	if err != nil {
		return err
	}
	if abs == c.root || strings.HasPrefix(abs, c.root+string(filepath.Separator)) || c.root == string(filepath.Separator) {
		return nil
	}
	return fmt.Errorf("%s is outside %s; manifests may only use files within it (%s)", p, c.root, c.names.Of(FieldRoot))
}

func (c *confined) refuse(p string) error {
	return fmt.Errorf("%s: rendering manifests writes no file", p)
}

func (c *confined) Create(p string) (filesys.File, error) { return nil, c.refuse(p) }
func (c *confined) Mkdir(p string) error                  { return c.refuse(p) }
func (c *confined) MkdirAll(p string) error               { return c.refuse(p) }
func (c *confined) RemoveAll(p string) error              { return c.refuse(p) }
func (c *confined) WriteFile(p string, _ []byte) error    { return c.refuse(p) }

func (c *confined) Open(p string) (filesys.File, error) {
	if err := c.check(p); err != nil {
		return nil, err
	}
	return c.fs.Open(p)
}

func (c *confined) IsDir(p string) bool { return c.check(p) == nil && c.fs.IsDir(p) }

func (c *confined) Exists(p string) bool { return c.check(p) == nil && c.fs.Exists(p) }

func (c *confined) ReadDir(p string) ([]string, error) {
	if err := c.check(p); err != nil {
		return nil, err
	}
	return c.fs.ReadDir(p)
}

func (c *confined) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	d, f, err := c.fs.CleanedAbs(p)
	if err != nil {
		return d, f, err
	}
	if err := c.check(d.Join(f)); err != nil {
		return "", "", err
	}
	return d, f, nil
}

func (c *confined) Glob(pattern string) ([]string, error) {
	all, err := c.fs.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var in []string
	for _, p := range all {
		if c.check(p) == nil {
			in = append(in, p)
		}
	}
	return in, nil
}

func (c *confined) ReadFile(p string) ([]byte, error) {
	if err := c.check(p); err != nil {
		return nil, err
	}
	return c.fs.ReadFile(p)
}

func (c *confined) Walk(p string, fn filepath.WalkFunc) error {
	if err := c.check(p); err != nil {
		return err
	}
	return c.fs.Walk(p, func(path string, info os.FileInfo, err error) error {
		if err == nil {
			err = c.check(path)
		}
		return fn(path, info, err)
	})
}
