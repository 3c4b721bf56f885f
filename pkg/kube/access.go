package kube

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The inputs an Access comes from, as the action and the CLI name them. Errors
// name them so that a user knows which setting to fix.
const (
	InputKubeconfig     = "kubeconfig"      // kubeconfig content, from a secret
	InputKubeconfigFile = "kubeconfig-file" // a kubeconfig's path
	InputContext        = "kube-context"
	InputInCluster      = "in-cluster"
)

// Access says where the cluster's address and credentials come from. At most one
// of Kubeconfig, KubeconfigData and InCluster may be set; with none, the
// kubeconfig files named by $KUBECONFIG are used, else ~/.kube/config.
type Access struct {
	// Kubeconfig is the path of a kubeconfig file.
	Kubeconfig string
	// KubeconfigData is the content of a kubeconfig, as YAML or base64 of it. It
	// is a secret: it is never printed and never written to disk.
	KubeconfigData string
	// Context is the kubeconfig context to use instead of its current-context.
	Context string
	// InCluster uses the service account of the pod this runs in.
	InCluster bool
}

// ServiceAccountDir is where Kubernetes mounts a pod's service-account token,
// CA certificate and namespace.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Option configures Config and Connect. Options are checked before anything is
// loaded, so a bad option fails first.
type Option func(*options) error

type options struct {
	getenv         func(string) string
	saDir          string
	userAgent      string
	qps            float32
	burst          int
	warnings       io.Writer
	checkTimeout   time.Duration
	requestTimeout time.Duration
	lookPath       func(string) (string, error)
}

// Defaults live here and nowhere else.
func defaults() *options {
	return &options{
		getenv: os.Getenv,
		saDir:  ServiceAccountDir,
		// client-go's own 5 requests a second (burst 10) makes applying a few
		// dozen objects and then watching them wait on the client, not the server.
		qps:      50,
		burst:    100,
		warnings: io.Discard,
		// Long enough for a managed control plane's first TLS handshake, short
		// enough that a firewalled endpoint fails in seconds, not after the
		// operating system's connect timeout.
		checkTimeout: 10 * time.Second,
		// A hung API server (it accepts and never answers) must not hold a
		// job until the CI's own limit: every request gets its response
		// headers within this, watches included (they answer at once).
		requestTimeout: DefaultRequestTimeout,
		lookPath:       exec.LookPath,
	}
}

// DefaultRequestTimeout bounds the wait for each API request's answer.
const DefaultRequestTimeout = 30 * time.Second

func newOptions(opts []Option) (*options, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithGetenv replaces os.Getenv for KUBECONFIG, HOME and the in-cluster
// KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("kube.WithGetenv: nil function")
		}
		o.getenv = getenv
		return nil
	}
}

// WithServiceAccountDir reads the in-cluster token, ca.crt and namespace from dir
// instead of ServiceAccountDir.
func WithServiceAccountDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("kube.WithServiceAccountDir: empty directory")
		}
		o.saDir = dir
		return nil
	}
}

// WithUserAgent sets the User-Agent the API server sees (and records in audit
// logs), e.g. "deploy-action/v1.2.3".
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

// WithRateLimit sets the client-side rate limit: qps requests a second on
// average, bursts of up to burst.
func WithRateLimit(qps float32, burst int) Option {
	return func(o *options) error {
		if qps <= 0 || burst < 1 {
			return fmt.Errorf("kube.WithRateLimit: %v requests a second, burst %d; use positive numbers", qps, burst)
		}
		o.qps, o.burst = qps, burst
		return nil
	}
}

// WithWarnings sends the API server's warnings (deprecated APIs, unknown fields
// dropped, ...) to w, one line each. Without it they are dropped.
func WithWarnings(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("kube.WithWarnings: nil writer")
		}
		o.warnings = w
		return nil
	}
}

// WithCheckTimeout bounds Connect's first request to the API server.
func WithCheckTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("kube.WithCheckTimeout: %v; use a positive duration", d)
		}
		o.checkTimeout = d
		return nil
	}
}

// WithRequestTimeout bounds the wait for the answer (the response headers) to
// each request to the API server (default DefaultRequestTimeout). A watch's
// stream is not bounded by it: its headers come at once.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("kube.WithRequestTimeout: %v; use a positive duration", d)
		}
		o.requestTimeout = d
		return nil
	}
}

// Config returns the client configuration a describes. Errors name the input to
// fix and never contain a credential.
func Config(a Access, opts ...Option) (*rest.Config, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, _, err := load(a, o)
	return cfg, err
}

