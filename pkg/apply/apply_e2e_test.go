package apply_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/apply"
)

// shop is the sample shop's release: given in an order that would fail if
// applied as given (the Deployment mounts the ConfigMap and the Secret, the
// migration Job needs the Secret).
func shop(image, dbURL string) string {
	return fmt.Sprintf(`# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
      - name: wait-db
        image: example.com/busybox:1
      containers:
      - name: app
        image: %[1]s
        envFrom:
        - configMapRef: {name: web}
        - secretRef: {name: db}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: %[1]s
        args: [flask, db, upgrade]
        envFrom:
        - secretRef: {name: db}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8000
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  GUNICORN_WORKERS: "4"
---
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  DATABASE_URL: %[2]s
`, image, dbURL)
}

func TestShopReleasesInOrderAndRecordsRevisions(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	var progress syncBuffer
	a := applier(t, c.Config, ns, apply.WithProgress(&progress))
	v1 := kubetest.Image(kubetest.Healthy, "1")

	// First release: everything is created, dependencies first, and the
	// workloads say there is nothing to roll back to.
	res, err := a.Apply(ctx, objects(t, "k8s/shop.yaml", shop(v1, "postgres://shop@db/shop")))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"Secret " + ns + "/db created",
		"ConfigMap " + ns + "/web created",
		"Service " + ns + "/web created",
		"Deployment " + ns + "/web created",
		"Job " + ns + "/migrate created",
	}, actions(res))
	assert.Equal(t, "deploy-action", res.FieldManager)
	require.Len(t, res.Workloads(), 2)
	for _, w := range res.Workloads() {
		require.NotNil(t, w.Previous, w.String())
		assert.False(t, w.Previous.Existed, "%s: a first deploy has nothing to roll back to", w)
		assert.NotEmpty(t, w.UID)
		assert.Equal(t, int64(1), w.Generation)
	}
	assert.Equal(t, "k8s/shop.yaml#1", res.Objects[3].Source)
	assert.Equal(t, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, res.Objects[3].Resource)
	assert.Contains(t, progress.String(), "Deployment "+ns+"/web: created in ")
	deploy, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "deploy-action", deploy.ManagedFields[0].Manager)

	// The controllers number the revision and run the Job to completion.
	kubetest.Poll(t, waitTimeout, "revision 1 and the migration", func(ctx context.Context) (bool, error) {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || d.Annotations["deployment.kubernetes.io/revision"] != "1" {
			return false, err
		}
		j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded == 1, err
	})

	// The same release again changes nothing.
	res, err = a.Apply(ctx, objects(t, "k8s/shop.yaml", shop(v1, "postgres://shop@db/shop")))
	require.NoError(t, err)
	for _, o := range res.Objects {
		assert.Equal(t, apply.Unchanged, o.Action, o.String())
	}
	assert.False(t, res.Changed())

	// A new release: the Deployment is configured and remembers revision 1
	// and its images; the finished migration Job is replaced.
	v2 := kubetest.Image(kubetest.Healthy, "2")
	res, err = a.Apply(ctx, objects(t, "k8s/shop.yaml", shop(v2, "postgres://shop@db/shop")))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"Secret " + ns + "/db unchanged",
		"ConfigMap " + ns + "/web unchanged",
		"Service " + ns + "/web unchanged",
		"Deployment " + ns + "/web configured",
		"Job " + ns + "/migrate replaced",
	}, actions(res))
	web, job := res.Workloads()[0], res.Workloads()[1]
	assert.Equal(t, int64(2), web.Generation)
	assert.Equal(t, &apply.Previous{
		Existed: true, UID: deploy.UID, Generation: 1, ObservedGeneration: 1,
		Revision: "1", RevisionNumber: 1,
		Template: web.Previous.Template,
		Images:   map[string]string{"wait-db": "example.com/busybox:1", "app": v1},
	}, web.Previous)
	img, _, _ := nestedString(web.Previous.Template, "spec", "containers", "0", "image")
	assert.Equal(t, v1, img, "the previous template is kept whole")
	assert.True(t, job.Previous.Existed)
	assert.True(t, job.Previous.Finished)
	assert.NotEqual(t, job.Previous.UID, job.UID, "a new Job")
	assert.Equal(t, v1, job.Previous.Images["migrate"])
	kubetest.Poll(t, waitTimeout, "the new migration to run", func(ctx context.Context) (bool, error) {
		j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded == 1 && j.Spec.Template.Spec.Containers[0].Image == v2, err
	})
}

