package manifestpolicy

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/policy"
)

// secretName matches names that say their value is a secret. gitleaks reads
// values; a short password such as "s3cret" matches none of its rules, so a
// name is a finding by itself.
var secretName = regexp.MustCompile(`(?i)(passw(or)?d|(^|[^a-z])(pass|pwd)([^a-z]|$)|secret|token|api[-_.]?key|private[-_.]?key|access[-_.]?key|credential|auth[-_.]?key|signing[-_.]?key|encryption[-_.]?key)`)

// notSecretName are the last words of names that hold something about a
// secret rather than the secret: where it is, whose it is, how long it lives.
var notSecretName = regexp.MustCompile(`(?i)[-_.](file|path|dir|name|user|username|id|ttl|timeout|expiry|expires|length|header|type|ref|enabled|url|uri|host|port|endpoint|issuer|audience|algorithm|scope|seconds|minutes|size|version)$`)

// placeholder reports values that hold no secret: references the kubelet or
// the shell expands, and empty or boolean values.
func placeholder(v string) bool {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "true", "false", "yes", "no":
		return true
	}
	return strings.HasPrefix(v, "$(") || strings.HasPrefix(v, "${") || (strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">"))
}

func secretByName(name, value string) bool {
	return secretName.MatchString(name) && !notSecretName.MatchString(name) && !placeholder(value) && !plainURL(value)
}

// plainURL reports a URL without a password: where a token is fetched, not
// the token (a password in it is urlPassword's).
func plainURL(v string) bool {
	u, err := url.Parse(strings.TrimSpace(v))
	return err == nil && u.Scheme != "" && u.Host != "" && !urlPassword(v)
}

// urlPassword reports a URL with a password in it (postgresql://u:p@db/x).
func urlPassword(v string) bool {
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, " \n") || !strings.Contains(v, "://") {
		return false
	}
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return false
	}
	p, ok := u.User.Password()
	return ok && !placeholder(p)
}

const envSecretFix = "move the value to a Secret and reference it with valueFrom.secretKeyRef " +
	"(kubectl create secret generic NAME --from-literal=KEY=..., from the CI's secrets); then rotate it: it is in the repository's history"

// checkSecrets reports literal secrets in containers' env values and in
// ConfigMaps: by the variable's or key's name, by a password in a URL, and by
// the gitleaks rules the image check runs. Messages name the variable, never
// the value.
func checkSecrets(ctx context.Context, rel *release, _ Config) ([]finding, error) {
	var out []finding
	for _, w := range rel.workloads {
		node := rel.objects[w.obj].Node.YNode()
		for _, c := range w.containers() {
			for i, e := range c.Env {
				if e.ValueFrom != nil || e.Value == "" {
					continue
				}
				why, err := secretIn(ctx, e.Name, e.Value)
				if err != nil {
					return nil, err
				}
				if why == "" {
					continue
				}
				out = append(out, finding{obj: w.obj, line: line(node, w.path(c, "env", i, "value")...),
					msg: fmt.Sprintf("container %s: env %s holds %s as a literal value: anyone who reads the manifests, the repository or the object in the cluster has it", c.Name, e.Name, why),
					fix: envSecretFix})
			}
		}
	}
	for i, o := range rel.objects {
		if o.kind != "ConfigMap" {
			continue
		}
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if err := decode(o.Node, []string{}, &cm); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", o.Source, o.id, err)
		}
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := cm.Data[k]
			at, block := valueLine(o.Node.YNode(), "data", k)
			if secretByName(k, v) || urlPassword(v) {
				why := "a secret (its key's name says so)"
				if urlPassword(v) {
					why = "a URL with a password"
				}
				out = append(out, finding{obj: i, line: at, msg: fmt.Sprintf("data %s holds %s: a ConfigMap is readable by anyone who may read the namespace's configuration", k, why),
					fix: "move it to a Secret (mounted as a file, or as env through secretKeyRef), then rotate it: it is in the repository's history"})
				continue
			}
			matches, err := policy.DetectSecrets(ctx, v)
			if err != nil {
				return nil, err
			}
			for _, m := range matches {
				l := at
				if block {
					l += m.Line
				}
				out = append(out, finding{obj: i, line: l, msg: fmt.Sprintf("data %s holds a secret (%s): a ConfigMap is readable by anyone who may read the namespace's configuration", k, m.Rule),
					fix: "move it to a Secret (mounted as a file, or as env through secretKeyRef), then rotate it: it is in the repository's history"})
			}
		}
	}
	return out, nil
}

// secretIn says what secret an env variable holds, "" when none.
func secretIn(ctx context.Context, name, value string) (string, error) {
	if urlPassword(value) {
		return "a URL with a password", nil
	}
	if secretByName(name, value) {
		return "a secret (its name says so)", nil
	}
	// As the variable would appear in a file: several rules key on the name.
	matches, err := policy.DetectSecrets(ctx, name+"="+value)
	if err != nil || len(matches) == 0 {
		return "", err
	}
	return fmt.Sprintf("a secret (%s)", matches[0].Rule), nil
}
