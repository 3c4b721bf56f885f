package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/deploy-action/deploy-action/e2e/kubetest/controlplane"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// KubeconfigEnv names an existing cluster to test against instead of starting one.
// It is deliberately not KUBECONFIG: tests create and delete namespaces, and must
// never do so in whatever cluster a developer's shell points at.
const KubeconfigEnv = "E2E_KUBECONFIG"

// StartTimeout bounds the start of the package's control plane: seconds on an idle
// machine, half a minute on two cores busy compiling.
const StartTimeout = 4 * time.Minute

// Env is a cluster a test can use.
type Env struct {
	// Kubeconfig is the path of a cluster-admin kubeconfig, for kubectl and
	// for code under test that takes one.
	Kubeconfig string
	// Config and Client talk to the cluster as its administrator.
	Config *rest.Config
	Client kubernetes.Interface
	// ControlPlane is the control plane kubetest started, or nil when the
	// cluster came from $E2E_KUBECONFIG.
	ControlPlane *controlplane.ControlPlane

	// simulated: kwok runs the pods, on the cluster kubetest started or on
	// one of $E2E_KUBECONFIG with kwok's nodes (make cluster-up).
	simulated bool
}

var (
	mu      sync.Mutex
	inMain  bool
	started bool
	shared  *Env
	failure error
	missing bool
)

// Main runs the package's tests, then stops the control plane if one of them
// started it. Call it from TestMain.
func Main(m *testing.M) {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	env := shared
	mu.Unlock()
	if env != nil && env.ControlPlane != nil {
		if err := env.ControlPlane.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubetest: stopping the control plane: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Cluster returns the package's cluster, starting it on first use. When the
// control-plane binaries are missing it skips the test, or fails it in CI.
func Cluster(t testing.TB) *Env {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !inMain {
		t.Fatal("kubetest: call kubetest.Main(m) from the package's TestMain, so that the cluster is stopped after the tests")
	}
	if !started {
		started = true
		shared, failure = start(t)
	}
	if missing {
		testenv.Require(t, false, "the test control plane ("+failure.Error()+")", controlplane.BuildHint)
	}
	if failure != nil {
		t.Fatalf("kubetest: %v", failure)
	}
	return shared
}

func start(t testing.TB) (*Env, error) {
	if path := os.Getenv(KubeconfigEnv); path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("$%s=%s: %w", KubeconfigEnv, path, err)
		}
		return newEnv(path, cfg, nil)
	}
	bins, err := controlplane.FindBinaries(os.Getenv)
	if err != nil {
		missing = true
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	var log bytes.Buffer
	cp, err := controlplane.Start(ctx, controlplane.WithBinaries(bins), controlplane.WithLog(&log))
	t.Logf("kubetest: starting a control plane:\n%s", strings.TrimSpace(log.String()))
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
	if err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	env, err := newEnv(cp.Kubeconfig, cfg, cp)
	if err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	return env, nil
}

func newEnv(kubeconfig string, cfg *rest.Config, cp *controlplane.ControlPlane) (*Env, error) {
	// Tests create bursts of objects; client-go's default of 5 requests a second
	// would make them measure the client's rate limiter.
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	env := &Env{Kubeconfig: kubeconfig, Config: cfg, Client: client, ControlPlane: cp, simulated: cp != nil}
	if cp == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("$%s: listing the nodes: %w", KubeconfigEnv, err)
		}
		for _, n := range nodes.Items {
			if n.Annotations[controlplane.NodeAnnotation] == "fake" {
				env.simulated = true
			}
		}
	}
	return env, nil
}

// Simulated reports whether pods are simulated by kwok, so that images choose
// their behaviour (see Behaviour).
// A cluster of $E2E_KUBECONFIG is simulated when it has kwok's nodes, as
// `make cluster-up` makes them.
func (e *Env) Simulated() bool { return e.simulated }