// nestedString reads a string through maps and (by index) slices.
func nestedString(m map[string]any, path ...string) (string, bool, error) {
	var cur any = m
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(v) {
				return "", false, err
			}
			cur = v[i]
		default:
			return "", false, nil
		}
	}
	s, ok := cur.(string)
	return s, ok, nil
}

func TestStatefulSetAndDaemonSetRevisions(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	a := applier(t, c.Config, ns)
	manifest := func(image string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: postgres, image: %[1]s}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: %[1]s}]
`, image)
	}
	res, err := a.Apply(ctx, objects(t, "infra.yaml", manifest(kubetest.Image(kubetest.Healthy, "1"))))
	require.NoError(t, err)
	assert.Equal(t, []string{"DaemonSet " + ns + "/agent created", "StatefulSet " + ns + "/db created"}, actions(res))

	var updateRevision, dsRevision string
	kubetest.Poll(t, waitTimeout, "the controllers to record revisions", func(ctx context.Context) (bool, error) {
		ss, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil || ss.Status.UpdateRevision == "" {
			return false, err
		}
		updateRevision = ss.Status.UpdateRevision
		crs, err := c.Client.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
		if err != nil || len(crs.Items) != 1 {
			return false, err
		}
		dsRevision = crs.Items[0].Name
		return true, nil
	})

	res, err = a.Apply(ctx, objects(t, "infra.yaml", manifest(kubetest.Image(kubetest.Healthy, "2"))))
	require.NoError(t, err)
	assert.Equal(t, []string{"DaemonSet " + ns + "/agent configured", "StatefulSet " + ns + "/db configured"}, actions(res))
	ds, ss := res.Objects[0].Previous, res.Objects[1].Previous
	assert.Equal(t, dsRevision, ds.Revision)
	assert.Equal(t, int64(1), ds.RevisionNumber)
	assert.Equal(t, updateRevision, ss.Revision)
	assert.NotEmpty(t, ss.CurrentRevision)
	assert.Equal(t, int64(1), ss.RevisionNumber, "the revision its pods ran, for a rollback")
	assert.Equal(t, kubetest.Image(kubetest.Healthy, "1"), ss.Images["postgres"])
}

func TestCustomResourcesAfterTheirDefinition(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	// A group of its own: definitions are cluster-wide.
	group := strings.ReplaceAll(ns, "-", "") + ".example.com"
	manifest := fmt.Sprintf(`apiVersion: example.com/v1
