package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// LabelRun is the label every object of a run carries; its value is the run's ID.
const LabelRun = "org.deploy-action.test-run"

// imageRepo is the repository images loaded for a run are tagged in.
const imageRepo = "deploy-action-test"

// cleanupTimeout bounds the removal of a run's objects, which runs after the
// run's own context may have been cancelled (an interrupt, a timeout).
const cleanupTimeout = 2 * time.Minute

// NewRunID returns a random run ID: 12 hex digits.
func NewRunID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// Sandbox is one run's objects on an engine. It is safe for concurrent use.
type Sandbox struct {
	api *client.Client
	run string

	mu         sync.Mutex
	containers []string
	networks   []string
	volumes    []string
	images     []string
	attached   [][2]string // network, container
	loaded     int
}

// New returns the sandbox of run on the engine api.
func New(api *client.Client, run string) *Sandbox {
	return &Sandbox{api: api, run: run}
}

// lock is the image store lock of the sandbox's engine.
func (s *Sandbox) lock() storeLock { return newStoreLock(s.api.DaemonHost()) }

// Run is the run's ID.
func (s *Sandbox) Run() string { return s.run }

// API is the engine client.
func (s *Sandbox) API() *client.Client { return s.api }

// Labels returns the labels every object of the run carries.
func (s *Sandbox) Labels() map[string]string { return map[string]string{LabelRun: s.run} }

// Name returns an engine object name unique to the run: deploy-action-RUN-suffix.
func (s *Sandbox) Name(suffix string) string { return "deploy-action-" + s.run + "-" + suffix }

// Network creates a private bridge network for the run's containers.
func (s *Sandbox) Network(ctx context.Context, suffix string) (string, error) {
	n := s.Name(suffix)
	res, err := s.api.NetworkCreate(ctx, n, client.NetworkCreateOptions{Driver: "bridge", Labels: s.Labels()})
	if err != nil {
		return "", fmt.Errorf("creating network %s: %w", n, err)
	}
	s.mu.Lock()
	s.networks = append(s.networks, res.ID)
	s.mu.Unlock()
	return n, nil
}

// Attach connects a container that is not the run's (the one this program
// runs in, say) to one of the run's networks, until Cleanup.
func (s *Sandbox) Attach(ctx context.Context, network, containerID string) error {
	if _, err := s.api.NetworkConnect(ctx, network, client.NetworkConnectOptions{Container: containerID}); err != nil {
		return fmt.Errorf("attaching container %s to network %s: %w", containerID, network, err)
	}
	s.mu.Lock()
	s.attached = append(s.attached, [2]string{network, containerID})
	s.mu.Unlock()
	return nil
}

// IP returns the container's address on one of the run's networks.
func (s *Sandbox) IP(ctx context.Context, id, network string) (string, error) {
	st, err := s.State(ctx, id)
	if err != nil {
		return "", err
	}
	if st.NetworkSettings != nil {
		if ep, ok := st.NetworkSettings.Networks[network]; ok && ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress.String(), nil
		}
	}
	return "", fmt.Errorf("the container has no address on network %s", network)
}

// Inspect returns what the engine's store knows of the image ref, with an
// error satisfying cerrdefs.IsNotFound when it holds no such image.
func (s *Sandbox) Inspect(ctx context.Context, ref string) (image.InspectResponse, error) {
	res, err := s.api.ImageInspect(ctx, ref)
	if err != nil {
		return image.InspectResponse{}, err
	}
	return res.InspectResponse, nil
}

// Pull pulls ref into the engine's store. Pulled images are not the run's:
// they stay, as with `docker run`.
func (s *Sandbox) Pull(ctx context.Context, ref string) error {
	resp, err := s.api.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return readJSONStream(resp)
}

// Load loads img into the engine's store under a tag of the run, removed by
// Cleanup, and returns the tag. The whole image is streamed even when the
// store holds it already; the engine then only adds the tag.
//
// An engine with the classic image store does not store and tag an image in
// one step: when another run removes its last tag of the same image between
// the two, the engine deletes the image under the load, which then fails or
// leaves a tag naming nothing. Runs on this machine take turns (storeLock);
// and Load checks that its tag names the image and loads it again when it
// does not, up to loadAttempts times.
func (s *Sandbox) Load(ctx context.Context, img v1.Image) (string, error) {
	s.mu.Lock()
	s.loaded++
	ref := fmt.Sprintf("%s/%s:%d", imageRepo, s.run, s.loaded)
	s.mu.Unlock()
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", err
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("loading the image into the engine: %w", err)
	}
	// Recorded before the load: a load cut short may still leave the tag.
	s.mu.Lock()
	s.images = append(s.images, ref)
	s.mu.Unlock()
	unlock, err := s.lock().shared(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		err = s.load(ctx, tag, img)
		if err == nil {
			var info image.InspectResponse
			if info, err = s.Inspect(ctx, ref); err == nil && info.ID != id.String() {
				err = fmt.Errorf("the engine tagged image %s as %s, not the image loaded (%s)", info.ID, ref, id)
			}
		}
		if err == nil || ctx.Err() != nil || attempt == loadAttempts {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("loading the image into the engine: %w", err)
	}
	return ref, nil
}