// load returns the configuration and the namespace of the chosen context (the
// pod's own namespace in a cluster; "default" when none is set).
func load(a Access, o *options) (*rest.Config, string, error) {
	if err := a.check(); err != nil {
		return nil, "", err
	}
	var (
		cfg *rest.Config
		ns  string
		err error
	)
	switch {
	case a.InCluster:
		cfg, ns, err = inCluster(o)
	case a.KubeconfigData != "":
		cfg, ns, err = fromData(a.KubeconfigData, a.Context)
	default:
		cfg, ns, err = fromFiles(a, o.getenv)
	}
	if err != nil {
		return nil, "", err
	}
	if ns == "" {
		ns = "default"
	}
	cfg.QPS, cfg.Burst = o.qps, o.burst
	if o.userAgent != "" {
		cfg.UserAgent = o.userAgent
	}
	cfg.WarningHandler = rest.NewWarningWriter(o.warnings, rest.WarningWriterOptions{Deduplicate: true})
	if err := checkExec(cfg, o.lookPath); err != nil {
		return nil, "", err
	}
	warnTransport(cfg, o.warnings)
	return cfg, ns, nil
}

// checkExec refuses a user that gets its credentials from a program (exec:,
// as EKS and GKE kubeconfigs do) when that program is not installed: the
// action's image holds deploy-action alone, and client-go's own message
// ("executable aws not found") comes only at the first request and names
// neither the kubeconfig nor the fix.
func checkExec(cfg *rest.Config, lookPath func(string) (string, error)) error {
	if cfg.ExecProvider == nil {
		return nil
	}
	cmd := cfg.ExecProvider.Command
	if _, err := lookPath(cmd); err == nil {
		return nil
	}
	return fmt.Errorf("%w: the kubeconfig's user gets its credentials by running %q (exec:), and %q is not installed here; "+
		"the action's image holds deploy-action alone, so no credential program can run in it. "+
		"Give a kubeconfig with a token instead (a ServiceAccount's: kubectl create token NAME --duration=1h), "+
		"or run the CLI where %q is installed", ErrExecCredentials, cmd, cmd, cmd)
}

// ErrExecCredentials: the kubeconfig's user runs a credential program that is
// not installed.
var ErrExecCredentials = errors.New("kubeconfig credential program not available")

// warnTransport says when the kubeconfig weakens the connection: a server
// whose certificate is not checked. (Over plain HTTP client-go sends no
// credentials at all.)
func warnTransport(cfg *rest.Config, w io.Writer) {
	if cfg.Insecure {
		fmt.Fprintf(w, "warning: the kubeconfig sets insecure-skip-tls-verify for %s: the server's certificate is not checked, so anyone on the path can pose as the cluster and read the credentials; set certificate-authority-data instead\n", cfg.Host)
	}
}

func (a Access) check() error {
	var set []string
	if a.Kubeconfig != "" {
		set = append(set, InputKubeconfigFile)
	}
	if strings.TrimSpace(a.KubeconfigData) != "" {
		set = append(set, InputKubeconfig)
	}
	if a.InCluster {
		set = append(set, InputInCluster)
	}
	if len(set) > 1 {
		return fmt.Errorf("inputs %q are all set, but they are different ways to reach a cluster; keep one of them", set)
	}
	if a.KubeconfigData != "" && strings.TrimSpace(a.KubeconfigData) == "" {
		return fmt.Errorf(`input %q is blank; give the kubeconfig's content (usually from a secret), or leave it unset`, InputKubeconfig)
	}
	if a.InCluster && a.Context != "" {
		return fmt.Errorf(`input %q (%q) has no meaning with input %q: a pod's service account has no kubeconfig contexts; unset one of them`, InputContext, a.Context, InputInCluster)
	}
	return nil
}

func inCluster(o *options) (*rest.Config, string, error) {
	host, port := o.getenv("KUBERNETES_SERVICE_HOST"), o.getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, "", fmt.Errorf(`input %q: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, so this is not running in a Kubernetes pod; use input %q or %q instead`,
			InputInCluster, InputKubeconfig, InputKubeconfigFile)
	}
	token := filepath.Join(o.saDir, "token")
	if _, err := os.Stat(token); err != nil {
		return nil, "", fmt.Errorf(`input %q: the pod has no service-account token (%v); mount one (automountServiceAccountToken: true) or use input %q`,
			InputInCluster, err, InputKubeconfig)
	}
	cfg := &rest.Config{
		Host: "https://" + net.JoinHostPort(host, port),
		// The file, not its content: client-go rereads it, so a projected token
		// that the kubelet rotates during a long watch keeps working.
		BearerTokenFile: token,
	}
	if ca := filepath.Join(o.saDir, "ca.crt"); fileExists(ca) {
		cfg.TLSClientConfig.CAFile = ca
	}
	ns, _ := os.ReadFile(filepath.Join(o.saDir, "namespace"))
	return cfg, strings.TrimSpace(string(ns)), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// decodeData accepts a kubeconfig as YAML or as base64 of it, the two forms in
