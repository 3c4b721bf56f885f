package rollout

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The texts below quote what the kubelet, the scheduler and the API server
// say, then add what a person does about it.

func imagePull(p *corev1.Pod, spec *corev1.Container, st *corev1.ContainerStatus, events []*corev1.Event) *Cause {
	image := st.Image
	if spec != nil {
		image = spec.Image
	}
	// The kubelet's "Failed to pull image" event carries the registry's own
	// answer; the waiting message may only say "Back-off pulling image".
	detail := st.State.Waiting.Message
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Reason == "Failed" && strings.HasPrefix(e.Message, "Failed to pull image") {
			detail = e.Message
			break
		}
	}
	if detail == "" {
		detail = st.State.Waiting.Reason
	}
	registry, repo, version := "the registry", image, "tag"
	if ref, err := name.ParseReference(image, name.WeakValidation); err == nil {
		registry = ref.Context().RegistryStr()
		if registry == name.DefaultRegistry {
			registry = "docker.io"
		}
		repo = ref.Context().RepositoryStr()
		if registry != "docker.io" {
			repo = registry + "/" + repo
		}
		if _, ok := ref.(name.Digest); ok {
			version = "digest"
		}
	}
	var fix string
	low := strings.ToLower(detail)
	switch {
	case st.State.Waiting.Reason == "InvalidImageName" || strings.Contains(low, "invalid reference format"):
		fix = fmt.Sprintf("%q is not a valid image reference: write it as <registry>/<repository>:<tag> or @sha256:<digest>", image)
	case strings.Contains(low, "pull access denied") || strings.Contains(low, "may require authorization"):
		fix = fmt.Sprintf("either %s does not exist or the cluster has no credentials for %s: check the repository name and %s, then the pod's imagePullSecrets", repo, registry, version)
	case containsAny(low, "not found", "manifest unknown", "notfound", "name unknown"):
		fix = fmt.Sprintf("the %s does not exist in %s: push the image first, or correct the %s in the manifest", version, repo, version)
	case containsAny(low, "unauthorized", "authentication required", "denied", "forbidden", "401", "403", "no basic auth credentials"):
		fix = fmt.Sprintf("the cluster has no credentials %s accepts: add an imagePullSecret for %s to the pod or its service account (kubectl create secret docker-registry), or make the repository public", registry, registry)
	case containsAny(low, "toomanyrequests", "too many requests", "rate limit", "429"):
		fix = fmt.Sprintf("%s is limiting the rate of pulls: authenticate the pulls with an imagePullSecret, or mirror the image to a registry of your own", registry)
	case containsAny(low, "x509", "certificate"):
		fix = fmt.Sprintf("the nodes do not trust the TLS certificate of %s: add its CA to the nodes' container runtime", registry)
	case containsAny(low, "no such host", "i/o timeout", "connection refused", "dial tcp", "network is unreachable"):
		fix = fmt.Sprintf("the nodes cannot reach %s: check the registry's address, DNS and the nodes' outbound network", registry)
	default:
		fix = fmt.Sprintf("check that the %s exists in %s, then that the cluster may pull from %s (imagePullSecrets)", version, repo, registry)
	}
	return &Cause{
		Reason:    ImagePull,
		Pods:      []string{p.Name},
		Container: st.Name,
		Message:   fmt.Sprintf("container %q of pod %s cannot pull image %q from %s (%s): %s", st.Name, p.Name, image, registry, st.State.Waiting.Reason, clip(detail, 400)),
		Fix:       fix,
		Events:    warnings(p, events),
	}
}

var (
	missingObject = regexp.MustCompile(`(secret|configmap)s? "([^"]+)" not found`)
	missingKey    = regexp.MustCompile(`couldn't find key (\S+) in (Secret|ConfigMap) ([^/\s]+)/(\S+)`)
)

