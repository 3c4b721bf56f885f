package cli

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/deploy-action/deploy-action/internal/report"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/smoke"
	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// secretValue is one value of a secret input, with what names it (a variable,
// a key, a line) for the messages that must not show it.
type secretValue struct {
	name, value string
}

// inputText is an input's value as the run sees it: the command's flag or,
// in Actions, the action input of an input the command does not have.
func (e *env) inputText(v *values, n string) string {
	if t := v.text(n); t != "" || v.has(n) {
		return t
	}
	if e.rep.InActions() {
		return e.rep.Action().GetInput(n)
	}
	return ""
}

// registerSecrets registers every value of every secret input with the one
// masker, whatever its kind, before anything else is printed; a value too
// short to mask is refused, naming the input. Passwords in URLs are
// registered from every input, secret or not.
func (e *env) registerSecrets(v *values) error {
	for _, in := range inputs {
		text := e.inputText(v, in.name)
		if strings.TrimSpace(text) == "" {
			continue
		}
		for _, p := range urlPasswordsIn(text) {
			if len(p) >= report.MinSecretLength {
				e.rep.Secret(p)
			}
		}
		if !in.secret {
			continue
		}
		if in.name == "kubeconfig" {
			// A document: masked whole here, its credentials one by one
			// everywhere (see report.SecretDocument).
			e.rep.SecretDocument(text)
			for _, c := range kube.Secrets(text) {
				e.rep.Secret(c)
			}
			continue
		}
		vals, err := e.secretValues(in, text)
		if err != nil {
			return err
		}
		for _, sv := range vals {
			if len(strings.TrimSpace(sv.value)) < report.MinSecretLength {
				what := "its value"
				if sv.name != "" {
					what = "the value of " + sv.name
				}
				return fmt.Errorf("input %q: %s is shorter than %d characters, too short to mask without blanking the same characters all over the output; use a longer secret",
					in.name, what, report.MinSecretLength)
			}
			e.rep.Secret(sv.value)
			// A secret file's lines show one at a time in a log.
			for _, line := range strings.Split(sv.value, "\n") {
				if line = strings.TrimSpace(line); len(line) >= report.MinSecretLength {
					e.rep.Secret(line)
				}
			}
		}
	}
	return nil
}

// secretValues returns the values of a secret input by its kind: a string
// whole, each item of a list, the value of each NAME=value line, the values
// under each "secrets:" key of YAML; "build-secrets" lines name where the
// value is, and it is read from there.
func (e *env) secretValues(in input, text string) ([]secretValue, error) {
	switch {
	case in.name == inputBuildSecrets:
		specs, err := e.buildSecrets(text)
		if err != nil {
			return nil, err
		}
		out := make([]secretValue, len(specs))
		for i, s := range specs {
			out[i] = secretValue{name: "secret " + s.id, value: string(s.value)}
		}
		return out, nil
	case in.kind == kindString:
		return []secretValue{{value: text}}, nil
	case in.kind == kindList:
		var out []secretValue
		for _, f := range textlist.Split(text) {
			out = append(out, secretValue{value: f})
		}
		return out, nil
	case in.kind == kindLines:
		var out []secretValue
		for i, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, val, ok := strings.Cut(line, "=")
			if !ok {
				// Not NAME=value: the whole line may be the secret. Its parser
				// refuses it later, naming the line; mask it meanwhile.
				out = append(out, secretValue{name: fmt.Sprintf("line %d", i+1), value: line})
				continue
			}
			out = append(out, secretValue{name: strings.TrimSpace(strings.TrimPrefix(k, "export ")), value: val})
		}
		return out, nil
	case in.kind == kindYAML:
		return yamlSecrets(text), nil
	}
	return nil, nil
}

// yamlSecrets returns the scalar values under every "secrets:" mapping of a
// YAML document ("services": db: {secrets: {POSTGRES_PASSWORD: ...}}). YAML
// that does not parse gives none; its parser refuses it without quoting it.
func yamlSecrets(text string) []secretValue {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil
	}
	var out []secretValue
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				if k.Value == "secrets" && val.Kind == yaml.MappingNode {
					for j := 0; j+1 < len(val.Content); j += 2 {
						if s := val.Content[j+1]; s.Kind == yaml.ScalarNode {
							out = append(out, secretValue{name: strings.TrimPrefix(path+" "+val.Content[j].Value, " "), value: s.Value})
						}
					}
					continue
				}
				walk(val, strings.TrimPrefix(path+" "+k.Value+":", " "))
			}
		}
	}
	walk(&doc, "")
	return out
}

