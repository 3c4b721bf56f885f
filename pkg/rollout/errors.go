package rollout

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// AccessError says the identity the watch runs as may not read what it needs.
type AccessError struct {
	// Verb and Resource are what was refused: "list", "pods".
	Verb, Resource, Namespace string
	Err                       error
}

func (e *AccessError) Error() string {
	if apierrors.IsUnauthorized(e.Err) {
		return fmt.Sprintf("the API server does not accept the credentials (%v); check the kubeconfig's user, its token or certificate, and that it has not expired", e.Err)
	}
	return fmt.Sprintf("%s %s in namespace %q is forbidden (%v); grant the deploying identity get, list and watch on %s in that namespace (a Role and a RoleBinding)",
		e.Verb, e.Resource, e.Namespace, e.Err, e.Resource)
}

func (e *AccessError) Unwrap() error { return e.Err }

var refusedVerb = regexp.MustCompile(`cannot (\w+) resource`)

func accessError(verb, resource, namespace string, err error) *AccessError {
	// The API server names the verb it refused: "cannot watch resource ...".
	if m := refusedVerb.FindStringSubmatch(err.Error()); m != nil {
		verb = m[1]
	}
	return &AccessError{Verb: verb, Resource: resource, Namespace: namespace, Err: err}
}

// UnreachableError says the API server did not answer.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Kubernetes API server (%v); check the server address in the kubeconfig, that the cluster runs, and the network between here and it", e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// isUnreachable tells a request that got no answer from one the server refused.
func isUnreachable(err error) bool {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}