// configError explains CreateContainerConfigError and FailedMount: "secret
// "db" not found", "couldn't find key password in Secret shop/db".
func configError(p *corev1.Pod, container, message string, events []*corev1.Event) *Cause {
	kinds := map[string]string{"secret": "Secret", "configmap": "ConfigMap"}
	what := "pod " + p.Name
	if container != "" {
		what = fmt.Sprintf("container %q of pod %s", container, p.Name)
	}
	c := &Cause{Reason: ConfigError, Pods: []string{p.Name}, Container: container, Events: warnings(p, events)}
	switch m := missingObject.FindStringSubmatch(message); {
	case m != nil:
		kind := kinds[strings.ToLower(m[1])]
		c.Message = fmt.Sprintf("%s cannot start: the %s %q does not exist in namespace %s (%s)", what, kind, m[2], p.Namespace, message)
		c.Fix = fmt.Sprintf("create the %s %q in namespace %s before deploying (kubectl -n %s create %s ...), or correct its name in the manifest, or mark the reference optional", kind, m[2], p.Namespace, p.Namespace, strings.ToLower(kind))
	default:
		if k := missingKey.FindStringSubmatch(message); k != nil {
			c.Message = fmt.Sprintf("%s cannot start: the %s %s has no key %q (%s)", what, k[2], k[4], k[1], message)
			c.Fix = fmt.Sprintf("add the key %q to the %s %s in namespace %s, or correct the key's name in the manifest", k[1], k[2], k[4], k[3])
			break
		}
		c.Message = fmt.Sprintf("%s cannot start: %s", what, clip(message, 400))
		c.Fix = "create the Secrets, ConfigMaps and volumes the pod refers to, or correct the references in the manifest"
	}
	return c
}

func containerStart(p *corev1.Pod, st *corev1.ContainerStatus, events []*corev1.Event) *Cause {
	w := st.State.Waiting
	fix := "the container runtime cannot create or start the container: check command, args, the image's entrypoint and the security context"
	if containsAny(strings.ToLower(w.Message), "executable file not found", "no such file or directory") {
		fix = "the command does not exist in the image: check command and args in the manifest, and the image's entrypoint and PATH"
	}
	return &Cause{
		Reason: ContainerStart, Pods: []string{p.Name}, Container: st.Name,
		Message: fmt.Sprintf("container %q of pod %s cannot start (%s): %s", st.Name, p.Name, w.Reason, clip(w.Message, 400)),
		Fix:     fix,
		Events:  warnings(p, events),
	}
}

func crashMessage(p *corev1.Pod, st *corev1.ContainerStatus, term *corev1.ContainerStateTerminated) string {
	msg := fmt.Sprintf("container %q of pod %s exited with code %d", st.Name, p.Name, term.ExitCode)
	if term.Reason != "" {
		msg += " (" + term.Reason + ")"
	}
	if s := signal(term.ExitCode); s != "" {
		msg += ", " + s
	}
	switch st.RestartCount {
	case 0:
	case 1:
		msg += ", restarted once"
	default:
		msg += fmt.Sprintf(", restarted %d times", st.RestartCount)
	}
	if term.Message != "" {
		msg += ": " + clip(term.Message, 300)
	}
	return msg
}

func crashLoop(p *corev1.Pod, st *corev1.ContainerStatus, term *corev1.ContainerStateTerminated, events []*corev1.Event) *Cause {
	return &Cause{
		Reason: CrashLoop, Pods: []string{p.Name}, Container: st.Name,
		Message: crashMessage(p, st, term),
		Fix:     exitFix(term.ExitCode),
		Events:  warnings(p, events),
	}
}

func signal(code int32) string {
	switch code {
	case 134:
		return "SIGABRT"
	case 137:
		return "SIGKILL"
	case 139:
		return "SIGSEGV"
	case 143:
		return "SIGTERM"
	}
	return ""
}

func exitFix(code int32) string {
	switch code {
	case 0:
		return "the main process ends although the pod restarts it: a service must keep running in the foreground; check command and args"
	case 126:
		return "the command is not executable: check its file mode and the image's entrypoint"
	case 127:
		return "the command is not found in the image: check command, args and the image's entrypoint and PATH"
	case 137:
		return "the container was killed (SIGKILL): a failing liveness probe or memory pressure on the node; see the events"
	case 139:
		return "the process crashed (segmentation fault): run the image locally to reproduce"
	case 143:
		return "the container was stopped (SIGTERM) before it was ready: check the liveness and startup probes"
	}
	return "the application fails as it starts: its last log lines say why; check the configuration it reads (environment, Secrets, ConfigMaps) and the services it needs"
}

func oomKilled(p *corev1.Pod, spec *corev1.Container, st *corev1.ContainerStatus, term *corev1.ContainerStateTerminated, events []*corev1.Event) *Cause {
	c := &Cause{Reason: OOMKilled, Pods: []string{p.Name}, Container: st.Name, Events: warnings(p, events)}
	restarts := ""
	if st.RestartCount > 0 {
		restarts = fmt.Sprintf(", restarted %d times", st.RestartCount)
	}
	var limit *resource.Quantity
	if spec != nil {
		if l, ok := spec.Resources.Limits[corev1.ResourceMemory]; ok {
			limit = &l
		}
	}
	if limit != nil {
		c.Message = fmt.Sprintf("container %q of pod %s was killed for using more than its memory limit of %s (OOMKilled, exit code %d)%s",
			st.Name, p.Name, limit, term.ExitCode, restarts)
		c.Fix = fmt.Sprintf("raise resources.limits.memory (now %s) above the application's peak use, or make it use less (fewer workers, smaller caches)", limit)
	} else {
		c.Message = fmt.Sprintf("container %q of pod %s was killed for memory (OOMKilled, exit code %d) with no memory limit of its own: the node ran out%s",
			st.Name, p.Name, term.ExitCode, restarts)
		c.Fix = "set resources.requests.memory and resources.limits.memory to the application's real use, so the scheduler places it on a node with room"
	}
	return c
}

