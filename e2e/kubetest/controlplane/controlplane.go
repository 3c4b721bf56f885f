package controlplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	serviceCIDR = "10.0.0.0/24"
	serviceIP   = "10.0.0.1"
	podCIDR     = "10.244.0.0/16"
	clusterName = "kubetest"

	// NodeAnnotation marks the nodes kwok manages.
	NodeAnnotation = "kwok.x-k8s.io/node"

	stateFile = "state.json"
)

// NodeCapacity is what each simulated node offers the scheduler: a pod that
// requests more CPU or memory than this never schedules.
var NodeCapacity = map[string]string{"cpu": "16", "memory": "64Gi", "pods": "110"}

// Option configures Start.
type Option func(*options)

type options struct {
	dir      string
	nodes    int
	bins     *Binaries
	getenv   func(string) string
	log      io.Writer
	detached bool
}

// WithDir keeps the control plane's files (certificates, kubeconfigs, etcd's data,
// logs) in dir, which must not exist or be empty. Without it they go to a new
// temporary directory, removed by Stop.
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithNodes sets how many simulated nodes to create (default 3).
func WithNodes(n int) Option { return func(o *options) { o.nodes = n } }

// WithBinaries runs these programs instead of the cached ones.
func WithBinaries(b Binaries) Option { return func(o *options) { o.bins = &b } }

// WithGetenv replaces os.Getenv for finding the cache.
func WithGetenv(f func(string) string) Option { return func(o *options) { o.getenv = f } }

// WithLog receives one line per step of the start, with timings.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// Detached lets the processes outlive the caller (`make cluster-up`): they get no
// parent-death signal, and StopDir ends them later.
func Detached() Option { return func(o *options) { o.detached = true } }

// ControlPlane is a running control plane.
type ControlPlane struct {
	// Dir holds every file of the control plane; logs are in Dir/logs.
	Dir string
	// Kubeconfig is the path of a cluster-admin kubeconfig.
	Kubeconfig string
	// Server is the API server's URL.
	Server string
	// Nodes are the names of the simulated nodes.
	Nodes []string

	opts    options
	tempDir bool
	bins    Binaries
	ports   ports
	client  *http.Client

	mu    sync.Mutex
	procs map[string]*process

	stateMu sync.Mutex // serialises writes of the state file
	logMu   sync.Mutex // components start in parallel and log to one writer
}

type ports struct {
	EtcdClient, EtcdPeer, APIServer, ControllerManager, Scheduler, Kwok int
}

type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type state struct {
	Server     string         `json:"server"`
	Kubeconfig string         `json:"kubeconfig"`
	PIDs       map[string]int `json:"pids"`
}

// Start starts etcd, the API server, the controller manager, the scheduler and kwok,
// creates the simulated nodes and returns once the cluster can run pods: nodes
// Ready, the default service account created, every component healthy. On error
// nothing is left running.
func Start(ctx context.Context, opts ...Option) (cp *ControlPlane, err error) {
	o := options{nodes: 3, getenv: os.Getenv, log: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	if o.nodes < 1 {
		return nil, fmt.Errorf("controlplane: %d nodes; want at least 1", o.nodes)
	}
	bins := Binaries{}
	if o.bins != nil {
		bins = *o.bins
		if err := bins.check(); err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
	} else if bins, err = FindBinaries(o.getenv); err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}

	c := &ControlPlane{opts: o, bins: bins, procs: map[string]*process{}}
	if o.dir == "" {
		if c.Dir, err = os.MkdirTemp("", "kubetest-"); err != nil {
			return nil, err
		}
		c.tempDir = true
	} else {
		if c.Dir, err = filepath.Abs(o.dir); err != nil {
			return nil, err
		}
		if entries, err := os.ReadDir(c.Dir); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("controlplane: %s is not empty; is a cluster running there? (stop it with StopDir)", c.Dir)
		}
		if err := os.MkdirAll(c.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			// Keep the files: the components' logs say what went wrong.
			err = errors.Join(err, c.stopAll())
			err = fmt.Errorf("%w (files and logs kept in %s)", err, c.Dir)
		}
	}()

	began := time.Now()
	if err := c.prepare(); err != nil {
		return nil, fmt.Errorf("controlplane: preparing %s: %w", c.Dir, err)
	}
	if err := c.startEtcd(ctx); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.startOthers(ctx); err != nil {
		return nil, err
	}
	if err := c.createNodes(ctx); err != nil {
		return nil, err
	}
	if err := c.waitUsable(ctx); err != nil {
		return nil, err
	}
	c.logf("control plane ready in %.1fs: %s (KUBECONFIG=%s)", time.Since(began).Seconds(), c.Server, c.Kubeconfig)
	return c, nil
}

func (c *ControlPlane) logf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.opts.log, format+"\n", args...)
}

