package apply

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/deploy-action/deploy-action/pkg/kube"
)

// Kinds of failure a caller may act on, matched with errors.Is. An *Error
// carries the details; kube.ErrUnreachable and the others of package kube
// match when the cluster could not be reached.
var (
	// ErrInvalidObject: an object cannot be applied as given (no kind, no
	// name, given twice); nothing was sent.
	ErrInvalidObject = errors.New("invalid object")
	// ErrUnknownKind: the cluster serves no resource for an object's
	// apiVersion and kind.
	ErrUnknownKind = errors.New("kind not served by the cluster")
	// ErrRejected: the API server found the object invalid (schema, unknown
	// field, invalid value, immutable field).
	ErrRejected = errors.New("object rejected by the API server")
	// ErrConflict: another field manager owns fields the apply would change.
	ErrConflict = errors.New("field manager conflict")
	// ErrForbidden: RBAC does not allow the credentials a request.
	ErrForbidden = errors.New("forbidden by RBAC")
	// ErrDenied: admission refused the object (quota, a webhook, a namespace
	// being deleted, pod security).
	ErrDenied = errors.New("denied by admission")
	// ErrNoNamespace: the object's namespace does not exist.
	ErrNoNamespace = errors.New("namespace does not exist")
	// ErrJobRunning: a Job's pod template changed while the previous Job still
	// runs.
	ErrJobRunning = errors.New("job still running")
)

// Error is a failed apply: the object, what went wrong and the fix, and the
// objects applied before it, which stay applied.
type Error struct {
	// Object names the object ("Deployment shop/web"); Source is where it
	// came from, when known.
	Object string
	Source string
	// Applied are the objects applied before the failure, in order.
	Applied []string
	// Conflicts are the fields another manager owns (ErrConflict only).
	Conflicts []Conflict
	// Forbidden is the refused request (ErrForbidden only).
	Forbidden *Forbidden
	// DryRun is set when the apply was a dry run, which changes nothing.
	DryRun bool

	reason string
	kind   error
	cause  error
}

// Conflict is one field another field manager owns.
type Conflict struct {
	Field   string // ".spec.replicas"
	Manager string // "kubectl-edit"
}

