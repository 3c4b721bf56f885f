package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
)

// startServices starts every service, then waits for each to be ready. It
// reports false when one is not; the image is then not started.
func (x *execution) startServices(ctx context.Context) (bool, error) {
	type started struct {
		svc   Service
		id    string
		check bool
		start time.Time
	}
	var all []started
	for _, svc := range x.cfg.Services {
		name := "service " + svc.Name + " starts"
		start := x.o.clock.Now()
		info, err := x.sb.Inspect(ctx, svc.Image)
		if cerrdefs.IsNotFound(err) {
			x.logf("pulling %s for service %s", svc.Image, svc.Name)
			if perr := x.sb.Pull(ctx, svc.Image); perr != nil {
				if ctx.Err() != nil {
					return false, ctx.Err()
				}
				x.step(name, start, Fail, fmt.Sprintf("image %q is not in the engine's store and pulling it failed (%v); build it first or fix its name in %s", svc.Image, perr, x.name(FieldServices)), "")
				return false, nil
			}
			info, err = x.sb.Inspect(ctx, svc.Image)
		}
		if err != nil {
			return false, fmt.Errorf("service %s: inspecting image %s: %w", svc.Name, svc.Image, err)
		}
		spec := sandbox.Spec{Name: "svc-" + svc.Name, Image: svc.Image, Env: envList(svc.Env, svc.Secrets), Network: x.network, Aliases: []string{svc.Name}}
		if len(svc.Command) > 0 {
			spec.Cmd = svc.Command
		}
		var base *container.HealthConfig
		if info.Config != nil {
			base = info.Config.Healthcheck
		}
		switch {
		case len(svc.Healthcheck) > 0:
			spec.Healthcheck = quickHealth(append([]string{"CMD"}, svc.Healthcheck...), base)
		case hasHealthcheck(info.Config):
			spec.Healthcheck = quickHealth(base.Test, base)
		}
		id, err := x.sb.Create(ctx, spec)
		if err != nil {
			return false, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		role := "service " + svc.Name
		x.track(role, id)
		if err := x.sb.Start(ctx, id); err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			x.step(name, start, Fail, fmt.Sprintf("the engine could not start %s: %v; check the service's image and command in %s", svc.Image, err, x.name(FieldServices)), role)
			return false, nil
		}
		x.logf("started service %s (%s)", svc.Name, svc.Image)
		all = append(all, started{svc: svc, id: id, check: spec.Healthcheck != nil, start: start})
	}
	for _, s := range all {
		name := "service " + s.svc.Name + " starts"
		role := "service " + s.svc.Name
		ok, msg, err := x.waitContainer(ctx, s.id, s.check, s.start)
		if err != nil {
			return false, err
		}
		if !ok {
			x.step(name, s.start, Fail, fmt.Sprintf("service %s (%s) %s; see its logs below, and its settings in %s", s.svc.Name, s.svc.Image, msg, x.name(FieldServices)), role)
			return false, nil
		}
		x.step(name, s.start, Pass, fmt.Sprintf("service %s (%s) %s", s.svc.Name, s.svc.Image, msg), "")
	}
	return true, nil
}

func hasHealthcheck(cfg *dockerspec.DockerOCIImageConfig) bool {
	return cfg != nil && cfg.Healthcheck != nil && len(cfg.Healthcheck.Test) > 0 && cfg.Healthcheck.Test[0] != "NONE"
}

// waitContainer waits until a container is healthy (check) or has kept
// running for a moment, and says how it went.
func (x *execution) waitContainer(ctx context.Context, id string, check bool, since time.Time) (bool, string, error) {
	deadline := since.Add(x.cfg.Timeout)
	var running time.Time // when the container was first seen running
	for {
		st, err := x.sb.State(ctx, id)
		if err != nil {
			return false, "", err
		}
		if st.State == nil || !st.State.Running {
			return false, exitedMessage(st), nil
		}
		elapsed := x.o.clock.Since(since)
		if check {
			if h := st.State.Health; h != nil && h.Status == container.Healthy {
				return true, fmt.Sprintf("is healthy after %s", elapsed.Round(100*time.Millisecond)), nil
			}
		} else if running.IsZero() {
			running = x.o.clock.Now()
		} else if x.o.clock.Since(running) >= settle {
			return true, fmt.Sprintf("is running (it has no health check, so its readiness is not known) after %s", elapsed.Round(100*time.Millisecond)), nil
		}
		if x.o.clock.Now().After(deadline) {
			msg := fmt.Sprintf("is not healthy after %s", x.cfg.Timeout)
			if h := st.State.Health; h != nil && len(h.Log) > 0 {
				last := h.Log[len(h.Log)-1]
				msg += fmt.Sprintf(" (last check: exit code %d, %q)", last.ExitCode, firstLine(last.Output, 200))
			}
			return false, msg, nil
		}
		if err := x.sleep(ctx); err != nil {
			return false, "", err
		}
	}
}