// RequireSimulation skips the test unless pods are simulated: on a cluster with a
// kubelet, example.com/crash:1 is only an image that cannot be pulled.
func (e *Env) RequireSimulation(t testing.TB) {
	t.Helper()
	if !e.Simulated() {
		t.Skipf("skipping: needs kwok's simulated pods; $%s points at a cluster with real ones", KubeconfigEnv)
	}
}

// RequireControlPlane skips the test unless kubetest started the control plane
// and so can stop and restart its parts.
func (e *Env) RequireControlPlane(t testing.TB) *controlplane.ControlPlane {
	t.Helper()
	if e.ControlPlane == nil {
		t.Skipf("skipping: needs the control plane kubetest starts; $%s points at another cluster", KubeconfigEnv)
	}
	return e.ControlPlane
}

// Namespace creates a namespace for the test and deletes it when the test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	ns, err := e.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kubetest-", Labels: map[string]string{"kubetest": "true"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubetest: creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		err := e.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		if err != nil {
			t.Errorf("kubetest: deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// Kubectl runs kubectl against the cluster with stdin as its input and returns
// what it printed; err is non-nil when it exits with an error. It is the kubectl
// built with the control plane (same release), else the one on $PATH.
func (e *Env) Kubectl(t testing.TB, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	kubectl, err := controlplane.Kubectl(os.Getenv)
	if err != nil {
		kubectl = testenv.LookPath(t, "kubectl")
	}
	cmd := exec.Command(kubectl, append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// Behaviour is how a simulated container behaves, as a kubelet would report it.
type Behaviour string

// The simulated behaviours. A container gets one from its image, Image(b, tag), or
// every container of a pod gets one from the pod's annotation
// BehaviourAnnotation: b.
const (
	// Healthy containers run and are Ready within a second or two. Any image
	// that is not one of the others is healthy.
	Healthy Behaviour = "healthy"
	// Unready containers run but never become Ready; an Unhealthy event says
	// "Readiness probe failed: ..." after the container's probe type.
	Unready Behaviour = "unready"
	// PullError containers wait in ErrImagePull, then ImagePullBackOff, with
	// Failed and BackOff events; the pod stays Pending.
	PullError Behaviour = "pull-error"
	// Crash containers exit with code 1 (reason Error) and restart in
	// CrashLoopBackOff with a rising restart count and a last state; BackOff
	// events count the restarts. With restartPolicy Never the pod fails.
	Crash Behaviour = "crash"
	// OOM containers are killed with reason OOMKilled, exit code 137, and
	// restart as Crash does.
	OOM Behaviour = "oom"
)

// BehaviourAnnotation on a pod (or a pod template) gives all its containers one
// behaviour, whatever their images.
const BehaviourAnnotation = controlplane.BehaviourAnnotation

// Image returns the image reference that makes a container behave as b:
// example.com/<b>:<tag>.
func Image(b Behaviour, tag string) string {
	return "example.com/" + string(b) + ":" + tag
}

// Unschedulable returns resource requests that no simulated node can satisfy, so
// the scheduler leaves the pod Pending with a FailedScheduling event
// ("0/3 nodes are available: 3 Insufficient cpu.").
func Unschedulable() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1000"),
	}}
}

// Poll calls cond every 100 ms until it returns true, and fails the test when
// timeout passes first; what names the awaited state, and the failure repeats the
// last error cond returned (errors are retried: the API server may be restarting).
func Poll(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			last = err
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting %s for %s: timed out (last error: %v)", timeout, what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kubeconform returns the cached kubeconform binary and the -schema-location of the
// JSON schemas generated from the pinned Kubernetes release, or stops the test
// when they are not built.
func Kubeconform(t testing.TB) (bin, schemaLocation string) {
	t.Helper()
	bin, err := controlplane.Kubeconform(os.Getenv)
	if err == nil {
		var dir string
		if dir, err = controlplane.Schemas(os.Getenv); err == nil {
			return bin, dir + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
		}
	}
	testenv.Require(t, false, "kubeconform and the generated schemas ("+err.Error()+")", controlplane.BuildHint)
	return "", ""
}