func livenessFailure(p *corev1.Pod, spec *corev1.Container, st *corev1.ContainerStatus, probe *corev1.Event, events []*corev1.Event) *Cause {
	kind, def := "liveness", (*corev1.Probe)(nil)
	if spec != nil {
		def = spec.LivenessProbe
	}
	if strings.HasPrefix(probe.Message, "Startup") {
		kind = "startup"
		if spec != nil {
			def = spec.StartupProbe
		}
	}
	return &Cause{
		Reason: LivenessProbe, Pods: []string{p.Name}, Container: st.Name,
		Message: fmt.Sprintf("container %q of pod %s is restarted by its %s probe (%s), %d restarts: %s",
			st.Name, p.Name, kind, describeProbe(def), st.RestartCount, probe.Message),
		Fix:    fmt.Sprintf("make the %s probe's endpoint answer within timeoutSeconds, or give the application time to start (a startupProbe, or a larger failureThreshold)", kind),
		Events: warnings(p, events),
	}
}

func notReady(p *corev1.Pod, spec *corev1.Container, st *corev1.ContainerStatus, d time.Duration, events []*corev1.Event) *Cause {
	var probe *corev1.Probe
	if spec != nil {
		probe = spec.ReadinessProbe
	}
	msg := fmt.Sprintf("container %q of pod %s runs but is not ready after %s", st.Name, p.Name, d.Round(time.Second))
	if probe != nil {
		msg += "; readiness probe " + describeProbe(probe)
	}
	fix := "the readiness probe must answer with success: check its path and port, and that what the application needs at start (database, Secrets, other services) is reachable"
	if e := lastProbeFailure(events, "Readiness", "Startup"); e != nil {
		msg += ": " + e.Message
		if e.Count > 1 {
			msg += fmt.Sprintf(" (x%d)", e.Count)
		}
	} else {
		msg += "; the kubelet reported no probe failure"
	}
	return &Cause{Reason: ReadinessProbe, Pods: []string{p.Name}, Container: st.Name, Message: msg, Fix: fix, Events: warnings(p, events)}
}

// describeProbe says what a probe checks: "HTTP GET :8080/healthz".
func describeProbe(p *corev1.Probe) string {
	if p == nil {
		return "none defined"
	}
	switch h := p.ProbeHandler; {
	case h.HTTPGet != nil:
		scheme := ""
		if h.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https://"
		}
		return fmt.Sprintf("HTTP GET %s%s:%s%s", scheme, h.HTTPGet.Host, h.HTTPGet.Port.String(), h.HTTPGet.Path)
	case h.TCPSocket != nil:
		return "TCP :" + h.TCPSocket.Port.String()
	case h.GRPC != nil:
		return fmt.Sprintf("gRPC :%d", h.GRPC.Port)
	case h.Exec != nil:
		return fmt.Sprintf("exec %q", h.Exec.Command)
	}
	return "unknown"
}

const taintFix = "nodes carry taints the pod does not tolerate: add tolerations for them, or target other nodes"

var (
	insufficient = regexp.MustCompile(`Insufficient ([A-Za-z0-9/_.-]*[A-Za-z0-9])`)
	taint        = regexp.MustCompile(`untolerated taint(?:\(s\))?\s*(\{[^}]*\})`)
)

