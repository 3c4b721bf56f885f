package detect

import (
	"bytes"
	"errors"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/google/shlex"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"
)

// dockerfile is what the final stage of a Dockerfile says about running the
// app.
type dockerfile struct {
	file       string
	expose     []int
	exposeLine int
	cmd        []string // ENTRYPOINT then CMD, as argv
	cmdLine    int
}

// parseDockerfile reads a Dockerfile with BuildKit's own parser.
func parseDockerfile(name string, b []byte) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, &FileError{File: name, Err: err}
	}
	df := &dockerfile{file: name}
	var entry, cmd []string
	var entryLine, cmdLine int
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "from":
			*df = dockerfile{file: name}
			entry, cmd, entryLine, cmdLine = nil, nil, 0, 0
		case "expose":
			for a := n.Next; a != nil; a = a.Next {
				port, _, _ := strings.Cut(a.Value, "/")
				if p, err := strconv.Atoi(port); err == nil {
					df.expose = append(df.expose, p)
					if df.exposeLine == 0 {
						df.exposeLine = n.StartLine
					}
				}
			}
		case "entrypoint":
			entry, entryLine = instructionArgs(n), n.StartLine
			cmd = nil // an ENTRYPOINT resets the CMD of earlier instructions
		case "cmd":
			cmd, cmdLine = instructionArgs(n), n.StartLine
		}
	}
	df.cmd = append(entry, cmd...)
	df.cmdLine = cmdLine
	if entryLine != 0 && (cmdLine == 0 || entryLine < cmdLine) {
		df.cmdLine = entryLine
	}
	return df, nil
}

func instructionArgs(n *parser.Node) []string {
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	if !n.Attributes["json"] && len(args) == 1 {
		if split, err := shlex.Split(args[0]); err == nil {
			return split
		}
	}
	return args
}

// existing finds the delivery files the service has: Dockerfile,
// .dockerignore, Kubernetes manifests, a kustomization and a Helm chart.
func (c *svc) existing() error {
	s, t := c.s, c.d.t
	if p := join(s.Dir, "Dockerfile"); t.has(p) {
		s.Existing.Dockerfile = p
		c.note("has a Dockerfile", p, 0)
		b, err := t.read(p)
		if err == nil {
			df, err := parseDockerfile(p, b)
			if err != nil {
				return err
			}
			c.docker = df
		}
	}
	if p := join(s.Dir, ".dockerignore"); t.has(p) {
		s.Existing.Dockerignore = p
		c.note("has a .dockerignore", p, 0)
	}

	var charts, kustomizations []string
	for _, f := range c.files {
		switch path.Base(f.path) {
		case "Chart.yaml":
			charts = append(charts, path.Dir(f.path))
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			kustomizations = append(kustomizations, path.Dir(f.path))
		}
	}
	insideAny := func(p string, dirs []string) bool {
		for _, d := range dirs {
			if within(p, d) {
				return true
			}
		}
		return false
	}
	manifestDirs := map[string]bool{}
	for _, f := range c.files {
		ext := path.Ext(f.path)
		if ext != ".yaml" && ext != ".yml" || strings.HasPrefix(f.path, ".github/") ||
			insideAny(f.path, charts) || insideAny(f.path, kustomizations) {
			continue
		}
		b, err := t.read(f.path)
		if err != nil || !isKubernetesYAML(b) {
			continue
		}
		manifestDirs[path.Dir(f.path)] = true
	}
	for d := range manifestDirs {
		if d == s.Dir || d == "." {
			continue // files among the project's own: listed one by one below
		}
		s.Existing.Manifests = append(s.Existing.Manifests, d)
	}
	for _, f := range c.files {
		if (manifestDirs[s.Dir] && path.Dir(f.path) == s.Dir) || (s.Dir == "." && manifestDirs["."] && path.Dir(f.path) == ".") {
			if ext := path.Ext(f.path); ext == ".yaml" || ext == ".yml" {
				if b, err := t.read(f.path); err == nil && isKubernetesYAML(b) {
					s.Existing.Manifests = append(s.Existing.Manifests, f.path)
				}
			}
		}
	}
	sort.Strings(s.Existing.Manifests)
	for _, m := range s.Existing.Manifests {
		c.note("has Kubernetes manifests", m, 0)
	}
	if k := shallowest(kustomizations); k != "" {
		s.Existing.Kustomization = k
		c.note("has a kustomization", join(k, "kustomization.yaml"), 0)
	}
	if ch := shallowest(charts); ch != "" {
		s.Existing.Chart = ch
		c.note("has a Helm chart", join(ch, "Chart.yaml"), 0)
	}
	return nil
}

// shallowest is the least deep directory, the first by name among equals.
func shallowest(dirs []string) string {
	best := ""
	for _, d := range dirs {
		if best == "" || strings.Count(d, "/") < strings.Count(best, "/") ||
			strings.Count(d, "/") == strings.Count(best, "/") && d < best {
			best = d
		}
	}
	return best
}

// isKubernetesYAML says whether a YAML file holds a Kubernetes object: a
// document with apiVersion and kind at the top.
func isKubernetesYAML(b []byte) bool {
	if !bytes.Contains(b, []byte("apiVersion")) || !bytes.Contains(b, []byte("kind")) {
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) || err != nil && !isTypeError(err) {
			return false
		}
		if doc.APIVersion != "" && doc.Kind != "" {
			return true
		}
	}
}

func isTypeError(err error) bool {
	var te *yaml.TypeError
	return errors.As(err, &te)
}