func exitedMessage(st container.InspectResponse) string {
	if st.State == nil {
		return "is gone"
	}
	msg := fmt.Sprintf("exited with code %d", st.State.ExitCode)
	if st.State.OOMKilled {
		msg += " (killed: out of memory)"
	}
	if st.State.Error != "" {
		msg += ": " + st.State.Error
	}
	return msg + " before it was ready"
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// waitReady waits for the image to be ready: its HTTP path, else its
// HEALTHCHECK, else a moment of running.
func (x *execution) waitReady(ctx context.Context, id, port string, cfg *dockerspec.DockerOCIImageConfig) (bool, string, error) {
	start := x.o.clock.Now()
	if x.cfg.ReadyPath == "" {
		check := hasHealthcheck(cfg)
		ok, msg, err := x.waitContainer(ctx, id, check, start)
		if err != nil || ok {
			if ok && !check {
				msg = "no readiness check (set " + x.name(FieldReadyPath) + ", or add a HEALTHCHECK to the image): it " + strings.TrimPrefix(msg, "is ")
			}
			return ok, msg, err
		}
		return false, "the image " + msg + x.readyFix(check), nil
	}
	var addr string
	var err error
	if x.probeFrom != "" {
		var ip string
		ip, err = x.sb.IP(ctx, id, x.network)
		addr = ip + ":" + strings.TrimSuffix(port, "/tcp")
	} else {
		addr, err = x.sb.HostAddr(ctx, id, port)
	}
	if err != nil {
		return false, "", fmt.Errorf("finding the address of the image's port %s: %w", port, err)
	}
	url := "http://" + addr + x.cfg.ReadyPath
	deadline := start.Add(x.cfg.Timeout)
	last := "no answer yet"
	// The probe backs off to one request every 2 s: most servers log each
	// request, and the failure shows the end of the log, which should be the
	// server's own account rather than a wall of probes.
	wait := x.o.poll
	for {
		st, err := x.sb.State(ctx, id)
		if err != nil {
			return false, "", err
		}
		if st.State == nil || !st.State.Running {
			return false, "the image " + exitedMessage(st) + "; see its logs below", nil
		}
		code, body, err := x.get(ctx, url)
		switch {
		case err != nil:
			last = err.Error()
		case code >= 200 && code < 400:
			return true, fmt.Sprintf("GET %s answered %d after %s", x.cfg.ReadyPath, code, x.o.clock.Since(start).Round(100*time.Millisecond)), nil
		default:
			last = fmt.Sprintf("%d %s", code, firstLine(body, 200))
		}
		if x.o.clock.Now().After(deadline) {
			return false, fmt.Sprintf("not ready after %s: GET %s on port %s last answered %s%s",
				x.cfg.Timeout, x.cfg.ReadyPath, strings.TrimSuffix(port, "/tcp"), last, x.readyFix(false)), nil
		}
		if err := x.sleepFor(ctx, wait); err != nil {
			return false, "", err
		}
		wait = min(2*wait, max(x.o.poll, 2*time.Second))
	}
}

func (x *execution) readyFix(health bool) string {
	fix := "; the logs below say why"
	if len(x.cfg.Services) > 0 {
		fix += " (check that the environment in " + x.name(FieldEnv) + " points at the services by name)"
	}
	if health {
		fix += "; the image's HEALTHCHECK decides readiness: check that it tests what the server serves"
	} else if x.cfg.ReadyPath != "" {
		fix += "; check that " + x.name(FieldReadyPath) + " and " + x.name(FieldReadyPort) + " are where the server answers"
	}
	return fix + "; if it only needs longer, raise " + x.name(FieldTimeout)
}

func (x *execution) get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := x.o.http.Do(req)
	if err != nil {
		// The error quotes the URL, whose address changes every run.
		var uerr interface{ Unwrap() error }
		if errors.As(err, &uerr) && uerr.Unwrap() != nil {
			err = uerr.Unwrap()
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

// testCommand runs the project's tests in a second container of the image.
func (x *execution) testCommand(ctx context.Context) (bool, string, error) {
	argv := x.cfg.TestCommand
	id, err := x.sb.Create(ctx, sandbox.Spec{
		Name: "test", Image: x.image, Env: envList(x.cfg.Env, x.cfg.Secrets), Network: x.network,
		Entrypoint: argv[:1], Cmd: append([]string{}, argv[1:]...),
	})
	if err != nil {
		return false, "", err
	}
	x.track("test", id)
	start := x.o.clock.Now()
	if err := x.sb.Start(ctx, id); err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		return false, fmt.Sprintf("the engine could not start the test command %s: %v; check %s", quoteArgs(argv), err, x.name(FieldTestCommand)), nil
	}
	wctx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
	defer cancel()
	code, err := x.sb.Wait(wctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		if wctx.Err() != nil {
			return false, fmt.Sprintf("the test command %s did not finish within %s; raise %s if it needs longer", quoteArgs(argv), x.cfg.Timeout, x.name(FieldTimeout)), nil
		}
		return false, "", fmt.Errorf("waiting for the test command: %w", err)
	}
	took := x.o.clock.Since(start).Round(100 * time.Millisecond)
	if code != 0 {
		return false, fmt.Sprintf("the test command %s exited with code %d after %s; its output is below", quoteArgs(argv), code, took), nil
	}
	return true, fmt.Sprintf("the test command %s exited 0 after %s", quoteArgs(argv), took), nil
}

// quoteArgs writes a command for a message: each argument quoted, a long
// one (an inline script) cut short.
func quoteArgs(argv []string) string {
	const max = 60
	q := make([]string, len(argv))
	for i, a := range argv {
		a = strings.Join(strings.Fields(a), " ")
		if len(a) > max {
			a = a[:max] + "..."
		}
		q[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// stop sends the image its stop signal and checks that it exits by itself,
// cleanly, within the grace period.
func (x *execution) stop(ctx context.Context, id string) (bool, string, error) {
	st, err := x.sb.State(ctx, id)
	if err != nil {
		return false, "", err
	}
	if st.State == nil || !st.State.Running {
		return false, "the image " + strings.TrimSuffix(exitedMessage(st), " before it was ready") + " before it was stopped; see its logs below", nil
	}
	pid1, perr := x.sb.PID1(ctx, id)
	sigName, sig := x.stopSignalName()
	start := x.o.clock.Now()
	if err := x.sb.Stop(ctx, id, x.cfg.GracePeriod); err != nil {
		return false, "", fmt.Errorf("stopping the image: %w", err)
	}
	took := x.o.clock.Since(start).Round(10 * time.Millisecond)
	if st, err = x.sb.State(ctx, id); err != nil {
		return false, "", err
	}
	code := st.State.ExitCode
	switch {
	case code == 137 && !st.State.OOMKilled:
		msg := fmt.Sprintf("did not exit within the grace period of %s after %s and was killed (exit code 137)", x.cfg.GracePeriod, sigName)
		if perr == nil {
			msg += fmt.Sprintf("; PID 1 was %q", pid1)
			if f := strings.Fields(pid1); len(f) > 0 && isShell(f[0]) {
				msg += ", a shell, which does not pass the signal on to the server it started"
			}
		}
		return false, msg + `; make the server PID 1: ENTRYPOINT in exec form (["gunicorn", "app:app"]) and exec in entrypoint scripts (exec gunicorn ..., or exec "$@"), or make it stop faster; raise ` + x.name(FieldGracePeriod) + ` only if it needs longer to drain`, nil
	case code == 0 || (sig != 0 && code == 128+int(sig)):
		return true, fmt.Sprintf("exited with code %d %s after %s", code, took, sigName), nil
	}
	return false, fmt.Sprintf("exited with code %d %s after %s: a clean stop exits 0; see its logs below for the error", code, took, sigName), nil
}

func isShell(prog string) bool {
	switch path.Base(prog) {
	case "sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox":
		return true
	}
	return false
}
