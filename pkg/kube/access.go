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

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Fields of Access, as a *field.Error or a field.Names names them: errors
// say which one to fix.
const (
	FieldKubeconfig     = "kube.Access.Kubeconfig"     // a kubeconfig's path
	FieldKubeconfigData = "kube.Access.KubeconfigData" // kubeconfig content, from a secret
	FieldContext        = "kube.Access.Context"
	FieldInCluster      = "kube.Access.InCluster"
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
	names          field.Names
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

// WithFieldNames names the fields of Access in the messages that refer to
// one ("set kube.Access.Context to one of ..."), as the caller's users set
// them; without it they are named by their Field* constants.
func WithFieldNames(names field.Names) Option {
	return func(o *options) error {
		o.names = names
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

// Config returns the client configuration a describes. Errors name the field
// to fix (a *field.Error where one field is at fault) and never contain a
// credential.
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
	if err := a.check(o.names); err != nil {
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
		cfg, ns, err = fromData(a.KubeconfigData, a.Context, o.names)
	default:
		cfg, ns, err = fromFiles(a, o.getenv, o.names)
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

func (a Access) check(names field.Names) error {
	var set []string
	if a.Kubeconfig != "" {
		set = append(set, names.Of(FieldKubeconfig))
	}
	if strings.TrimSpace(a.KubeconfigData) != "" {
		set = append(set, names.Of(FieldKubeconfigData))
	}
	if a.InCluster {
		set = append(set, names.Of(FieldInCluster))
	}
	if len(set) > 1 {
		return fmt.Errorf("%s are all set, but they are different ways to reach a cluster; keep one of them", strings.Join(set, " and "))
	}
	if a.KubeconfigData != "" && strings.TrimSpace(a.KubeconfigData) == "" {
		return field.Errorf(FieldKubeconfigData, "the value is blank; give the kubeconfig's content (usually from a secret), or leave it unset")
	}
	if a.InCluster && a.Context != "" {
		return field.Errorf(FieldContext, "%q has no meaning with %s: a pod's service account has no kubeconfig contexts; unset one of them",
			a.Context, names.Of(FieldInCluster))
	}
	return nil
}

func inCluster(o *options) (*rest.Config, string, error) {
	host, port := o.getenv("KUBERNETES_SERVICE_HOST"), o.getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, "", field.Errorf(FieldInCluster, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, so this is not running in a Kubernetes pod; use %s or %s instead",
			o.names.Of(FieldKubeconfigData), o.names.Of(FieldKubeconfig))
	}
	token := filepath.Join(o.saDir, "token")
	if _, err := os.Stat(token); err != nil {
		return nil, "", field.Errorf(FieldInCluster, "the pod has no service-account token (%v); mount one (automountServiceAccountToken: true) or use %s",
			err, o.names.Of(FieldKubeconfigData))
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

// source is where a kubeconfig came from, for errors: a field of Access (the
// content, a file's path), or $KUBECONFIG or ~/.kube/config when none is set.
type source struct {
	field string // "" when no field of Access was set
	path  string // the file, for a path; "KUBECONFIG" for $KUBECONFIG's files
}

// errorf is an error about the kubeconfig itself; format starts with "%s",
// the kubeconfig's description. An error about a field the caller set is a
// *field.Error of it.
func (s source) errorf(format string, args ...any) error {
	if s.field == "" {
		return fmt.Errorf(format, append([]any{s.path}, args...)...)
	}
	what := "the kubeconfig"
	if s.path != "" {
		what = s.path
	}
	return field.Errorf(s.field, format, append([]any{what}, args...)...)
}

// describe names the kubeconfig in a sentence about another field:
// "kube.Access.Kubeconfig (/ci/config)", or as names has it.
func (s source) describe(names field.Names) string {
	switch {
	case s.field == "":
		return s.path
	case s.path == "":
		return names.Of(s.field)
	}
	return fmt.Sprintf("%s (%s)", names.Of(s.field), s.path)
}

func fromData(data, context string, names field.Names) (*rest.Config, string, error) {
	raw, err := clientcmd.Load(decodeData(data))
	if err != nil {
		// Parser messages may quote the text around an error, and that text is
		// a secret: keep only the line number.
		where := ""
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			where = " (YAML error at line " + m[1] + ")"
		}
		return nil, "", field.Errorf(FieldKubeconfigData, "not a valid kubeconfig%s; give the whole file as YAML (apiVersion: v1, kind: Config, clusters, users, contexts) or as base64 of it", where)
	}
	return fromAPIConfig(raw, context, source{field: FieldKubeconfigData}, nil, names)
}

func fromFiles(a Access, getenv func(string) string, names field.Names) (*rest.Config, string, error) {
	rules := &clientcmd.ClientConfigLoadingRules{}
	var src source
	switch {
	case a.Kubeconfig != "":
		if _, err := os.Stat(a.Kubeconfig); err != nil {
			return nil, "", field.Errorf(FieldKubeconfig, "cannot read %s (%v); give the path of a kubeconfig file, or its content in %s",
				a.Kubeconfig, errors.Unwrap(err), names.Of(FieldKubeconfigData))
		}
		rules.ExplicitPath = a.Kubeconfig
		src = source{field: FieldKubeconfig, path: a.Kubeconfig}
	case getenv("KUBECONFIG") != "":
		var found []string
		for _, p := range filepath.SplitList(getenv("KUBECONFIG")) {
			if p != "" && fileExists(p) {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			return nil, "", fmt.Errorf(`KUBECONFIG is %q, but no such file exists; fix KUBECONFIG, or set %s (content, from a secret) or %s (a path)`,
				getenv("KUBECONFIG"), names.Of(FieldKubeconfigData), names.Of(FieldKubeconfig))
		}
		rules.Precedence = found
		src = source{path: "KUBECONFIG"}
	default:
		home := getenv("HOME")
		p := filepath.Join(home, ".kube", "config")
		if home == "" || !fileExists(p) {
			return nil, "", fmt.Errorf(`no cluster to deploy to: %s is not set (a secret that does not exist is empty), KUBECONFIG is not set and there is no ~/.kube/config; set %[1]s to the kubeconfig's content (from a secret) or %[2]s to its path, or %[3]s when running in a pod`,
				names.Of(FieldKubeconfigData), names.Of(FieldKubeconfig), names.Of(FieldInCluster))
		}
		rules.ExplicitPath = p
		src = source{path: p}
	}
	raw, err := rules.Load()
	if err != nil {
		// A file's own path is no secret; the parser's message about the file
		// may quote its content, so it keeps only the line number too.
		where := ""
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			where = " (YAML error at line " + m[1] + ")"
		}
		return nil, "", src.errorf("%s: not a valid kubeconfig%s; fix the file or point %s at another one", where, names.Of(FieldKubeconfig))
	}
	return fromAPIConfig(raw, a.Context, src, rules, names)
}

// fromAPIConfig picks the context and builds the client configuration. src
// is where raw came from, for errors.
func fromAPIConfig(raw *clientcmdapi.Config, context string, src source, rules clientcmd.ClientConfigLoader, names field.Names) (*rest.Config, string, error) {
	if len(raw.Contexts) == 0 {
		return nil, "", src.errorf(`%s has no contexts; a kubeconfig needs clusters, users and a context joining them (kubectl config view --minify --flatten prints one)`)
	}
	name := raw.CurrentContext
	if context != "" {
		name = context
	}
	if name == "" {
		return nil, "", src.errorf(`%s has no current-context; set %s to one of %s`, names.Of(FieldContext), contextNames(raw))
	}
	if _, ok := raw.Contexts[name]; !ok {
		if context != "" {
			return nil, "", field.Errorf(FieldContext, `context %q is not in %s; use one of %s`, name, src.describe(names), contextNames(raw))
		}
		return nil, "", src.errorf(`%s: its current-context %q is not one of its contexts; set %s to one of %s`, name, names.Of(FieldContext), contextNames(raw))
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
		return nil, "", src.errorf("%s, context %q: %w; %s", name, err, fix)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", src.errorf("%s, context %q: %w; %s", name, err, fix)
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

// Secrets returns the credentials held in kubeconfig content
// (Access.KubeconfigData), each as one line of text as it may appear in a log: tokens,
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
