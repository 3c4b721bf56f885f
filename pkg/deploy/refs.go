package deploy

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// splitRefs checks the pushed refs and returns their repositories, as
// written, and the hex of their one digest.
func splitRefs(refs []string) (repos []string, hex string, err error) {
	for _, r := range refs {
		d, err := name.NewDigest(r)
		if err != nil {
			return nil, "", fmt.Errorf("deploy: pushed reference %q is not <repository>@sha256:<digest>: %w", r, err)
		}
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			return nil, "", fmt.Errorf("deploy: pushed reference %q is not <repository>@sha256:<digest>: %w", r, err)
		}
		if hex != "" && h.Hex != hex {
			return nil, "", fmt.Errorf("deploy: pushed references have different digests (%s and %s)", hex, h.Hex)
		}
		repos, hex = append(repos, strings.TrimSuffix(r, "@"+d.DigestStr())), h.Hex
	}
	return repos, hex, nil
}