// which people store one in a CI secret.
func decodeData(data string) []byte {
	compact := strings.Join(strings.Fields(data), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if dec, err := enc.DecodeString(compact); err == nil && looksLikeKubeconfig(dec) {
			return dec
		}
	}
	return []byte(data)
}

func looksLikeKubeconfig(b []byte) bool {
	s := string(b)
	return strings.Contains(s, "clusters") || strings.Contains(s, "apiVersion")
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func fromData(data, context string) (*rest.Config, string, error) {
	raw, err := clientcmd.Load(decodeData(data))
	if err != nil {
		// Parser messages may quote the text around an error, and that text is
		// a secret: keep only the line number.
		where := ""
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			where = " (YAML error at line " + m[1] + ")"
		}
		return nil, "", fmt.Errorf(`input %q is not a valid kubeconfig%s; give the whole file as YAML (apiVersion: v1, kind: Config, clusters, users, contexts) or as base64 of it`,
			InputKubeconfig, where)
	}
	return fromAPIConfig(raw, context, InputKubeconfig, nil)
}

func fromFiles(a Access, getenv func(string) string) (*rest.Config, string, error) {
	rules := &clientcmd.ClientConfigLoadingRules{}
	input := InputKubeconfigFile
	switch {
	case a.Kubeconfig != "":
		if _, err := os.Stat(a.Kubeconfig); err != nil {
			return nil, "", fmt.Errorf(`input %q: cannot read %s (%v); give the path of a kubeconfig file, or its content in input %q`,
				InputKubeconfigFile, a.Kubeconfig, errors.Unwrap(err), InputKubeconfig)
		}
		rules.ExplicitPath = a.Kubeconfig
	case getenv("KUBECONFIG") != "":
		var found []string
		for _, p := range filepath.SplitList(getenv("KUBECONFIG")) {
			if p != "" && fileExists(p) {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			return nil, "", fmt.Errorf(`KUBECONFIG is %q, but no such file exists; fix KUBECONFIG, or set input %q (content, from a secret) or %q (a path)`,
				getenv("KUBECONFIG"), InputKubeconfig, InputKubeconfigFile)
		}
		rules.Precedence = found
		input = "KUBECONFIG"
	default:
		home := getenv("HOME")
		p := filepath.Join(home, ".kube", "config")
		if home == "" || !fileExists(p) {
			return nil, "", fmt.Errorf(`no cluster to deploy to: input %q is not set (a secret that does not exist is empty), KUBECONFIG is not set and there is no ~/.kube/config; set input %q to the kubeconfig's content (from a secret) or %q to its path, or %q when running in a pod`,
				InputKubeconfig, InputKubeconfig, InputKubeconfigFile, InputInCluster)
		}
		rules.ExplicitPath = p
		input = p
	}
	raw, err := rules.Load()
	if err != nil {
		// A file's own path is no secret; the parser's message about the file
		// may quote its content, so it keeps only the line number too.
		where := ""
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			where = " (YAML error at line " + m[1] + ")"
		}
		return nil, "", fmt.Errorf(`%s: not a valid kubeconfig%s; fix the file or point input %q at another one`,
			describeInput(input, a.Kubeconfig), where, InputKubeconfigFile)
	}
	return fromAPIConfig(raw, a.Context, describeInput(input, a.Kubeconfig), rules)
}

func describeInput(input, path string) string {
	if input == InputKubeconfigFile {
		return fmt.Sprintf("input %q (%s)", input, path)
	}
	if input == "KUBECONFIG" {
		return "KUBECONFIG"
	}
	return input
}

