package policy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/internal/imagefs"
)

// shells are the programs that, given "-c", make the image's command a shell
// form: the shell is PID 1 and does not pass SIGTERM on.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "busybox": true}

func isShellForm(args []string) bool {
	if len(args) < 2 {
		return false
	}
	return shells[path.Base(args[0])] && strings.HasPrefix(args[1], "-") && strings.Contains(args[1], "c")
}

// execsScript reports whether a shell form's script starts with exec, which
// makes the command PID 1 in the shell's place (ENTRYPOINT exec gunicorn ...).
func execsScript(args []string) bool {
	script := strings.TrimSpace(strings.Join(args[2:], " "))
	rest, ok := strings.CutPrefix(script, "exec ")
	return ok && !redirection.MatchString(strings.TrimSpace(rest)) && !strings.ContainsAny(rest, ";&|\n")
}

func quote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q", a)
	}
	return "[" + b.String() + "]"
}

const execFix = "the server must be PID 1 to receive SIGTERM: write it in exec form, e.g. " +
	`ENTRYPOINT ["gunicorn", "app:app"] (or start the shell form with exec: ENTRYPOINT exec gunicorn app:app), and end entrypoint scripts with exec (exec "$@")`

func checkExec(ctx context.Context, cf *v1.ConfigFile, fsys *imagefs.FS) Finding {
	ep, cmd := cf.Config.Entrypoint, cf.Config.Cmd
	switch {
	case isShellForm(ep) && execsScript(ep):
		return Finding{Status: Pass, Message: fmt.Sprintf("shell form, but the shell execs the command: %s", quote(ep))}
	case len(ep) == 0 && isShellForm(cmd) && execsScript(cmd):
		return Finding{Status: Pass, Message: fmt.Sprintf("shell form, but the shell execs the command: %s", quote(cmd))}
	case isShellForm(ep):
		return Finding{Status: Failure, Message: fmt.Sprintf("ENTRYPOINT is in shell form %s: the shell is PID 1 and does not pass SIGTERM on; %s", quote(ep), execFix)}
	case len(ep) == 0 && isShellForm(cmd):
		return Finding{Status: Failure, Message: fmt.Sprintf("CMD is in shell form %s: the shell is PID 1 and does not pass SIGTERM on; %s", quote(cmd), execFix)}
	case len(ep) > 0 && isShellForm(cmd):
		return Finding{Status: Failure, Message: fmt.Sprintf("CMD is in shell form %s under ENTRYPOINT %s, so the entrypoint receives \"/bin/sh -c ...\" as arguments; write CMD in exec form, e.g. CMD [\"serve\"]", quote(cmd), quote(ep))}
	}
	argv := ep
	if len(argv) == 0 {
		argv = cmd
	}
	if len(argv) == 0 {
		return Finding{Status: Failure, Message: "has neither ENTRYPOINT nor CMD, so it cannot run; add ENTRYPOINT in exec form, e.g. ENTRYPOINT [\"/app/server\"]"}
	}
	prog, ok := findProgram(cf, fsys, argv[0])
	if !ok {
		return Finding{Status: Failure, Message: fmt.Sprintf("the program %q of %s is not in the image (PATH searched), so the container cannot start; fix the path or install it", argv[0], quote(argv))}
	}
	script, err := fsys.ReadFile(ctx, prog, 1<<20)
	if err == nil && isShellScript(script) && !hasExec(script) {
		return Finding{Status: Failure, Message: fmt.Sprintf("the entrypoint %s is a shell script that never runs exec: the shell stays PID 1 and the server never sees SIGTERM; replace the last command with `exec <server> ...` (or `exec \"$@\"`)", prog)}
	}
	return Finding{Status: Pass, Message: "exec form: " + quote(argv)}
}

// programCandidates lists where the program of the image's command may be,
// so its content is kept during the one pass over the layers.
func programCandidates(cf *v1.ConfigFile) []string {
	argv := cf.Config.Entrypoint
	if len(argv) == 0 {
		argv = cf.Config.Cmd
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil
	}
	if strings.Contains(argv[0], "/") {
		p := argv[0]
		if !path.IsAbs(p) {
			p = path.Join("/", cf.Config.WorkingDir, p)
		}
		return []string{path.Clean(p)}
	}
	var out []string
	for _, dir := range searchPath(cf) {
		out = append(out, path.Join(dir, argv[0]))
	}
	return out
}

func searchPath(cf *v1.ConfigFile) []string {
	// The engine's default when the image sets none.
	p := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range cf.Config.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			p = v
		}
	}
	var dirs []string
	for _, d := range strings.Split(p, ":") {
		if path.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// findProgram returns the path, links resolved, of the regular file that runs.
func findProgram(cf *v1.ConfigFile, fsys *imagefs.FS, name string) (string, bool) {
	for _, c := range programCandidates(&v1.ConfigFile{Config: v1.Config{Entrypoint: []string{name}, Env: cf.Config.Env, WorkingDir: cf.Config.WorkingDir}}) {
		if e, ok := fsys.Stat(c); ok && e.Mode.IsRegular() {
			r, _ := fsys.Resolve(c)
			return r, true
		}
	}
	return "", false
}

func isShellScript(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if !bytes.HasPrefix(line, []byte("#!")) {
		return false
	}
	f := strings.Fields(string(line[2:]))
	if len(f) == 0 {
		return false
	}
	prog := path.Base(f[0])
	if prog == "env" && len(f) > 1 {
		prog = path.Base(f[1])
	}
	return shells[prog]
}

// execWord matches exec as a command: at the start of a line or after a
// separator (;, &&, ||, then, do, else), followed by what it runs.
var execWord = regexp.MustCompile(`(?:^|[;&|]\s*|\b(?:then|do|else)\s+)exec\s+(\S+)`)

// redirection is what follows an exec that only redirects the shell's own
// descriptors (exec >>log 2>&1): it replaces nothing.
var redirection = regexp.MustCompile(`^[0-9]*[<>]`)

func hasExec(script []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(script))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, m := range execWord.FindAllStringSubmatch(line, -1) {
			if !redirection.MatchString(m[1]) {
				return true
			}
		}
	}
	return false
}