var urlInText = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://[^\s,;"']+`)

// urlPasswordsIn returns the passwords of the URLs in text.
func urlPasswordsIn(text string) []string {
	var out []string
	for _, u := range urlInText.FindAllString(text, -1) {
		out = append(out, smoke.URLPasswords(u)...)
	}
	return out
}

// warnSecretNames warns when a plain setting is named like a secret: it is a
// guess, so it never masks, but it says where the value belongs.
func (e *env) warnSecretNames(v *values) {
	var warnings []string
	warn := func(name, where, to string) {
		if smoke.LooksSecret(name) {
			warnings = append(warnings, fmt.Sprintf("`%s`%s looks like a secret: move it to `%s`", name, where, to))
		}
	}
	keys := func(n string, split func(string) []string) []string {
		var out []string
		for _, line := range strings.Split(e.inputText(v, n), "\n") {
			for _, part := range split(line) {
				if k, _, ok := strings.Cut(part, "="); ok && strings.TrimSpace(k) != "" && !strings.HasPrefix(strings.TrimSpace(k), "#") {
					out = append(out, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "export ")))
				}
			}
		}
		return out
	}
	whole := func(s string) []string { return []string{s} }
	commas := func(s string) []string { return strings.Split(s, ",") }
	for _, k := range keys("smoke-env", whole) {
		warn(k, " in input \"smoke-env\"", "smoke-secrets")
	}
	if svcs, err := smoke.ParseServices(e.inputText(v, "services")); err == nil {
		for _, s := range svcs {
			names := make([]string, 0, len(s.Env))
			for k := range s.Env {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				warn(k, fmt.Sprintf(" in the env of service %q", s.Name), "secrets:` of service `"+s.Name)
			}
		}
	}
	for _, k := range keys("helm-set", commas) {
		parts := strings.Split(k, ".")
		if smoke.LooksSecret(parts[len(parts)-1]) {
			warnings = append(warnings, fmt.Sprintf("`%s` in input \"helm-set\" looks like a secret: move it to `helm-set-secrets`", k))
		}
	}
	for _, k := range keys("build-args", whole) {
		if smoke.LooksSecret(k) {
			warnings = append(warnings, fmt.Sprintf("build arg `%s` looks like a secret: build args stay in the image's history for anyone who pulls it; pass it in `build-secrets` and read it with RUN --mount=type=secret", k))
		}
	}
	for _, w := range warnings {
		e.rep.Warnf("%s", w)
	}
}

// buildSecret is one BuildKit secret of input "build-secrets".
type buildSecret struct {
	id    string
	value []byte
}

const inputBuildSecrets = "build-secrets"

// buildSecrets reads "build-secrets": one secret a line, id=ID,env=VAR (the
// value of an environment variable, e.g. one a workflow sets from a secret)
// or id=ID,src=FILE. Errors name the line, never a value.
func (e *env) buildSecrets(text string) ([]buildSecret, error) {
	var out []buildSecret
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(what string) error {
			return fmt.Errorf("input %q: line %d: %s; write id=ID,env=VARIABLE or id=ID,src=FILE, e.g. id=npm_token,env=NPM_TOKEN", inputBuildSecrets, i+1, what)
		}
		fields := map[string]string{}
		for _, f := range strings.Split(line, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(f), "=")
			if !ok {
				return nil, bad("a field is not key=value")
			}
			switch k {
			case "id", "env", "src", "type":
			default:
				return nil, bad(fmt.Sprintf("unknown field %q", k))
			}
			fields[k] = strings.TrimSpace(val)
		}
		id := fields["id"]
		switch {
		case id == "":
			return nil, bad("no id")
		case seen[id]:
			return nil, bad(fmt.Sprintf("id %q is given twice", id))
		case (fields["env"] == "") == (fields["src"] == ""):
			return nil, bad("give one of env= or src=")
		}
		seen[id] = true
		s := buildSecret{id: id}
		if name := fields["env"]; name != "" {
			val := e.getenv(name)
			if val == "" {
				return nil, bad(fmt.Sprintf("the environment variable %s is empty or unset; set it from a secret in the step's env:", name))
			}
			s.value = []byte(val)
		} else {
			b, err := os.ReadFile(fields["src"])
			if err != nil {
				return nil, bad(fmt.Sprintf("cannot read %s (%v)", fields["src"], err))
			}
			s.value = b
		}
		out = append(out, s)
	}
	return out, nil
}
