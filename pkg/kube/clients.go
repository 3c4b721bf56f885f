package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Clients are the clients of one cluster, sharing one HTTP connection pool.
type Clients struct {
	// Config is what the clients were made from.
	Config *rest.Config
	// Server is the API server's URL, for messages.
	Server string
	// Namespace is the namespace of the kubeconfig context (or of the pod, in a
	// cluster): where namespaced objects without one go. "default" when unset.
	Namespace string

	Typed   kubernetes.Interface
	Dynamic dynamic.Interface
	// Discovery caches what the API server serves, in memory, for the life of
	// the Clients.
	Discovery discovery.CachedDiscoveryInterface
	// Mapper maps kinds to resources through Discovery, asking the server on
	// first use. Reset it after installing CustomResourceDefinitions.
	Mapper *restmapper.DeferredDiscoveryRESTMapper
	// Version is what the API server said it runs, filled by Check (and so by
	// Connect).
	Version *version.Info

	checkTimeout time.Duration
}

// NewClients makes the clients for cfg, without contacting the server; namespace
// is the default namespace ("default" when empty).
func NewClients(cfg *rest.Config, namespace string, opts ...Option) (*Clients, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return newClients(cfg, namespace, o)
}

func newClients(cfg *rest.Config, namespace string, o *options) (*Clients, error) {
	if namespace == "" {
		namespace = "default"
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(answerWithin(cfg.Host, o.requestTimeout))
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	typed, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	disc := memory.NewMemCacheClient(typed.Discovery())
	return &Clients{
		Config:       cfg,
		Server:       cfg.Host,
		Namespace:    namespace,
		Typed:        typed,
		Dynamic:      dyn,
		Discovery:    disc,
		Mapper:       restmapper.NewDeferredDiscoveryRESTMapper(disc),
		checkTimeout: o.checkTimeout,
	}, nil
}

// Connect loads the configuration a describes, makes the clients and checks
// that the API server answers and accepts the credentials (Check).
func Connect(ctx context.Context, a Access, opts ...Option) (*Clients, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, ns, err := load(a, o)
	if err != nil {
		return nil, err
	}
	c, err := newClients(cfg, ns, o)
	if err != nil {
		return nil, err
	}
	if err := c.Check(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Check asks the API server for its version, a request every authenticated
// client may make, within the check timeout (WithCheckTimeout). It fails with an
// error matching ErrUnreachable, ErrUntrusted or ErrUnauthorized that names the
// server and the fix.
func (c *Clients) Check(ctx context.Context) error {
	timeout := c.checkTimeout
	if timeout <= 0 {
		timeout = defaults().checkTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := c.Typed.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return Explain(c.Server, timeout, err)
	}
	var v version.Info
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the server at %s answered /version with something that is not a Kubernetes version (%v); check that the kubeconfig points at a Kubernetes API server", c.Server, err)
	}
	c.Version = &v
	return nil
}