// loadAttempts bounds the loads of one image: see Load.
const loadAttempts = 3

// load streams img into the engine's store as tag.
func (s *Sandbox) load(ctx context.Context, tag name.Tag, img v1.Image) error {
	lc := &loadClient{Client: s.api}
	out, err := daemon.Write(tag, img, daemon.WithContext(ctx), daemon.WithClient(lc))
	// daemon.Write streams the image through a pipe whose reader it leaves
	// open: close it, so that its writer ends whether or not the engine read
	// the stream to its end.
	lc.closeInput()
	if err != nil {
		return err
	}
	// The engine reports a load that failed in its response stream.
	return readJSONStream(strings.NewReader(out))
}

// loadClient is the engine client as daemon.Write sees it, keeping hold of
// the stream it loads.
type loadClient struct {
	*client.Client
	mu    sync.Mutex
	input io.Reader
}

func (c *loadClient) ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	c.mu.Lock()
	c.input = input
	c.mu.Unlock()
	return c.Client.ImageLoad(ctx, input, opts...)
}

func (c *loadClient) closeInput() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc, ok := c.input.(io.Closer); ok {
		rc.Close()
	}
}

// readJSONStream reads the engine's progress stream to its end and returns
// the error it reports, if any.
func readJSONStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// Publish binds a container port to a port on the host's loopback.
type Publish struct {
	// Port is the container port, "8000" or "8000/tcp".
	Port string
	// HostPort is the host port; empty lets the engine choose a free one.
	HostPort string
}

// Spec describes a container of the run.
type Spec struct {
	// Name is the suffix of the container's name (see Sandbox.Name).
	Name  string
	Image string
	Env   []string
	// Entrypoint and Cmd replace the image's when not nil.
	Entrypoint, Cmd []string
	// Network and Aliases attach the container to one of the run's networks.
	Network string
	Aliases []string
	Publish []Publish
	// Healthcheck replaces the image's when not nil.
	Healthcheck *container.HealthConfig
	// User replaces the image's USER when set.
	User string
}

// Create creates a container. Volumes the image declares get named volumes
// labelled with the run, so that nothing anonymous outlives it.
func (s *Sandbox) Create(ctx context.Context, spec Spec) (string, error) {
	info, err := s.Inspect(ctx, spec.Image)
	if err != nil {
		return "", fmt.Errorf("inspecting image %s: %w", spec.Image, err)
	}
	cfg := &container.Config{
		Image:       spec.Image,
		Env:         spec.Env,
		Entrypoint:  spec.Entrypoint,
		Cmd:         spec.Cmd,
		Labels:      s.Labels(),
		Healthcheck: spec.Healthcheck,
		User:        spec.User,
	}
	host := &container.HostConfig{PortBindings: network.PortMap{}}
	if len(spec.Publish) > 0 {
		cfg.ExposedPorts = network.PortSet{}
	}
	for _, p := range spec.Publish {
		port, err := network.ParsePort(p.Port)
		if err != nil {
			return "", fmt.Errorf("port %q: %w", p.Port, err)
		}
		cfg.ExposedPorts[port] = struct{}{}
		host.PortBindings[port] = append(host.PortBindings[port], network.PortBinding{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: p.HostPort})
	}
	if info.Config != nil {
		var paths []string
		for p := range info.Config.Volumes {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for i, p := range paths {
			v, err := s.volume(ctx, fmt.Sprintf("%s-%d", spec.Name, i))
			if err != nil {
				return "", err
			}
			host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Source: v, Target: p})
		}
	}
	var netCfg *network.NetworkingConfig
	if spec.Network != "" {
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			spec.Network: {Aliases: spec.Aliases},
		}}
		host.NetworkMode = container.NetworkMode(spec.Network)
	}
	res, err := s.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: s.Name(spec.Name), Config: cfg, HostConfig: host, NetworkingConfig: netCfg,
	})
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", spec.Name, err)
	}
	s.mu.Lock()
	s.containers = append(s.containers, res.ID)
	s.mu.Unlock()
	return res.ID, nil
}

