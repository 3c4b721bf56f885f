package apply_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/apply"
)

// A hook is deleted before it is created again (before-hook-creation) and when
// it is done: Delete returns once the object is gone, so that one of the same
// name can be created at once.
func TestDeleteWaitsUntilGone(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	job := objects(t, "hook.yaml", `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: example.com/migrate:1}]
`)
	a := applier(t, c.Config, ns)

	exists, err := a.Exists(ctx, job)
	require.NoError(t, err)
	assert.False(t, exists, "nothing applied yet: a first release")
	deleted, err := a.Delete(ctx, job[0])
	require.NoError(t, err)
	assert.False(t, deleted, "nothing to delete")

	res, err := a.Apply(ctx, job)
	require.NoError(t, err)
	uid := res.Objects[0].UID
	exists, err = a.Exists(ctx, job)
	require.NoError(t, err)
	assert.True(t, exists, "an upgrade")

	dry, err := applier(t, c.Config, ns, apply.WithDryRun(true)).Delete(ctx, job[0])
	require.NoError(t, err)
	assert.True(t, dry)
	_, err = c.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
	require.NoError(t, err, "a dry run deletes nothing")

	deleted, err = a.Delete(ctx, job[0])
	require.NoError(t, err)
	assert.True(t, deleted)
	_, err = c.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "gone when Delete returns: %v", err)

	again, err := a.Apply(ctx, job)
	require.NoError(t, err)
	assert.Equal(t, apply.Created, again.Objects[0].Action)
	assert.NotEqual(t, uid, again.Objects[0].UID)

	// A kind the cluster does not serve (yet) is neither there nor deleted.
	widget := objects(t, "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
	exists, err = a.Exists(ctx, widget)
	require.NoError(t, err)
	assert.False(t, exists)
	deleted, err = a.Delete(ctx, widget[0])
	require.NoError(t, err)
	assert.False(t, deleted)
}