func (c *ControlPlane) path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

func (c *ControlPlane) prepare() error {
	p, err := freePorts(6)
	if err != nil {
		return err
	}
	c.ports = ports{p[0], p[1], p[2], p[3], p[4], p[5]}
	c.Server = "https://127.0.0.1:" + strconv.Itoa(c.ports.APIServer)
	c.Kubeconfig = c.path("kubeconfig")

	for _, d := range []string{"logs", "etcd"} {
		if err := os.MkdirAll(c.path(d), 0o700); err != nil {
			return err
		}
	}
	pki := c.path("pki")
	if err := writePKI(pki, time.Now()); err != nil {
		return err
	}
	for _, id := range identities {
		if err := writeKubeconfig(c.path(id.file+".kubeconfig"), c.Server, pki, id.file); err != nil {
			return err
		}
	}
	if err := os.Rename(c.path("admin.kubeconfig"), c.Kubeconfig); err != nil {
		return err
	}
	stages, err := Stages()
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.path("kwok.yaml"), stages, 0o644); err != nil {
		return err
	}

	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	c.client = &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots},
			DisableKeepAlives: true,
		},
	}
	return nil
}

// freePorts asks the kernel for n free loopback ports. Another process could take
// one before its component binds it; the component then fails to start and Start
// reports it.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func (c *ControlPlane) etcdURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(c.ports.EtcdClient)
}

func (c *ControlPlane) startEtcd(ctx context.Context) error {
	peer := "http://127.0.0.1:" + strconv.Itoa(c.ports.EtcdPeer)
	args := []string{
		"--name=" + clusterName,
		"--data-dir=" + c.path("etcd"),
		"--listen-client-urls=" + c.etcdURL(),
		"--advertise-client-urls=" + c.etcdURL(),
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + clusterName + "=" + peer,
		// A test cluster's data is thrown away: fsync buys nothing but latency.
		"--unsafe-no-fsync",
		"--log-level=warn",
	}
	return c.run(ctx, "etcd", c.bins.Etcd, args, func(ctx context.Context) error {
		body, err := c.get(ctx, c.etcdURL()+"/health")
		if err == nil && !bytes.Contains(body, []byte(`"health":"true"`)) {
			err = fmt.Errorf("not healthy: %s", body)
		}
		return err
	})
}

