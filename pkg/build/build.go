package build

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Interface builds one image. Backends are configured when they are made, so a
// call to Build has nothing left to validate but the world it reads.
type Interface interface {
	Build(ctx context.Context) (v1.Image, error)
}
