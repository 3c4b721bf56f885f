package rollback

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Conflict is a field another field manager owns, which a restore would have
// had to take over.
type Conflict struct {
	// Field is the field's path, ".data.LOG_LEVEL".
	Field string
	// Message is the API server's, naming the manager:
	// `conflict with "ops" using v1`.
	Message string
}

// ConflictError: a restore stopped at fields that other field managers own,
// since the deploy does not force conflicts.
type ConflictError struct {
	Conflicts []Conflict
	err       error
	// force names the setting that forces conflicts.
	force string
}

func (e *ConflictError) Error() string {
	var parts []string
	for _, c := range e.Conflicts {
		parts = append(parts, fmt.Sprintf("%s (%s)", c.Field, c.Message))
	}
	what := strings.Join(parts, ", ")
	if what == "" {
		what = e.err.Error()
	}
	return fmt.Sprintf(`not restored: other field managers own fields the restore would change: %s; they were left as those managers set them. Set %s to take them over, or restore them by hand`, what, e.force)
}

func (e *ConflictError) Unwrap() error { return e.err }

// conflictError turns the API server's conflict into a ConflictError that
// lists each field and manager; the server sends one cause per field.
func conflictError(err error, names field.Names) *ConflictError {
	ce := &ConflictError{err: err, force: names.Of(FieldForceConflicts)}
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Details != nil {
		for _, c := range st.Status().Details.Causes {
			if c.Type == metav1.CauseTypeFieldManagerConflict {
				ce.Conflicts = append(ce.Conflicts, Conflict{Field: c.Field, Message: c.Message})
			}
		}
	}
	return ce
}