func (c *ControlPlane) apiServerArgs() []string {
	pki := c.path("pki")
	return []string{
		"--advertise-address=127.0.0.1",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.ports.APIServer),
		"--etcd-servers=" + c.etcdURL(),
		"--cert-dir=" + c.path("apiserver"),
		"--tls-cert-file=" + filepath.Join(pki, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(pki, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=RBAC",
		// On loopback the default reconciler would publish 127.0.0.1 as the
		// kubernetes service's endpoint, which the API server then refuses.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		// Without these a SIGTERM waits a full minute for open watches (every
		// controller and informer has some) before the server exits; with them it
		// ends the watches and stops in seconds, as managed control planes do.
		"--shutdown-watch-termination-grace-period=5s",
		"--shutdown-send-retry-after=true",
	}
}

func (c *ControlPlane) startAPIServer(ctx context.Context) error {
	return c.run(ctx, "kube-apiserver", c.bins.APIServer, c.apiServerArgs(), func(ctx context.Context) error {
		_, err := c.get(ctx, c.Server+"/readyz")
		return err
	})
}

func (c *ControlPlane) startOthers(ctx context.Context) error {
	pki := c.path("pki")
	kcm := c.path("controller-manager.kubeconfig")
	sched := c.path("scheduler.kubeconfig")
	type component struct {
		name, bin string
		args      []string
		health    string
	}
	components := []component{
		{"kube-controller-manager", c.bins.ControllerManager, []string{
			"--kubeconfig=" + kcm,
			"--authentication-kubeconfig=" + kcm,
			"--authorization-kubeconfig=" + kcm,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(c.ports.ControllerManager),
			"--tls-cert-file=" + filepath.Join(pki, "controller-manager-serving.crt"),
			"--tls-private-key-file=" + filepath.Join(pki, "controller-manager-serving.key"),
			"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
			"--cluster-name=" + clusterName,
			"--cluster-signing-cert-file=" + filepath.Join(pki, "ca.crt"),
			"--cluster-signing-key-file=" + filepath.Join(pki, "ca.key"),
			"--root-ca-file=" + filepath.Join(pki, "ca.crt"),
			"--service-account-private-key-file=" + filepath.Join(pki, "sa.key"),
			// Each controller acts as its own service account, as in kubeadm
			// clusters, so RBAC is exercised as in production.
			"--use-service-account-credentials=true",
			// One instance: leader election would only add a lease to lose when
			// the API server restarts.
			"--leader-elect=false",
			"--kube-api-qps=100",
			"--kube-api-burst=200",
		}, "https://127.0.0.1:" + strconv.Itoa(c.ports.ControllerManager) + "/healthz"},
		{"kube-scheduler", c.bins.Scheduler, []string{
			"--kubeconfig=" + sched,
			"--authentication-kubeconfig=" + sched,
			"--authorization-kubeconfig=" + sched,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(c.ports.Scheduler),
			"--tls-cert-file=" + filepath.Join(pki, "scheduler-serving.crt"),
			"--tls-private-key-file=" + filepath.Join(pki, "scheduler-serving.key"),
			"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
			"--leader-elect=false",
		}, "https://127.0.0.1:" + strconv.Itoa(c.ports.Scheduler) + "/healthz"},
		{"kwok", c.bins.Kwok, []string{
			"--kubeconfig=" + c.path("kwok.kubeconfig"),
			"--config=" + c.path("kwok.yaml"),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + NodeAnnotation + "=fake",
			"--node-lease-duration-seconds=40",
			"--cidr=" + podCIDR,
			"--server-address=127.0.0.1:" + strconv.Itoa(c.ports.Kwok),
		}, "http://127.0.0.1:" + strconv.Itoa(c.ports.Kwok) + "/healthz"},
	}
	errs := make([]error, len(components))
	var wg sync.WaitGroup
	for i, comp := range components {
		wg.Go(func() {
			errs[i] = c.run(ctx, comp.name, comp.bin, comp.args, func(ctx context.Context) error {
				_, err := c.get(ctx, comp.health)
				return err
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// run starts a component and waits until ready returns nil, the component exits,
// or ctx ends.
func (c *ControlPlane) run(ctx context.Context, name, bin string, args []string, ready func(context.Context) error) error {
	began := time.Now()
	p, err := c.spawn(name, bin, args)
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, name, p, ready); err != nil {
		return err
	}
	c.logf("%s ready in %.1fs", name, time.Since(began).Seconds())
	return nil
}

func (c *ControlPlane) spawn(name, bin string, args []string) (*process, error) {
	logf, err := os.OpenFile(c.path("logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group keeps a terminal's Ctrl-C in `make` from reaching a
	// detached cluster; the parent-death signal ends an attached cluster with the
	// test binary even when that dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !c.opts.detached {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.mu.Lock()
	c.procs[name] = p
	c.mu.Unlock()
	return p, c.saveState()
}

func (c *ControlPlane) waitFor(ctx context.Context, what string, p *process, ready func(context.Context) error) error {
	// Generous: on two cores shared with compilers the API server has taken 30 s.
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var last error
	for {
		if p != nil {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited during start (%v); the end of %s:\n%s", p.name, p.err, c.LogFile(p.name), c.LogTail(p.name, 30))
			default:
			}
		}
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("waiting for %s: %v (last check: %v)", what, ctx.Err(), last)
			if p != nil {
				msg += fmt.Sprintf("; the end of %s:\n%s", c.LogFile(p.name), c.LogTail(p.name, 30))
			}
			return errors.New(msg)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *ControlPlane) saveState() error {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	s := state{Server: c.Server, Kubeconfig: c.Kubeconfig, PIDs: map[string]int{}}
	c.mu.Lock()
	for name, p := range c.procs {
		s.PIDs[name] = p.cmd.Process.Pid
	}
	c.mu.Unlock()
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.path(stateFile + ".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, c.path(stateFile))
}

// LogFile returns the path of a component's log: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler or kwok.
func (c *ControlPlane) LogFile(component string) string { return c.path("logs", component+".log") }

// LogTail returns the last n lines of a component's log.
func (c *ControlPlane) LogTail(component string, n int) string {
	data, err := os.ReadFile(c.LogFile(component))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// get fetches a URL with the admin credentials and fails unless it answers 200.
func (c *ControlPlane) get(ctx context.Context, url string) ([]byte, error) {
	code, body, err := c.do(ctx, http.MethodGet, url, nil)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", url, code, bytes.TrimSpace(body))
	}
	return body, err
}

func (c *ControlPlane) do(ctx context.Context, method, url string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// The controller manager's and the scheduler's serving certificates come from
	// the same CA as the API server's, so one client checks them all.
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func (c *ControlPlane) createNodes(ctx context.Context) error {
	zones := []string{"zone-a", "zone-b", "zone-c"}
	for i := range c.opts.nodes {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := map[string]any{
			"apiVersion": "v1",
			"kind":       "Node",
			"metadata": map[string]any{
				"name": name,
				"annotations": map[string]string{
					NodeAnnotation:                 "fake",
					"node.alpha.kubernetes.io/ttl": "0",
				},
				"labels": map[string]string{
					"kubernetes.io/hostname":      name,
					"kubernetes.io/os":            "linux",
					"kubernetes.io/arch":          "amd64",
					"type":                        "kwok",
					"topology.kubernetes.io/zone": zones[i%len(zones)],
				},
			},
			"status": map[string]any{
				"allocatable": NodeCapacity,
				"capacity":    NodeCapacity,
				"addresses": []map[string]string{
					{"type": "InternalIP", "address": fmt.Sprintf("172.18.0.%d", i+2)},
					{"type": "Hostname", "address": name},
				},
			},
		}
		body, err := json.Marshal(node)
		if err != nil {
			return err
		}
		code, resp, err := c.do(ctx, http.MethodPost, c.Server+"/api/v1/nodes", body)
		if err != nil {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
		if code != http.StatusCreated {
			return fmt.Errorf("creating node %s: %d %s", name, code, resp)
		}
		c.Nodes = append(c.Nodes, name)
	}
	return nil
}

// waitUsable waits until pods can run: every node Ready (kwok manages them), and the
// default service account exists (the controller manager works, and the
// ServiceAccount admission plugin will accept pods).
func (c *ControlPlane) waitUsable(ctx context.Context) error {
	began := time.Now()
	err := c.waitFor(ctx, "nodes Ready and the default service account", nil, func(ctx context.Context) error {
		body, err := c.get(ctx, c.Server+"/api/v1/nodes")
		if err != nil {
			return err
		}
		var list struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct {
					Conditions []struct{ Type, Status string }
				}
			}
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return err
		}
		ready := 0
		for _, n := range list.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == "Ready" && cond.Status == "True" {
					ready++
				}
			}
		}
		if ready < len(c.Nodes) {
			return fmt.Errorf("%d of %d nodes Ready", ready, len(c.Nodes))
		}
		_, err = c.get(ctx, c.Server+"/api/v1/namespaces/default/serviceaccounts/default")
		return err
	})
	if err != nil {
		return err
	}
	c.logf("%d nodes Ready, default service account present in %.1fs", len(c.Nodes), time.Since(began).Seconds())
	return nil
}

// StopAPIServer stops the API server (SIGTERM, as a rolling control-plane upgrade
// does); the other components keep running and retry.
func (c *ControlPlane) StopAPIServer() error {
	return c.stop("kube-apiserver", 30*time.Second)
}

// StartAPIServer starts the API server again on the same address and waits until
// it is ready.
func (c *ControlPlane) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	p := c.procs["kube-apiserver"]
	c.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
		default:
			return errors.New("controlplane: the API server is running")
		}
	}
	return c.startAPIServer(ctx)
}

// RestartAPIServer stops the API server and starts it again.
func (c *ControlPlane) RestartAPIServer(ctx context.Context) error {
	if err := c.StopAPIServer(); err != nil {
		return err
	}
	return c.StartAPIServer(ctx)
}

// stop ends one component: SIGTERM, then SIGKILL after grace.
func (c *ControlPlane) stop(name string, grace time.Duration) error {
	c.mu.Lock()
	p := c.procs[name]
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}

// Stop ends every component, newest first, and removes the directory if Start
// created it.
func (c *ControlPlane) Stop() error {
	if err := c.stopAll(); err != nil {
		return err
	}
	if c.tempDir {
		return os.RemoveAll(c.Dir)
	}
	return nil
}

func (c *ControlPlane) stopAll() error {
	for _, name := range []string{"kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		if err := c.stop(name, 10*time.Second); err != nil {
			return err
		}
	}
	err := os.Remove(c.path(stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Running returns the API server's URL and the kubeconfig of the control plane
// that runs in dir; ok is false when none does (no state, or its API server is
// gone).
func Running(dir string) (server, kubeconfig string, ok bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	s, err := readState(dir)
	if err != nil {
		return "", "", false
	}
	pid, found := s.PIDs["kube-apiserver"]
	if !found || !alive(pid) || !ours(pid, dir) {
		return "", "", false
	}
	return s.Server, s.Kubeconfig, true
}

func readState(dir string) (state, error) {
	var s state
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(data, &s)
}

// StopDir ends the processes of the control plane that runs in dir (started with
// Detached, possibly by another process) and removes dir. A process whose command
// line does not name dir is left alone: its PID has been reused.
func StopDir(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	s, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.RemoveAll(dir)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Join(dir, stateFile), err)
	}
	var errs []error
	for _, name := range []string{"kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		pid, ok := s.PIDs[name]
		if !ok || !ours(pid, dir) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for alive(pid) {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	errs = append(errs, os.RemoveAll(dir))
	return errors.Join(errs...)
}

func ours(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(dir))
}

// alive reports whether pid is running; a zombie (exited, not yet reaped by its
// parent) counts as gone.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	if i := bytes.LastIndexByte(data, ')'); i >= 0 && i+2 < len(data) {
		return data[i+2] != 'Z'
	}
	return true
}
