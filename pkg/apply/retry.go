package apply

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
)

// patchBackoff spaces the attempts of an apply that failed for a transient
// reason: 4 attempts over about 1.5 s, enough for an API server's restart
// behind its load balancer or a short 429 window.
var patchBackoff = wait.Backoff{Steps: 4, Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1}

// patch sends a server-side apply, again when it failed for a transient
// reason (5xx, 429, a reset or dropped connection, no answer in time).
// client-go retries no PATCH by itself, as a PATCH in general is not
// idempotent; a server-side apply of the same object by the same field
// manager is, so sending it twice is safe.
func (a *Applier) patch(ctx context.Context, ri dynamic.ResourceInterface, name string, data []byte) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	err := retry.OnError(patchBackoff, func(err error) bool { return ctx.Err() == nil && transient(err) }, func() error {
		var err error
		out, err = ri.Patch(ctx, name, types.ApplyPatchType, data, a.patchOptions())
		return err
	})
	return out, err
}

func transient(err error) bool {
	if apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code := int(status.Status().Code)
		return code == http.StatusBadGateway || code == http.StatusGatewayTimeout
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}
