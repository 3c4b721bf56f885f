package smoke

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/moby/moby/client"
	"k8s.io/utils/clock"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/mask"
)

// Option configures a Runner.
type Option func(*options) error

type options struct {
	api       *client.Client
	host      string
	getenv    func(string) string
	log       io.Writer
	masker    mask.Interface
	run       string
	clock     clock.Clock
	poll      time.Duration
	probeFrom string
	http      *http.Client
	logLines  int
	names     field.Names
}

func defaultOptions() options {
	return options{
		getenv:   os.Getenv,
		log:      io.Discard,
		clock:    clock.RealClock{},
		poll:     250 * time.Millisecond,
		logLines: 60,
	}
}

// WithDockerClient uses an engine API client made by the caller (with
// pkg/engine), who keeps ownership of it. It excludes WithDockerHost.
func WithDockerClient(c *client.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithDockerClient: the client is nil")
		}
		if o.host != "" {
			return errors.New("WithDockerClient and WithDockerHost exclude each other")
		}
		o.api = c
		return nil
	}
}

// WithDockerHost sets the engine's address, for a Runner that makes its own
// client by pkg/engine's rules (default: DOCKER_HOST, then the local socket).
// It excludes WithDockerClient.
func WithDockerHost(host string) Option {
	return func(o *options) error {
		if host == "" {
			return errors.New("WithDockerHost: the host is empty")
		}
		if o.api != nil {
			return errors.New("WithDockerClient and WithDockerHost exclude each other")
		}
		o.host = host
		return nil
	}
}

// WithGetenv sets how the environment is read when the Runner makes its own
// engine client: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH,
// DOCKER_API_VERSION (default os.Getenv).
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("WithGetenv: the function is nil")
		}
		o.getenv = getenv
		return nil
	}
}

// WithLog sets where the run reports its steps, one line each (default: nowhere).
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			w = io.Discard
		}
		o.log = w
		return nil
	}
}

// WithMasker sets the run's masker (the reporter's, say): the run adds the
// values of Secrets to it, and masks its step messages, logs and progress
// lines with it; passwords in URLs are masked too. Errors are returned as they
// are, for the caller to mask where it prints them. The default is a masker
// of the Runner's own.
func WithMasker(m mask.Interface) Option {
	return func(o *options) error {
		if m == nil {
			return errors.New("WithMasker: the masker is nil")
		}
		o.masker = m
		return nil
	}
}

// WithRunID sets the run's ID, the value of the label on everything the run
// creates (default: random). A test uses it to check that nothing is left.
func WithRunID(id string) Option {
	return func(o *options) error {
		if !nameRE.MatchString(id) {
			return fmt.Errorf("WithRunID: %q is not usable in names; use lower-case letters and digits", id)
		}
		o.run = id
		return nil
	}
}

// WithClock sets the clock that times the steps and their waits (default
// the wall clock); a fake clock (k8s.io/utils/clock/testing) makes them
// deterministic in tests.
func WithClock(c clock.Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithClock: the clock is nil")
		}
		o.clock = c
		return nil
	}
}

// WithPollInterval sets how often states and readiness are polled (default 250 ms).
func WithPollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("WithPollInterval: %s is not positive", d)
		}
		o.poll = d
		return nil
	}
}

// WithProbeFrom says that this program runs in the engine's container id (a
// Docker action does): the readiness probe then joins the run's network and
// reaches the image by its address there, since a port published on the
// host's loopback is not this container's loopback.
func WithProbeFrom(containerID string) Option {
	return func(o *options) error {
		if containerID == "" {
			return errors.New("WithProbeFrom: the container ID is empty")
		}
		o.probeFrom = containerID
		return nil
	}
}

// WithHTTPClient sets the client of the readiness probe (default: one with a
// 2 s timeout per request).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithHTTPClient: the client is nil")
		}
		o.http = c
		return nil
	}
}

// WithLogLines sets how many of a container's last output lines a failure
// shows (default 60).
func WithLogLines(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithLogLines: %d is not a positive number of lines", n)
		}
		o.logLines = n
		return nil
	}
}

// WithFieldNames names Config's fields as the user sets them, for the fixes
// that point at a setting (the timeout to raise, the services to check);
// without it, a fix names the field (FieldTimeout).
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}
