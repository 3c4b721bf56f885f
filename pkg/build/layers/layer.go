package layers

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// maxID bounds UIDs and GIDs to what every container runtime accepts.
const maxID = 1<<31 - 1

// Layer is one image layer made from a local file or directory.
type Layer struct {
	// Source is a local file or directory; a relative path is resolved
	// against the builder's directory (WithDir).
	Source string
	// Target is the absolute path in the image. A directory's contents go
	// under it; a file lands at it, or inside it when it ends with "/".
	Target string
	// Mode, when set, replaces the permission bits of every regular file.
	// Directories keep theirs: a file mode such as 0644 on a directory would
	// make it impossible to enter.
	Mode *os.FileMode
	// UID and GID own every entry that comes from Source.
	UID, GID int
}

// ParseLayer reads the syntax of the action's "layers" input and --layers flag:
//
//	SOURCE:TARGET[,mode=0755][,owner=UID[:GID]]
//
// In this syntax SOURCE cannot contain ':' and neither part can contain ','
// (a Layer made in code can). TARGET is an absolute path. Without a GID,
// owner=UID uses the UID as the GID too. An error is a *field.Error on
// FieldLayers.
func ParseLayer(s string) (Layer, error) {
	parts := strings.Split(strings.TrimSpace(s), ",")
	src, dst, ok := strings.Cut(parts[0], ":")
	if !ok {
		return Layer{}, layerError(s, "has no target", `write SOURCE:TARGET, e.g. "./bin/app:/app/app"`)
	}
	l := Layer{Source: strings.TrimSpace(src), Target: strings.TrimSpace(dst)}
	seen := map[string]bool{}
	for _, opt := range parts[1:] {
		key, val, _ := strings.Cut(strings.TrimSpace(opt), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		if seen[key] {
			return Layer{}, layerError(s, fmt.Sprintf("sets %q twice", key), "keep one "+key+"=")
		}
		seen[key] = true
		switch key {
		case "mode":
			m, err := parseMode(val)
			if err != nil {
				return Layer{}, layerError(s, err.Error(), "write the mode in octal, e.g. mode=0755")
			}
			l.Mode = &m
		case "owner":
			uid, gid, err := parseOwner(val)
			if err != nil {
				return Layer{}, layerError(s, err.Error(), "write owner=UID:GID with numbers, e.g. owner=65532:65532")
			}
			l.UID, l.GID = uid, gid
		default:
			return Layer{}, layerError(s, fmt.Sprintf("has an unknown option %q", opt), "use mode=0755 or owner=UID:GID")
		}
	}
	if err := l.validate(); err != nil {
		return Layer{}, err
	}
	return l, nil
}

// String is the canonical form of l in ParseLayer's syntax.
func (l Layer) String() string {
	var b strings.Builder
	b.WriteString(l.Source)
	b.WriteByte(':')
	b.WriteString(l.Target)
	if l.Mode != nil {
		fmt.Fprintf(&b, ",mode=%04o", unixMode(*l.Mode))
	}
	if l.UID != 0 || l.GID != 0 {
		fmt.Fprintf(&b, ",owner=%d:%d", l.UID, l.GID)
	}
	return b.String()
}

// validate checks what can be checked without touching the file system.
func (l Layer) validate() error {
	switch {
	case l.Source == "":
		return layerError(l.String(), "has no source", `name a file or directory before ":", e.g. "./bin/app:/app/app"`)
	case l.Target == "":
		return layerError(l.String(), "has no target", `name an absolute path after ":", e.g. "./bin/app:/app/app"`)
	case !strings.HasPrefix(l.Target, "/"):
		return layerError(l.String(), fmt.Sprintf("has a relative target %q", l.Target), `start the target with "/", e.g. "/app/app"`)
	case strings.ContainsRune(l.Source, 0), strings.ContainsRune(l.Target, 0):
		return layerError(l.String(), "has a NUL byte", "remove it")
	case hasDotDot(l.Target):
		return layerError(l.String(), fmt.Sprintf("has a target %q with \"..\"", l.Target), "write the target as a plain absolute path")
	case l.Mode != nil && *l.Mode&^(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0:
		return layerError(l.String(), fmt.Sprintf("has mode %v, which is more than permission bits", *l.Mode), "use an octal mode up to 07777, e.g. mode=0755")
	case l.UID < 0 || l.UID > maxID || l.GID < 0 || l.GID > maxID:
		return layerError(l.String(), fmt.Sprintf("has owner %d:%d out of range", l.UID, l.GID), fmt.Sprintf("use IDs from 0 to %d", maxID))
	}
	return nil
}

func hasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// targetName is the tar name (no leading "/") of the file or directory a
// source lands at. A file whose target ends with "/" keeps its base name.
func (l Layer) targetName(srcIsDir bool, srcName string) string {
	t := l.Target
	if !srcIsDir && strings.HasSuffix(t, "/") {
		t += srcName
	}
	return strings.TrimPrefix(path.Clean(t), "/")
}

func parseMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0, errors.New("has an empty mode")
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("has mode %q, which is not an octal mode up to 07777", s)
	}
	m := os.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m, nil
}

func parseOwner(s string) (uid, gid int, err error) {
	u, g, hasGID := strings.Cut(s, ":")
	uid, err = parseID(u)
	if err != nil {
		return 0, 0, fmt.Errorf("has owner %q: %w", s, err)
	}
	gid = uid
	if hasGID {
		if gid, err = parseID(g); err != nil {
			return 0, 0, fmt.Errorf("has owner %q: %w", s, err)
		}
	}
	return uid, gid, nil
}

func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%q is not a numeric ID from 0 to %d", s, maxID)
	}
	return int(n), nil
}

func layerError(value, problem, fix string) error {
	return field.Errorf(FieldLayers, "%q %s; %s", value, problem, fix)
}
