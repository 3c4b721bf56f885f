package structure

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
)

// command runs one command test: its setup commands, each committed to an
// image the next one starts from (as the container-structure-test tool
// does), the command, then its teardown commands.
func (r *Runner) command(ctx context.Context, sb *sandbox.Sandbox, image, suffix string, f *File, t CommandTest, cf *v1.ConfigFile) (TestResult, error) {
	start := r.o.clock.Now()
	res := TestResult{File: f.Path, Kind: Command, Name: t.Name}
	fail := func(format string, args ...any) (TestResult, error) {
		res.Errors = append(res.Errors, fmt.Sprintf(format, args...))
		res.Duration = r.o.clock.Since(start)
		return res, nil
	}
	env, err := r.env(f, t)
	if err != nil {
		return fail("%v", err)
	}
	user := ""
	if f.ContainerRunOptions != nil {
		user = f.ContainerRunOptions.User
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.o.timeout)
	defer cancel()
	exec := func(name string, img string, argv []string) (code int64, id string, err error) {
		argv = expandAll(argv, cf.Config.Env)
		id, err = sb.Create(ctx, sandbox.Spec{Name: name, Image: img, Env: env, User: user, Entrypoint: argv[:1], Cmd: append([]string{}, argv[1:]...)})
		if err != nil {
			return 0, "", err
		}
		if err := sb.Start(ctx, id); err != nil {
			return -1, id, fmt.Errorf("the engine could not start %q: %v", argv, err)
		}
		code, err = sb.Wait(ctx, id)
		return code, id, err
	}
	timedOut := func() (TestResult, error) {
		if parent.Err() != nil {
			return res, parent.Err() // cancelled from outside
		}
		return fail("did not finish within %s", r.o.timeout)
	}
	for i, c := range t.Setup {
		code, id, err := exec(fmt.Sprintf("cmd%s-setup%d", suffix, i), image, c)
		if ctx.Err() != nil {
			return timedOut()
		}
		if err != nil {
			return fail("setup command %q: %v", c, err)
		}
		if code != 0 {
			_, stderr, _ := sb.Output(ctx, id)
			return fail("setup command %q exited with code %d: %s", c, code, r.o.masker.Mask(lastLine(stderr)))
		}
		if image, err = sb.Commit(ctx, id); err != nil {
			return res, err
		}
	}
	argv := append([]string{t.Command}, t.Args...)
	code, id, err := exec("cmd"+suffix, image, argv)
	if ctx.Err() != nil {
		return timedOut()
	}
	if err != nil {
		return fail("%v; check command and args", err)
	}
	stdout, stderr, err := sb.Output(ctx, id)
	if err != nil {
		return res, fmt.Errorf("reading the output of %q: %w", t.Name, err)
	}
	res.Stdout, res.Stderr = r.o.masker.Mask(stdout), r.o.masker.Mask(stderr)
	for i, c := range t.Teardown {
		// As with the container-structure-test tool, a teardown failure is
		// not the test's.
		_, _, _ = exec(fmt.Sprintf("cmd%s-teardown%d", suffix, i), image, c)
	}
	if code != int64(t.ExitCode) {
		res.Errors = append(res.Errors, fmt.Sprintf("exited with code %d, expected %d", code, t.ExitCode))
	}
	check := func(what, out string, list []string, want bool) {
		for _, re := range list {
			ok, _ := regexp.MatchString(re, out)
			switch {
			case want && !ok:
				res.Errors = append(res.Errors, fmt.Sprintf("%s does not match %q", what, re))
			case !want && ok:
				res.Errors = append(res.Errors, fmt.Sprintf("%s matches %q, expected not", what, re))
			}
		}
	}
	check("stdout", stdout, t.ExpectedOutput, true)
	check("stdout", stdout, t.ExcludedOutput, false)
	check("stderr", stderr, t.ExpectedError, true)
	check("stderr", stderr, t.ExcludedError, false)
	res.Passed = len(res.Errors) == 0
	res.Duration = r.o.clock.Since(start)
	return res, nil
}

func expandAll(argv []string, env []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = expand(a, env)
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// env is the environment of a command test's containers, sorted.
func (r *Runner) env(f *File, t CommandTest) ([]string, error) {
	vars := map[string]string{}
	if o := f.ContainerRunOptions; o != nil {
		if o.EnvFile != "" {
			data, err := os.ReadFile(o.EnvFile)
			if err != nil {
				return nil, fmt.Errorf("containerRunOptions.envFile: %w", err)
			}
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			for n := 1; sc.Scan(); n++ {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				k, v, ok := strings.Cut(line, "=")
				if !ok {
					return nil, fmt.Errorf("containerRunOptions.envFile %s: line %d is not NAME=value", o.EnvFile, n)
				}
				vars[strings.TrimSpace(k)] = v
			}
		}
		for _, k := range o.EnvVars {
			vars[k] = r.o.getenv(k)
		}
	}
	for _, e := range f.GlobalEnvVars {
		vars[e.Key] = e.Value
	}
	for _, e := range t.EnvVars {
		vars[e.Key] = e.Value
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}
