package dockerfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moby/moby/client"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Option configures a Builder.
type Option func(*options) error

type options struct {
	host      string
	api       *client.Client
	progress  io.Writer
	getenv    func(string) string
	tempDir   string
	level     int
	configDir string
	blocks    int // blocks compressed at once; 0 means twice the cores
	secrets   map[string][]byte
	names     field.Names
}

// defaultOptions is the one place where the defaults live.
func defaultOptions() options {
	return options{
		progress: io.Discard,
		getenv:   os.Getenv,
		level:    gzip.BestSpeed,
	}
}

// WithHost sets the Docker engine's address (unix:///var/run/docker.sock,
// tcp://host:2376). The default is DOCKER_HOST, then the engine's local socket.
func WithHost(dockerHost string) Option {
	return func(o *options) error {
		if dockerHost == "" {
			return errors.New("WithHost: the Docker host is empty")
		}
		o.host = dockerHost
		return nil
	}
}

// WithDockerClient uses an engine API client made by the caller, who keeps
// ownership of it: Close does not close it. It excludes WithHost.
func WithDockerClient(c *client.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithDockerClient: the client is nil")
		}
		o.api = c
		return nil
	}
}

// WithProgress sets where the build log goes: one line per step, and the
// failing step's last output lines. The default discards it.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			w = io.Discard
		}
		o.progress = w
		return nil
	}
}

// WithGetenv sets how the environment is read (DOCKER_HOST, DOCKER_CERT_PATH,
// DOCKER_TLS_VERIFY, DOCKER_CONFIG, HOME, SOURCE_DATE_EPOCH). The default is os.Getenv.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("WithGetenv: the function is nil")
		}
		o.getenv = getenv
		return nil
	}
}

// WithTempDir sets where the compressed layers of built images are kept until
// the image is closed. The default is the system's temporary directory.
func WithTempDir(dir string) Option {
	return func(o *options) error {
		o.tempDir = dir
		return nil
	}
}

// WithCompressionLevel sets the gzip level of the layers (1 fastest, 9
// smallest). The default is 1, as in go-containerregistry: a CI network moves
// bytes faster than a CI core squeezes them.
func WithCompressionLevel(level int) Option {
	return func(o *options) error {
		if level < gzip.BestSpeed || level > gzip.BestCompression {
			return fmt.Errorf("WithCompressionLevel: level %d is out of range; use 1 (fastest) to 9 (smallest)", level)
		}
		o.level = level
		return nil
	}
}

// WithDockerConfig sets the directory of the config.json whose registry
// credentials the build uses to pull private base images. The default is
// DOCKER_CONFIG, then $HOME/.docker.
func WithDockerConfig(dir string) Option {
	return func(o *options) error {
		o.configDir = dir
		return nil
	}
}

// WithSecret makes a secret available to `RUN --mount=type=secret,id=<id>`
// (at /run/secrets/<id>), for the time of the step only: unlike a build
// argument, it is neither in the image, nor in its history, nor in the log.
func WithSecret(id string, value []byte) Option {
	return func(o *options) error {
		if id == "" || strings.ContainsAny(id, "/ \t\n") {
			return fmt.Errorf("WithSecret: %q is not a secret id; use a name such as \"npm_token\"", id)
		}
		if _, dup := o.secrets[id]; dup {
			return fmt.Errorf("WithSecret: secret %q is given twice", id)
		}
		if o.secrets == nil {
			o.secrets = map[string][]byte{}
		}
		o.secrets[id] = bytes.Clone(value)
		return nil
	}
}

// WithFieldNames names the Request fields that messages refer to in the
// caller's terms (the action's inputs); without it they are named by their
// Field constants.
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}