func unschedulable(p *corev1.Pod, message string, events []*corev1.Event) *Cause {
	short := message
	if i := strings.Index(short, " preemption:"); i > 0 {
		short = strings.TrimSpace(short[:i])
	}
	var fixes []string
	seen := map[string]bool{}
	for _, m := range insufficient.FindAllStringSubmatch(message, -1) {
		r := m[1]
		if seen[r] {
			continue
		}
		seen[r] = true
		req := podRequest(p, corev1.ResourceName(r))
		fixes = append(fixes, fmt.Sprintf("no node has enough %s free for the pod's request of %s: lower resources.requests.%s or add nodes with more %s", r, req, r, r))
	}
	var taints []string
	for _, m := range taint.FindAllStringSubmatch(message, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			taints = append(taints, m[1])
		}
	}
	if len(taints) > 0 {
		fixes = append(fixes, fmt.Sprintf("nodes carry taints the pod does not tolerate (%s): add tolerations for them, or target other nodes", strings.Join(taints, ", ")))
	} else if strings.Contains(message, "untolerated taint") {
		// Since Kubernetes 1.30 the scheduler no longer lists the taints;
		// the watch adds them from the nodes when it may read them.
		fixes = append(fixes, taintFix)
	}
	if strings.Contains(message, "node affinity/selector") {
		fixes = append(fixes, "no node matches the pod's nodeSelector or node affinity: correct the selector or label the nodes")
	}
	if strings.Contains(message, "anti-affinity") || strings.Contains(message, "pod affinity") {
		fixes = append(fixes, "the pod (anti-)affinity rules cannot be met with these nodes: relax them or add nodes")
	}
	if strings.Contains(message, "PersistentVolumeClaim") || strings.Contains(message, "persistent volume") {
		fixes = append(fixes, "a PersistentVolumeClaim cannot be bound: check the claim, its StorageClass and its zone")
	}
	if strings.Contains(message, "Too many pods") {
		fixes = append(fixes, "the nodes hold as many pods as they may: add nodes")
	}
	if len(fixes) == 0 {
		fixes = append(fixes, "the scheduler's message says what does not fit; change the pod's requirements or the nodes")
	}
	return &Cause{
		Reason:  Unschedulable,
		Pods:    []string{p.Name},
		Message: fmt.Sprintf("pod %s cannot be scheduled: %s", p.Name, short),
		Fix:     strings.Join(fixes, "; "),
		Events:  warnings(p, events),
	}
}

// podRequest is what the scheduler counts for a resource: the sum of the
// containers' requests, or the largest init container's if that is more.
func podRequest(p *corev1.Pod, r corev1.ResourceName) string {
	sum := resource.Quantity{}
	for _, c := range p.Spec.Containers {
		if q, ok := c.Resources.Requests[r]; ok {
			sum.Add(q)
		}
	}
	for _, c := range p.Spec.InitContainers {
		if q, ok := c.Resources.Requests[r]; ok && q.Cmp(sum) > 0 {
			sum = q.DeepCopy()
		}
	}
	if sum.IsZero() {
		return "0 (none set)"
	}
	return sum.String()
}

var (
	quotaName      = regexp.MustCompile(`exceeded quota: ([^,\s]+)`)
	quotaRequested = regexp.MustCompile(`requested: (.*?), used:`)
)

// refused explains a controller's failure to create pods (a ReplicaSet's
// ReplicaFailure condition, a FailedCreate event) once it has lasted the grace.
func refused(namespace, object, message string, events []Event) *Cause {
	if m := quotaName.FindStringSubmatch(message); m != nil {
		fix := fmt.Sprintf("raise the ResourceQuota %q in namespace %s, or lower the pods' requests", m[1], namespace)
		if r := quotaRequested.FindStringSubmatch(message); r != nil {
			fix += " (each asks for " + r[1] + ")"
		}
		return &Cause{Reason: QuotaExceeded, Message: fmt.Sprintf("%s cannot create pods: %s", object, clip(message, 400)), Fix: fix, Events: events}
	}
	fix := "the API server refuses the pods: its message says which rule; change the pod spec to meet it"
	low := strings.ToLower(message)
	switch {
	case strings.Contains(low, "podsecurity"):
		fix = fmt.Sprintf("the pods break the Pod Security level of namespace %s: set the securityContext fields the message lists (runAsNonRoot, allowPrivilegeEscalation: false, capabilities, seccompProfile)", namespace)
	case strings.Contains(low, "serviceaccount") && strings.Contains(low, "not found"):
		fix = fmt.Sprintf("create the ServiceAccount in namespace %s, or correct serviceAccountName", namespace)
	case strings.Contains(low, "limitrange") || strings.Contains(low, "maximum") || strings.Contains(low, "minimum"):
		fix = fmt.Sprintf("the pods' requests or limits are outside the LimitRange of namespace %s: fit them to it", namespace)
	case strings.Contains(low, "admission webhook"):
		fix = "an admission webhook refuses the pods: its message says why"
	}
	return &Cause{Reason: FailedCreate, Message: fmt.Sprintf("%s cannot create pods: %s", object, clip(message, 400)), Fix: fix, Events: events}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// clip shortens a message from the cluster for a one-line cause, at a rune
// boundary.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
