package push

import "github.com/deploy-action/deploy-action/pkg/internal/registryhttp"

// ErrPlainHTTP: a registry not listed as insecure would have been reached over
// plain HTTP.
var ErrPlainHTTP = registryhttp.ErrPlainHTTP
