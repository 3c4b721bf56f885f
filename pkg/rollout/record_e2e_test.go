package rollout_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

var record = flag.Bool("record", false, "record what the test cluster shows for each failure into testdata/recorded")

// TestRecord records, for the classifier's unit tests, the objects the test
// cluster holds once a watch has seen each simulated failure: the workload, its
// ReplicaSets or ControllerRevisions, pods and events.
//
//	go test ./pkg/rollout/ -run TestRecord -args -record
func TestRecord(t *testing.T) {
	if !*record {
		t.Skip("records testdata/recorded with -record")
	}
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	for _, tc := range []struct {
		name   string
		kind   rollout.Kind
		change func(*corev1.PodTemplateSpec)
	}{
		{"pull-error", rollout.Deployment, rollouttest.SetImage(kubetest.Image(kubetest.PullError, "2"))},
		{"crash", rollout.Deployment, rollouttest.SetImage(kubetest.Image(kubetest.Crash, "2"))},
		{"oom", rollout.Deployment, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Image = kubetest.Image(kubetest.OOM, "2")
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}
		}},
		{"unready", rollout.Deployment, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Image = kubetest.Image(kubetest.Unready, "2")
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1, FailureThreshold: 1}
		}},
		{"unschedulable", rollout.Deployment, func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Resources = kubetest.Unschedulable() }},
		{"statefulset-crash", rollout.StatefulSet, rollouttest.SetImage(kubetest.Image(kubetest.Crash, "2"))},
		{"job-crash", rollout.Job, nil},
		{"healthy", rollout.Deployment, rollouttest.SetImage("example.com/shop:2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := c.Namespace(t)
			var target rollout.Target
			switch tc.kind {
			case rollout.Deployment:
				target = rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("web", "example.com/shop:1", 2))
			case rollout.StatefulSet:
				target = rollouttest.Create(t, c.Client, ns, rollouttest.StatefulSet("db", "example.com/postgres:16", 2))
			case rollout.Job:
				target = rollouttest.Create(t, c.Client, ns, rollouttest.Job("migrate", kubetest.Image(kubetest.Crash, "1")))
			}
			opts := []rollout.Option{rollout.WithGrace(3 * time.Second)}
			if tc.change != nil {
				require.Equal(t, rollout.Succeeded, rollouttest.Watch(t, c.Client, opts, target).Outcome)
				target = rollouttest.UpdateTemplate(t, c.Client, target, tc.change)
			}
			v := rollouttest.Watch(t, c.Client, opts, target)
			t.Logf("%s: %s", v.Outcome, v.Err())
			writeRecord(t, c, ns, tc.name)
		})
	}
}

func writeRecord(t *testing.T, c *kubetest.Env, ns, name string) {
	ctx := context.Background()
	var objs []runtime.Object
	add := func(list runtime.Object, err error) {
		require.NoError(t, err)
		items, err := meta.ExtractList(list)
		require.NoError(t, err)
		objs = append(objs, items...)
	}
	opts := metav1.ListOptions{}
	add(c.Client.AppsV1().Deployments(ns).List(ctx, opts))
	add(c.Client.AppsV1().StatefulSets(ns).List(ctx, opts))
	add(c.Client.BatchV1().Jobs(ns).List(ctx, opts))
	add(c.Client.AppsV1().ReplicaSets(ns).List(ctx, opts))
	add(c.Client.AppsV1().ControllerRevisions(ns).List(ctx, opts))
	add(c.Client.CoreV1().Pods(ns).List(ctx, opts))
	add(c.Client.CoreV1().Events(ns).List(ctx, opts))

	var out bytes.Buffer
	out.WriteString("# Recorded from the test cluster by TestRecord (go test ./pkg/rollout/ -run TestRecord -args -record).\n")
	for _, o := range objs {
		gvks, _, err := scheme.Scheme.ObjectKinds(o)
		require.NoError(t, err)
		o.GetObjectKind().SetGroupVersionKind(gvks[0])
		if m, ok := o.(metav1.Object); ok {
			m.SetManagedFields(nil)
		}
		data, err := yaml.Marshal(o)
		require.NoError(t, err)
		out.WriteString("---\n")
		out.Write(data)
	}
	text := strings.ReplaceAll(out.String(), ns, "shop")
	path := filepath.Join("testdata", "recorded", name+".yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}
