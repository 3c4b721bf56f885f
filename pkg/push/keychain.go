package push

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Credential is a user name and password (or access token) for one registry.
type Credential struct {
	// Registry is the registry host, e.g. "docker.io", "ghcr.io" or
	// "127.0.0.1:5000"; "https://" and a trailing path are tolerated.
	Registry string
	Username string
	Password string
}

// String never shows the password, so a Credential is safe to print or log.
func (c Credential) String() string {
	return fmt.Sprintf("%s@%s", c.Username, c.Registry)
}

// GoString is what %#v prints; it hides the password as well.
func (c Credential) GoString() string {
	return fmt.Sprintf("push.Credential{Registry:%q, Username:%q, Password:\"***\"}", c.Registry, c.Username)
}

// Keychain finds credentials for a registry, first match wins:
//  1. creds, the credentials given explicitly (e.g. inputs "username"/"password");
//  2. the Docker config file, $DOCKER_CONFIG/config.json or $HOME/.docker/config.json,
//     credential helpers included (what docker login writes);
//  3. for ghcr.io, $GITHUB_TOKEN as the password of $GITHUB_ACTOR.
//
// getenv is how the environment is read (os.Getenv in a program). Credentials
// with neither user name nor password are ignored, so empty inputs are harmless.
func Keychain(getenv func(string) string, creds ...Credential) authn.Keychain {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return authn.NewMultiKeychain(
		explicit(creds),
		dockerConfig{getenv: getenv},
		githubToken{getenv: getenv},
	)
}

type explicit []Credential

func (e explicit) Resolve(target authn.Resource) (authn.Authenticator, error) {
	for _, c := range e {
		if c.Username == "" && c.Password == "" {
			continue
		}
		host := normalizeRegistry(c.Registry)
		reg, err := name.NewRegistry(host, name.StrictValidation)
		if err != nil || host == "" {
			return nil, field.Errorf(FieldRegistry, `%q is not a registry host; use "<host>[:<port>]", e.g. "docker.io" or "ghcr.io"`, c.Registry)
		}
		if reg.RegistryStr() != target.RegistryStr() {
			continue
		}
		if c.Password == "" {
			return nil, field.Errorf(FieldPassword, "empty for user %q at %s; set it from a secret, e.g. ${{ secrets.REGISTRY_PASSWORD }}", c.Username, c.Registry)
		}
		return &authn.Basic{Username: c.Username, Password: c.Password}, nil
	}
	return authn.Anonymous, nil
}

// normalizeRegistry accepts what people paste: "https://index.docker.io/v1/",
// "ghcr.io/", " docker.io ".
func normalizeRegistry(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimPrefix(s, "http://")
	s, _, _ = strings.Cut(s, "/")
	return s
}

// dockerConfig reads the file docker login writes, with the docker CLI's own
// loader, so credential helpers ("credsStore", "credHelpers") work as they do
// for docker.
type dockerConfig struct {
	getenv func(string) string
}

func (d dockerConfig) Resolve(target authn.Resource) (authn.Authenticator, error) {
	dir := d.getenv("DOCKER_CONFIG")
	if dir == "" {
		home := d.getenv("HOME")
		if home == "" {
			return authn.Anonymous, nil
		}
		dir = filepath.Join(home, ".docker")
	}
	path := filepath.Join(dir, config.ConfigFileName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return authn.Anonymous, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Docker config %s: %w", path, err)
	}
	defer f.Close()
	cf, err := config.LoadFromReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading the Docker config %s: %w; fix it or run docker login again", path, err)
	}
	// The same keys docker and go-containerregistry look up, in the same order.
	for _, key := range []string{target.String(), target.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		ac, err := cf.GetAuthConfig(key)
		if err != nil {
			return nil, fmt.Errorf("reading credentials for %s from %s: %w", key, path, err)
		}
		if ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
			continue
		}
		return authn.FromConfig(authn.AuthConfig{
			Username:      ac.Username,
			Password:      ac.Password,
			Auth:          ac.Auth,
			IdentityToken: ac.IdentityToken,
			RegistryToken: ac.RegistryToken,
		}), nil
	}
	return authn.Anonymous, nil
}

// githubToken lets a workflow push to GHCR with the job's own token.
type githubToken struct {
	getenv func(string) string
}

// ghcrUser is sent when GITHUB_ACTOR is unset: GHCR checks the token, not the name.
const ghcrUser = "x-access-token"

func (g githubToken) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if target.RegistryStr() != "ghcr.io" {
		return authn.Anonymous, nil
	}
	token := g.getenv("GITHUB_TOKEN")
	if token == "" {
		return authn.Anonymous, nil
	}
	user := g.getenv("GITHUB_ACTOR")
	if user == "" {
		user = ghcrUser
	}
	return &authn.Basic{Username: user, Password: token}, nil
}
