package report

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFile writes a file the user asked for (a JUnit report) through the
// masker, then gives it to the workspace's owner (see Own).
func (r *Reporter) WriteFile(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(r.mask.Mask(b.String())), 0o644); err != nil {
		return err
	}
	return r.Own(path)
}

// Own gives path, and everything under it, to the owner of the workspace
// (GITHUB_WORKSPACE) when this process runs as root there. A Docker action
// runs as root while the runner and the job's later steps do not, and they
// could neither overwrite nor clean up files that root owns. Elsewhere it does
// nothing: files belong to whoever ran the CLI.
func (r *Reporter) Own(path string) error {
	ws := r.getenv("GITHUB_WORKSPACE")
	if !r.actions || ws == "" || os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(ws)
	if err != nil {
		return nil // no workspace to take the owner from
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	uid, gid := int(st.Uid), int(st.Gid)
	err = filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("giving %s to the workspace's owner (uid %d): %w", path, uid, err)
	}
	return nil
}
