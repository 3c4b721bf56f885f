package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestJobFinished(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conds []any
		want  bool
	}{
		{"no status", nil, false},
		{"running", []any{map[string]any{"type": "Suspended", "status": "False"}}, false},
		{"success criteria met, pods still terminating", []any{map[string]any{"type": "SuccessCriteriaMet", "status": "True"}}, true},
		{"failure target, pods still terminating", []any{map[string]any{"type": "FailureTarget", "status": "True"}}, true},
		{"complete", []any{map[string]any{"type": "SuccessCriteriaMet", "status": "True"}, map[string]any{"type": "Complete", "status": "True"}}, true},
		{"failed", []any{map[string]any{"type": "Failed", "status": "True"}}, true},
		{"condition not true", []any{map[string]any{"type": "Complete", "status": "False"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job"}}
			if tc.conds != nil {
				job.Object["status"] = map[string]any{"conditions": tc.conds}
			}
			assert.Equal(t, tc.want, jobFinished(job))
		})
	}
}
