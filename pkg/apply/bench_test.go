package apply_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/apply"
)

// distant delays every request by a fixed time, as a cluster across a network
// does, and counts the requests.
type distant struct {
	next     http.RoundTripper
	delay    time.Duration
	requests *atomic.Int64
}

func (d distant) RoundTrip(r *http.Request) (*http.Response, error) {
	d.requests.Add(1)
	time.Sleep(d.delay)
	return d.next.RoundTrip(r)
}

// BenchmarkApplyShop times applying the shop's release (Secret, ConfigMap,
// Service, Deployment, migration Job) to the test cluster: into an empty
// namespace, with and without the first use's discovery, again unchanged, and
// with a new image for the Deployment; on loopback, and with 25 ms added to
// every request as for a cluster in another region. requests/op counts the
// requests sent.
func BenchmarkApplyShop(b *testing.B) {
	c := kubetest.Cluster(b)
	ctx := context.Background()
	newNamespace := func() string {
		ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}, metav1.CreateOptions{})
		require.NoError(b, err)
		b.Cleanup(func() { c.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
		return ns.Name
	}
	release := func(ns, image string) []apply.Object {
		objs := objects(b, "k8s/shop.yaml", shop(image, "postgres://shop@db/shop"))
		for _, o := range objs {
			o.SetNamespace(ns)
		}
		return objs
	}

	for _, delay := range []time.Duration{0, 25 * time.Millisecond} {
		var requests atomic.Int64
		cfg := rest.CopyConfig(c.Config)
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			return distant{next: rt, delay: delay, requests: &requests}
		}
		// setup makes the Applier, once or, with each, for every iteration.
		run := func(name string, setup func() *apply.Applier, each bool, objs func(i int) []apply.Object, want apply.Action) {
			b.Run(fmt.Sprintf("%s/latency=%s", name, delay), func(b *testing.B) {
				a := setup()
				i := 0
				for b.Loop() {
					b.StopTimer()
					i++
					if each && i > 1 {
						a = setup()
					}
					o := objs(i)
					before := requests.Load()
					b.StartTimer()
					res, err := a.Apply(ctx, o)
					b.StopTimer()
					require.NoError(b, err)
					require.Equal(b, want, res.Objects[len(res.Objects)-1].Action)
					b.ReportMetric(float64(requests.Load()-before), "requests/op")
					b.StartTimer()
				}
			})
		}
		fresh := func() *apply.Applier { return applier(b, cfg, "default") }
		warm := func() *apply.Applier {
			a := applier(b, cfg, "default")
			_, err := a.Apply(ctx, release(newNamespace(), "example.com/web:1")) // discovery
			require.NoError(b, err)
			return a
		}
		var existing string
		run("created, first use", fresh, true, func(int) []apply.Object { return release(newNamespace(), "example.com/web:1") }, apply.Created)
		run("created", warm, false, func(int) []apply.Object { return release(newNamespace(), "example.com/web:1") }, apply.Created)
		run("unchanged", func() *apply.Applier {
			existing = newNamespace()
			a := warm()
			_, err := a.Apply(ctx, release(existing, "example.com/web:1"))
			require.NoError(b, err)
			return a
		}, false, func(int) []apply.Object { return release(existing, "example.com/web:1") }, apply.Unchanged)
		// Without the Job (the second object), whose replacement waits for the
		// previous one to finish.
		run("configured", func() *apply.Applier {
			existing = newNamespace()
			a := warm()
			_, err := a.Apply(ctx, release(existing, "example.com/web:0"))
			require.NoError(b, err)
			return a
		}, false, func(i int) []apply.Object {
			objs := release(existing, fmt.Sprintf("example.com/web:%d", i))
			return append(objs[:1], objs[2:]...)
		}, apply.Configured)
	}
}