// fromAPIConfig picks the context and builds the client configuration. what
// names where raw came from, for errors.
func fromAPIConfig(raw *clientcmdapi.Config, context, what string, rules clientcmd.ClientConfigLoader) (*rest.Config, string, error) {
	if what == InputKubeconfig {
		what = fmt.Sprintf("input %q", InputKubeconfig)
	}
	if len(raw.Contexts) == 0 {
		return nil, "", fmt.Errorf(`%s has no contexts; a kubeconfig needs clusters, users and a context joining them (kubectl config view --minify --flatten prints one)`, what)
	}
	name := raw.CurrentContext
	if context != "" {
		name = context
	}
	if name == "" {
		return nil, "", fmt.Errorf(`%s has no current-context; set input %q to one of %s`, what, InputContext, contextNames(raw))
	}
	if _, ok := raw.Contexts[name]; !ok {
		if context != "" {
			return nil, "", fmt.Errorf(`input %q: context %q is not in %s; use one of %s`, InputContext, name, what, contextNames(raw))
		}
		return nil, "", fmt.Errorf(`%s: its current-context %q is not one of its contexts; set input %q to one of %s`, what, name, InputContext, contextNames(raw))
	}
	// A kubeconfig that names files works on the machine it was made on only;
	// kubectl can inline them.
	const fix = "fix the kubeconfig; `kubectl config view --minify --flatten --raw` prints a self-contained one"
	// clientcmd's errors name files and entries, not values; should one hold a
	// credential, the caller's masker has it already (see Secrets), and masks
	// the error where it is printed.
	cc := clientcmd.NewNonInteractiveClientConfig(*raw, name, &clientcmd.ConfigOverrides{}, rules)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("%s, context %q: %w; %s", what, name, err, fix)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("%s, context %q: %w; %s", what, name, err, fix)
	}
	return cfg, ns, nil
}

func contextNames(raw *clientcmdapi.Config) string {
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Secrets returns the credentials held in kubeconfig content (input
// "kubeconfig"), each as one line of text as it may appear in a log: tokens,
// passwords, client keys (also base64-encoded, as the file holds them),
// auth-provider settings and exec environment values. A caller registers them
// with its log masker before anything is printed; content that does not parse
// gives none, and Config then refuses it without quoting it.
func Secrets(data string) []string {
	raw, err := clientcmd.Load(decodeData(data))
	if err != nil {
		return nil
	}
	var out []string
	for _, v := range credentials(raw) {
		out = append(out, v)
		if strings.Contains(v, "\n") { // PEM: the file holds it base64-encoded
			out = append(out, base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	return out
}

// credentialName matches the names of settings whose values are credentials
// (access-token, client-secret, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
var credentialName = regexp.MustCompile(`(?i)(token|secret|passw|key|credential|cookie)`)

// AccessSecrets returns the credentials of the kubeconfig a uses, as Secrets
// does for content: from KubeconfigData, the file of Kubeconfig, else the
// files of $KUBECONFIG (read through getenv), else ~/.kube/config. A caller
// registers them with its masker before anything is printed; a file that
// cannot be read gives none (loading it says why).
func AccessSecrets(a Access, getenv func(string) string) []string {
	if a.InCluster {
		return nil
	}
	if strings.TrimSpace(a.KubeconfigData) != "" {
		return Secrets(a.KubeconfigData)
	}
	var files []string
	switch {
	case a.Kubeconfig != "":
		files = []string{a.Kubeconfig}
	case getenv("KUBECONFIG") != "":
		files = filepath.SplitList(getenv("KUBECONFIG"))
	case getenv("HOME") != "":
		files = []string{filepath.Join(getenv("HOME"), ".kube", "config")}
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		out = append(out, Secrets(string(b))...)
	}
	return out
}

// credentials lists the secret values of raw, longest first, so that a secret
// containing another is replaced whole.
func credentials(raw *clientcmdapi.Config) []string {
	var secrets []string
	add := func(v string) {
		if len(v) >= 4 {
			secrets = append(secrets, v)
		}
	}
	for _, u := range raw.AuthInfos {
		add(u.Token)
		add(u.Password)
		add(string(u.ClientKeyData))
		if u.TokenFile != "" {
			if b, err := os.ReadFile(u.TokenFile); err == nil {
				add(strings.TrimSpace(string(b)))
			}
		}
		// Only the settings that are credentials: an exec env's AWS_PROFILE
		// ("default") or an auth provider's client-id, masked, would blank
		// ordinary words for the whole job.
		if u.AuthProvider != nil {
			for k, v := range u.AuthProvider.Config {
				if credentialName.MatchString(k) {
					add(v)
				}
			}
		}
		if u.Exec != nil {
			for _, e := range u.Exec.Env {
				if credentialName.MatchString(e.Name) {
					add(e.Value)
				}
			}
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return secrets
}