func (s *Sandbox) volume(ctx context.Context, suffix string) (string, error) {
	n := s.Name(suffix)
	if _, err := s.api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: n, Labels: s.Labels()}); err != nil {
		return "", fmt.Errorf("creating volume %s: %w", n, err)
	}
	s.mu.Lock()
	s.volumes = append(s.volumes, n)
	s.mu.Unlock()
	return n, nil
}

// Start starts a container.
func (s *Sandbox) Start(ctx context.Context, id string) error {
	_, err := s.api.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return err
}

// State returns the container's inspection.
func (s *Sandbox) State(ctx context.Context, id string) (container.InspectResponse, error) {
	res, err := s.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return container.InspectResponse{}, err
	}
	return res.Container, nil
}

// HostAddr returns the 127.0.0.1:PORT the container's port is published on.
func (s *Sandbox) HostAddr(ctx context.Context, id, port string) (string, error) {
	st, err := s.State(ctx, id)
	if err != nil {
		return "", err
	}
	p, err := network.ParsePort(port)
	if err != nil {
		return "", err
	}
	if st.NetworkSettings != nil {
		for _, b := range st.NetworkSettings.Ports[p] {
			if b.HostPort != "" {
				return "127.0.0.1:" + b.HostPort, nil
			}
		}
	}
	return "", fmt.Errorf("port %s of the container is not published", port)
}

// Logs returns the last lines of the container's output (stdout and stderr
// together); tail <= 0 returns all of it.
func (s *Sandbox) Logs(ctx context.Context, id string, tail int) (string, error) {
	t := "all"
	if tail > 0 {
		t = fmt.Sprint(tail)
	}
	rc, err := s.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: t})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return buf.String(), err
	}
	return buf.String(), nil
}

// Output returns the container's whole output, stdout and stderr apart.
func (s *Sandbox) Output(ctx context.Context, id string) (stdout, stderr string, err error) {
	rc, err := s.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", "", err
	}
	defer rc.Close()
	var o, e bytes.Buffer
	_, err = stdcopy.StdCopy(&o, &e, rc)
	return o.String(), e.String(), err
}

// Commit makes an image of the container's file system, labelled with the
// run and removed by Cleanup, and returns its ID.
func (s *Sandbox) Commit(ctx context.Context, id string) (string, error) {
	res, err := s.api.ContainerCommit(ctx, id, client.ContainerCommitOptions{
		Changes: []string{fmt.Sprintf("LABEL %s=%s", LabelRun, s.run)},
	})
	if err != nil {
		return "", fmt.Errorf("committing container %.12s: %w", id, err)
	}
	s.mu.Lock()
	s.images = append(s.images, res.ID)
	s.mu.Unlock()
	return res.ID, nil
}

// Wait waits for the container to stop and returns its exit code.
func (s *Sandbox) Wait(ctx context.Context, id string) (int64, error) {
	res := s.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-res.Result:
		if r.Error != nil && r.Error.Message != "" {
			return r.StatusCode, errors.New(r.Error.Message)
		}
		return r.StatusCode, nil
	case err := <-res.Error:
		return 0, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Stop sends the container its stop signal and kills it after grace.
func (s *Sandbox) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int((grace + time.Second - 1) / time.Second)
	_, err := s.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
	return err
}

// PID1 returns the command line of the container's first process, as ps shows it.
func (s *Sandbox) PID1(ctx context.Context, id string) (string, error) {
	st, err := s.State(ctx, id)
	if err != nil {
		return "", err
	}
	if st.State == nil || st.State.Pid == 0 {
		return "", errors.New("the container is not running")
	}
	top, err := s.api.ContainerTop(ctx, id, client.ContainerTopOptions{Arguments: []string{"-o", "pid,args"}})
	if err != nil {
		return "", err
	}
	pidCol, argsCol := -1, -1
	for i, t := range top.Titles {
		switch strings.ToUpper(t) {
		case "PID":
			pidCol = i
		case "COMMAND", "ARGS", "CMD":
			argsCol = i
		}
	}
	if pidCol < 0 || argsCol < 0 {
		return "", fmt.Errorf("unexpected ps columns %v", top.Titles)
	}
	want := fmt.Sprint(st.State.Pid)
	for _, p := range top.Processes {
		if len(p) > max(pidCol, argsCol) && p[pidCol] == want {
			return p[argsCol], nil
		}
	}
	return "", errors.New("the first process was not found")
}

