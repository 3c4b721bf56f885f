package controlplane

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"
)

// BehaviourAnnotation chooses a simulated behaviour for every container of a pod,
// overriding the one its image chooses.
const BehaviourAnnotation = "kubetest.deploy-action/behaviour"

//go:embed stages.yaml.tmpl
var stagesTemplate string

// behaviourJQ computes a pod's behaviour in kwok's stage selectors: the first of
// pull-error, crash, oom, unready that one of its containers has, else healthy. The
// kwok templates in stages.yaml.tmpl compute the same per container.
const behaviourJQ = `(.metadata.annotations["` + BehaviourAnnotation + `"] // "") as $a` +
	` | [.spec.containers[] | if $a != "" then $a else ((.image | capture("^example\\.com/(?<b>[a-z-]+)(?:[:@]|$)") | .b) // "healthy") end] as $bs` +
	` | ["pull-error", "crash", "oom", "unready"] | map(select(. as $f | any($bs[]; . == $f))) | .[0] // "healthy"`

type stageEvent struct {
	Chooser, Type, Reason, Key, Message, Count, Setup string
}

type startStage struct {
	Name       string
	Behaviours []string
	Events     []stageEvent
}

// Stages renders the kwok configuration: the node stages and the pod stages that
// simulate the behaviours.
func Stages() ([]byte, error) {
	t := template.New("stages").Delims("[[", "]]")
	t.Funcs(template.FuncMap{
		"annotation":  func() string { return BehaviourAnnotation },
		"behaviourJQ": func() string { return behaviourJQ },
		"fields":      strings.Fields,
		"event": func(chooser, typ, reason, key, message, count string) stageEvent {
			return stageEvent{Chooser: chooser, Type: typ, Reason: reason, Key: key, Message: message, Count: count}
		},
		"setup": func(code string, e stageEvent) stageEvent {
			e.Setup = code
			return e
		},
		"stage": func(name, behaviours string, events ...stageEvent) startStage {
			return startStage{Name: name, Behaviours: strings.Fields(behaviours), Events: events}
		},
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			lines := strings.Split(s, "\n")
			for i, l := range lines {
				if l != "" {
					lines[i] = pad + l
				}
			}
			return strings.Join(lines, "\n")
		},
		"include": func(string, any) (string, error) { return "", nil },
	})
	t.Funcs(template.FuncMap{"include": func(name string, data any) (string, error) {
		var b bytes.Buffer
		err := t.ExecuteTemplate(&b, name, data)
		return strings.Trim(b.String(), "\n"), err
	}})
	if _, err := t.Parse(stagesTemplate); err != nil {
		return nil, fmt.Errorf("parsing the kwok stages: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, nil); err != nil {
		return nil, fmt.Errorf("rendering the kwok stages: %w", err)
	}
	return b.Bytes(), nil
}