// Forbidden is a request RBAC refused.
type Forbidden struct {
	User      string
	Verb      string
	Resource  string // "deployments.apps"
	Namespace string // empty for cluster-scoped resources
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Object != "" {
		b.WriteString("applying " + e.Object)
		if e.Source != "" {
			b.WriteString(" (" + e.Source + ")")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.reason)
	switch n := len(e.Applied); {
	case e.DryRun && n > 0:
		fmt.Fprintf(&b, " (dry run, nothing was changed; %d checked before it: %s)", n, strings.Join(e.Applied, ", "))
	case e.DryRun:
		b.WriteString(" (dry run, nothing was changed)")
	case n == 0:
		b.WriteString(" (nothing was applied)")
	default:
		fmt.Fprintf(&b, " (%d applied before it, and left as applied: %s)", n, strings.Join(e.Applied, ", "))
	}
	return b.String()
}

func (e *Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// classify explains what the API server said about applying obj. verb is the
// request that failed, for when the server's message does not say.
func (a *Applier) classify(obj Object, gvr schema.GroupVersionResource, verb string, err error) *Error {
	e := &Error{Object: describe(obj.GetKind(), obj.GetNamespace(), obj.GetName()), Source: obj.Source, cause: err}
	msg := serverMessage(err)
	switch {
	case isTransport(err):
		e.cause = explainTransport(err)
		e.reason = e.cause.Error()
	case apierrors.IsConflict(err) && hasCause(err, metav1.CauseTypeFieldManagerConflict):
		e.kind = ErrConflict
		e.Conflicts = conflicts(err)
		var fields []string
		for _, c := range e.Conflicts {
			fields = append(fields, fmt.Sprintf("%s (owned by %q)", c.Field, c.Manager))
		}
		e.reason = fmt.Sprintf("another field manager owns fields this apply would change: %s; if that manager should keep them (an autoscaler owning .spec.replicas, say), remove them from the manifests; to take them over, set %s to true (or hand them over with kubectl apply --server-side --field-manager=%s --force-conflicts)",
			strings.Join(fields, ", "), a.opts.names.Of(FieldForceConflicts), a.opts.fieldManager)
	case apierrors.IsForbidden(err) && rbacDenied.MatchString(msg):
		e.kind = ErrForbidden
		e.Forbidden = forbidden(msg, verb, gvr, obj.GetNamespace())
		e.reason = fmt.Sprintf("forbidden: %s; %s", msg, grant(e.Forbidden))
	case apierrors.IsForbidden(err):
		e.kind = ErrDenied
		e.reason = "the API server refused it: " + msg
	case apierrors.IsNotFound(err) && nsNotFound.MatchString(msg):
		ns := nsNotFound.FindStringSubmatch(msg)[1]
		e.kind = ErrNoNamespace
		e.reason = fmt.Sprintf("namespace %q does not exist; add a Namespace to the manifests, create it, or set %s to true", ns, a.opts.names.Of(FieldCreateNamespace))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsRequestEntityTooLargeError(err),
		// Server-side apply checks the object against the schema before
		// validation, and answers a mismatch (an unknown field, a wrong type)
		// with a bare 500.
		strings.Contains(msg, "failed to create typed patch object"):
		e.kind = ErrRejected
		e.reason = "the API server rejected it: " + typedPatch.ReplaceAllString(msg, "") + "; fix the manifest"
	case strings.Contains(msg, "admission webhook"):
		e.kind = ErrDenied
		e.reason = "the API server refused it: " + msg
	default:
		e.reason = fmt.Sprintf("%s %s: %v", verb, gvr.GroupResource(), err)
	}
	return e
}

func serverMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

func hasCause(err error, t metav1.CauseType) bool {
	_, ok := apierrors.StatusCause(err, t)
	return ok
}

var conflictManager = regexp.MustCompile(`^conflicts? with "([^"]*)"`)

func conflicts(err error) []Conflict {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil {
		return nil
	}
	var out []Conflict
	for _, c := range se.Status().Details.Causes {
		if c.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		m := c.Message
		if sm := conflictManager.FindStringSubmatch(c.Message); sm != nil {
			m = sm[1]
		}
		out = append(out, Conflict{Field: c.Field, Manager: m})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// The authorizer's message: `User "alice" cannot patch resource "deployments"
// in API group "apps" in the namespace "shop"`.
var (
	rbacDenied = regexp.MustCompile(`User "([^"]*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]*)")?`)
	nsNotFound = regexp.MustCompile(`namespaces "([^"]+)" not found`)
	// The prefix of server-side apply's schema errors, which repeats the
	// object's name and kind.
	typedPatch = regexp.MustCompile(`^failed to create typed patch object \([^)]*\): `)
)

func forbidden(msg, verb string, gvr schema.GroupVersionResource, ns string) *Forbidden {
	f := &Forbidden{Verb: verb, Resource: gvr.GroupResource().String(), Namespace: ns}
	if m := rbacDenied.FindStringSubmatch(msg); m != nil {
		f.User, f.Verb = m[1], m[2]
		f.Resource = schema.GroupResource{Group: m[4], Resource: m[3]}.String()
		f.Namespace = m[5]
	}
	return f
}

// grant says what RBAC rule would allow the request. Server-side apply needs
// get, create and patch; a deploy also lists and watches to follow the rollout.
func grant(f *Forbidden) string {
	gr := schema.ParseGroupResource(f.Resource)
	rule := fmt.Sprintf(`apiGroups: [%q], resources: [%q], verbs: ["get", "list", "watch", "create", "patch"]`, gr.Group, gr.Resource)
	if f.Namespace == "" {
		return fmt.Sprintf("grant %q the verb %q on %s with a ClusterRole and ClusterRoleBinding (rule: %s)", f.User, f.Verb, f.Resource, rule)
	}
	return fmt.Sprintf("grant %q the verb %q on %s in namespace %q with a Role and RoleBinding there (rule: %s)", f.User, f.Verb, f.Resource, f.Namespace, rule)
}

func isTransport(err error) bool {
	var ue *url.Error
	var ke *kube.Error
	return errors.As(err, &ue) || errors.As(err, &ke)
}

// explainTransport explains a failed exchange with the API server, naming it:
// client-go's *url.Error carries the request's URL.
func explainTransport(err error) error {
	// The caller's deadline or cancellation, not the server's silence: a
	// request cut short says so as it is.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var ke *kube.Error
	if errors.As(err, &ke) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return kube.Explain(u.Scheme+"://"+u.Host, 0, err)
		}
	}
	return err
}