// Cleanup removes every object of the run: the ones recorded, and any other
// carrying the run's label (one created by a call cut short). It runs on a
// context of its own, so that an interrupted run still cleans up.
func (s *Sandbox) Cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	s.mu.Lock()
	containers, networks, volumes, images, attached := s.containers, s.networks, s.volumes, s.images, s.attached
	s.containers, s.networks, s.volumes, s.images, s.attached = nil, nil, nil, nil, nil
	s.mu.Unlock()

	var errs []error
	for _, a := range attached {
		_, err := s.api.NetworkDisconnect(ctx, a[0], client.NetworkDisconnectOptions{Container: a[1], Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("detaching container %s from network %s: %w", a[1], a[0], err))
		}
	}
	filter := client.Filters{}.Add("label", LabelRun+"="+s.run)
	if l, err := s.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter}); err != nil {
		errs = append(errs, fmt.Errorf("listing the run's containers: %w", err))
	} else {
		for _, c := range l.Items {
			containers = appendNew(containers, c.ID)
		}
	}
	for _, id := range containers {
		_, err := s.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing container %.12s: %w", id, err))
		}
	}
	if l, err := s.api.NetworkList(ctx, client.NetworkListOptions{Filters: filter}); err != nil {
		errs = append(errs, fmt.Errorf("listing the run's networks: %w", err))
	} else {
		for _, n := range l.Items {
			networks = appendNew(networks, n.ID)
		}
	}
	for _, id := range networks {
		if _, err := s.api.NetworkRemove(ctx, id, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing network %.12s: %w", id, err))
		}
	}
	if l, err := s.api.VolumeList(ctx, client.VolumeListOptions{Filters: filter}); err != nil {
		errs = append(errs, fmt.Errorf("listing the run's volumes: %w", err))
	} else {
		for _, v := range l.Items {
			volumes = appendNew(volumes, v.Name)
		}
	}
	for _, n := range volumes {
		if _, err := s.api.VolumeRemove(ctx, n, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing volume %s: %w", n, err))
		}
	}
	if l, err := s.api.ImageList(ctx, client.ImageListOptions{Filters: filter}); err != nil {
		errs = append(errs, fmt.Errorf("listing the run's images: %w", err))
	} else {
		sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Created < l.Items[j].Created })
		for _, i := range l.Items {
			images = appendNew(images, i.ID)
		}
	}
	if len(images) > 0 {
		if unlock, err := s.lock().exclusive(ctx); err != nil {
			errs = append(errs, err)
		} else {
			defer unlock()
		}
	}
	// Newest first: an image committed from a container of another committed
	// image goes before its parent. What fails is tried once more, after the rest.
	var retry []string
	for pass := 0; pass < 2; pass++ {
		retry = retry[:0]
		for i := len(images) - 1; i >= 0; i-- {
			// Untags only, unless the tag was the image's last name: an
			// image that was in the store before keeps its other names.
			if _, err := s.api.ImageRemove(ctx, images[i], client.ImageRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				retry = append([]string{images[i]}, retry...)
				if pass == 1 {
					errs = append(errs, fmt.Errorf("removing image %s: %w", images[i], err))
				}
			}
		}
		images = append([]string{}, retry...)
	}
	return errors.Join(errs...)
}

func appendNew(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// Leftovers lists what remains on the engine of run: containers, networks and
// volumes with its label, and images tagged for it. A clean run leaves none.
func Leftovers(ctx context.Context, api *client.Client, run string) ([]string, error) {
	var out []string
	filter := client.Filters{}.Add("label", LabelRun+"="+run)
	cl, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		return nil, err
	}
	for _, c := range cl.Items {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	nl, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		return nil, err
	}
	for _, n := range nl.Items {
		out = append(out, "network "+n.Name)
	}
	vl, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: filter})
	if err != nil {
		return nil, err
	}
	for _, v := range vl.Items {
		out = append(out, "volume "+v.Name)
	}
	il, err := api.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", imageRepo+"/"+run)})
	if err != nil {
		return nil, err
	}
	for _, i := range il.Items {
		out = append(out, "image "+strings.Join(i.RepoTags, ","))
	}
	il, err = api.ImageList(ctx, client.ImageListOptions{Filters: filter})
	if err != nil {
		return nil, err
	}
	for _, i := range il.Items {
		out = append(out, "image "+i.ID)
	}
	return out, nil
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
