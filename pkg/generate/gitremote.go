package generate

import (
	"net/url"
	"path/filepath"
	"strings"

	"gopkg.in/ini.v1"
)

// remoteOwner is the GitHub owner of the repository's origin remote, lower
// case (image names are), read from .git/config; "" when there is none.
func remoteOwner(root string) string {
	cfg, err := ini.Load(filepath.Join(root, ".git", "config"))
	if err != nil {
		return ""
	}
	u := cfg.Section(`remote "origin"`).Key("url").String()
	var p string
	switch {
	case strings.HasPrefix(u, "git@github.com:"):
		p = strings.TrimPrefix(u, "git@github.com:")
	default:
		pu, err := url.Parse(u)
		if err != nil || pu.Host != "github.com" {
			return ""
		}
		p = strings.TrimPrefix(pu.Path, "/")
	}
	owner, _, ok := strings.Cut(p, "/")
	if !ok || owner == "" {
		return ""
	}
	return strings.ToLower(owner)
}