kind: Placeholder
metadata: {name: unused}
---
apiVersion: %[1]s/v1
kind: Widget
metadata: {name: blue}
spec: {size: 3}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`, group)
	objs := objects(t, "crd.yaml", manifest)[1:] // the placeholder is for the unknown-kind test below
	t.Cleanup(func() {
		gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		kubeDynamic(t, c.Config).Resource(gvr).Delete(context.Background(), "widgets."+group, metav1.DeleteOptions{})
	})

	// A dry run cannot check the Widget: its kind does not exist yet.
	dry, err := applier(t, c.Config, ns, apply.WithDryRun(true)).Apply(ctx, objs)
	require.NoError(t, err)
	assert.Equal(t, []string{"CustomResourceDefinition widgets." + group + " created", "Widget " + ns + "/blue skipped"}, actions(dry))
	assert.Contains(t, dry.Objects[1].Note, "CustomResourceDefinition widgets."+group)

	var progress syncBuffer
	res, err := applier(t, c.Config, ns, apply.WithProgress(&progress)).Apply(ctx, objs)
	require.NoError(t, err)
	assert.Equal(t, []string{"CustomResourceDefinition widgets." + group + " created", "Widget " + ns + "/blue created"}, actions(res))
	assert.Contains(t, progress.String(), "established in")
	got, err := kubeDynamic(t, c.Config).Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}).Namespace(ns).Get(ctx, "blue", metav1.GetOptions{})
	require.NoError(t, err)
	size, _, _ := nestedInt(got.Object, "spec", "size")
	assert.Equal(t, int64(3), size)
}

func nestedInt(m map[string]any, path ...string) (int64, bool, error) {
	for i, p := range path {
		if i == len(path)-1 {
			v, ok := m[p].(int64)
			return v, ok, nil
		}
		m, _ = m[p].(map[string]any)
	}
	return 0, false, nil
}

func TestCreateNamespaceAndDryRun(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ctx := ctxT(t)
	target := c.Namespace(t) + "-new"
	t.Cleanup(func() {
		err := c.Client.CoreV1().Namespaces().Delete(context.Background(), target, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	})
	objs := objects(t, "k8s/shop.yaml", shop(kubetest.Image(kubetest.Healthy, "1"), "postgres://x"))

	// Without the namespace, a clear error before anything exists.
	_, err := applier(t, c.Config, target).Apply(ctx, objs)
	require.ErrorIs(t, err, apply.ErrNoNamespace)
	assert.Contains(t, err.Error(), fmt.Sprintf(`applying Secret %s/db (k8s/shop.yaml#5): namespace %q does not exist; add a Namespace to the manifests, create it, or set apply.WithCreateNamespace to true (nothing was applied)`, target, target))

	// A dry run creates nothing, and says what it could not check.
	dry, err := applier(t, c.Config, target, apply.WithCreateNamespace(true), apply.WithDryRun(true)).Apply(ctx, objs)
	require.NoError(t, err)
	assert.True(t, dry.DryRun)
	assert.Equal(t, "Namespace "+target+" created", actions(dry)[0])
	for _, o := range dry.Objects[1:] {
		assert.Equal(t, apply.Skipped, o.Action, o.String())
		assert.Contains(t, o.Note, fmt.Sprintf("namespace %q does not exist yet", target))
	}
	_, err = c.Client.CoreV1().Namespaces().Get(ctx, target, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a dry run created the namespace: %v", err)

	// For real: the namespace first, then the rest in it.
	res, err := applier(t, c.Config, target, apply.WithCreateNamespace(true), apply.WithFieldNames(inputNames)).Apply(ctx, objs)
	require.NoError(t, err)
	assert.Equal(t, "Namespace "+target+" created", actions(res)[0])
	assert.Equal(t, `input "create-namespace"`, res.Objects[0].Source)
	assert.Len(t, res.Objects, 6)

	// Again: the namespace exists and is left alone (no field manager of ours
	// is added to a namespace someone else made).
	res, err = applier(t, c.Config, target, apply.WithCreateNamespace(true)).Apply(ctx, objs)
	require.NoError(t, err)
	assert.Equal(t, "Namespace "+target+" unchanged", actions(res)[0])

	// A dry run of a change reports it and changes nothing.
	changed := objects(t, "k8s/shop.yaml", shop(kubetest.Image(kubetest.Healthy, "1"), "postgres://y"))
	dry, err = applier(t, c.Config, target, apply.WithDryRun(true)).Apply(ctx, changed)
	require.NoError(t, err)
	assert.Equal(t, "Secret "+target+"/db configured", actions(dry)[0])
	assert.Equal(t, "ConfigMap "+target+"/web unchanged", actions(dry)[1])
	s, err := c.Client.CoreV1().Secrets(target).Get(ctx, "db", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "postgres://x", string(s.Data["DATABASE_URL"]))
}
