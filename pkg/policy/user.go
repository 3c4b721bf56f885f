package policy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/internal/imagefs"
)

const userFix = "create an unprivileged user and switch to it by number, e.g. " +
	"`RUN useradd --system --uid 10001 app` then `USER 10001:10001`; a numeric UID lets Kubernetes enforce runAsNonRoot"

func checkUser(ctx context.Context, cf *v1.ConfigFile, fsys *imagefs.FS) Finding {
	spec := strings.TrimSpace(cf.Config.User)
	if spec == "" {
		return Finding{Status: Failure, Message: "runs as root: the image sets no USER; " + userFix}
	}
	user, _, _ := strings.Cut(spec, ":")
	if uid, err := strconv.Atoi(user); err == nil {
		if uid == 0 {
			return Finding{Status: Failure, Message: fmt.Sprintf("runs as root: USER is %q (UID 0); %s", spec, userFix)}
		}
		return Finding{Status: Pass, Message: fmt.Sprintf("runs as UID %d (USER %s)", uid, spec)}
	}
	if user == "root" {
		return Finding{Status: Failure, Message: fmt.Sprintf("runs as root: USER is %q; %s", spec, userFix)}
	}
	passwd, err := fsys.ReadFile(ctx, "/etc/passwd", 1<<20)
	if err != nil {
		return Finding{Status: Failure, Message: fmt.Sprintf("USER %q is a name but the image has no readable /etc/passwd (%v), so the container cannot start; use a numeric UID, e.g. USER 10001:10001", spec, err)}
	}
	uid, ok := lookupUID(passwd, user)
	switch {
	case !ok:
		return Finding{Status: Failure, Message: fmt.Sprintf("USER %q is not in /etc/passwd, so the container cannot start; create the user before the USER line (useradd) or use a numeric UID", spec)}
	case uid == 0:
		return Finding{Status: Failure, Message: fmt.Sprintf("runs as root: USER %q has UID 0 in /etc/passwd; %s", spec, userFix)}
	}
	return Finding{Status: Pass, Message: fmt.Sprintf("runs as %s (UID %d); USER %d would let Kubernetes verify runAsNonRoot", user, uid, uid)}
}

// lookupUID finds name in an /etc/passwd file.
func lookupUID(passwd []byte, name string) (int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(passwd))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		uid, err := strconv.Atoi(fields[2])
		if err != nil {
			return 0, false
		}
		return uid, true
	}
	return 0, false
}
