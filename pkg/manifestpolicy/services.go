package manifestpolicy

import (
	"context"
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// adminPortName matches port names that say what is behind them.
var adminPortName = regexp.MustCompile(`(?i)(metrics|admin|debug|pprof|management|manage|actuator|prometheus|console|dashboard)`)

// adminPorts are the well-known ports of monitoring and admin servers.
var adminPorts = map[int32]string{
	9090: "Prometheus' UI and query API", 9091: "the Prometheus Pushgateway", 9093: "Alertmanager",
	9100: "the node exporter's metrics", 15672: "RabbitMQ's management UI",
	2019: "Caddy's admin API", 15000: "Envoy's admin interface", 9901: "Envoy's admin interface",
}

// adminImages are monitoring and admin tools: whatever port of theirs a
// public Service opens is an admin one.
var adminImages = map[string]string{
	"prometheus": "Prometheus", "alertmanager": "Alertmanager", "pushgateway": "the Prometheus Pushgateway",
	"node-exporter": "the node exporter", "pgadmin4": "pgAdmin", "phpmyadmin": "phpMyAdmin", "adminer": "Adminer",
	"mongo-express": "mongo-express", "redis-commander": "Redis Commander", "kibana": "Kibana",
}

// checkExposedAdmin reports LoadBalancer and NodePort Services in front of
// admin or metrics ports: by the port's name and number, and by the image of
// the pods the Service selects in the release. Admission and linters check a
// Service alone; what sits behind it is release knowledge, so it is ours.
func checkExposedAdmin(_ context.Context, rel *release, _ Config) ([]finding, error) {
	var out []finding
	for i, o := range rel.objects {
		if o.kind != "Service" {
			continue
		}
		var svc corev1.Service
		if err := decode(o.Node, nil, &svc); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", o.Source, o.id, err)
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Spec.Type != corev1.ServiceTypeNodePort {
			continue
		}
		var behind []*workload
		if len(svc.Spec.Selector) > 0 {
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			for _, w := range rel.workloads {
				if rel.objects[w.obj].namespace == o.namespace && sel.Matches(labels.Set(w.labels)) {
					behind = append(behind, w)
				}
			}
		}
		for j, p := range svc.Spec.Ports {
			what := adminPort(p, behind)
			if what == "" {
				continue
			}
			out = append(out, finding{obj: i, line: line(o.Node.YNode(), "spec", "ports", j),
				msg: fmt.Sprintf("Service of type %s exposes port %d (%s) outside the cluster: anyone who reaches it can read, and often change, what it serves",
					svc.Spec.Type, p.Port, what),
				fix: "make the Service ClusterIP and reach it with `kubectl port-forward`, or behind an Ingress or proxy that authenticates; expose only the app's own port"})
		}
	}
	return out, nil
}

func adminPort(p corev1.ServicePort, behind []*workload) string {
	if adminPortName.MatchString(p.Name) {
		return "named " + p.Name
	}
	if p.TargetPort.Type == intstr.String && adminPortName.MatchString(p.TargetPort.StrVal) {
		return "target port " + p.TargetPort.StrVal
	}
	target := p.Port
	if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal != 0 {
		target = p.TargetPort.IntVal
	}
	for _, w := range behind {
		for _, c := range w.spec.Containers {
			serves := false
			for _, cp := range c.Ports {
				if (p.TargetPort.Type == intstr.String && cp.Name == p.TargetPort.StrVal) || cp.ContainerPort == target {
					serves = true
					if adminPortName.MatchString(cp.Name) {
						return fmt.Sprintf("container port %s of %s", cp.Name, c.Name)
					}
				}
			}
			if tool, ok := adminImages[parseImage(c.Image).base()]; ok && (serves || len(c.Ports) == 0) {
				return tool + ", image " + c.Image
			}
		}
	}
	if what, ok := adminPorts[target]; ok {
		return what
	}
	return ""
}

// checkPDB reports workloads of several replicas that no PodDisruptionBudget
// of the release covers. It needs the whole release, which single-object
// checkers do not see.
func checkPDB(_ context.Context, rel *release, _ Config) ([]finding, error) {
	type budget struct {
		namespace string
		sel       labels.Selector
	}
	var budgets []budget
	for _, o := range rel.objects {
		if o.kind != "PodDisruptionBudget" {
			continue
		}
		var pdb policyv1.PodDisruptionBudget
		if err := decode(o.Node, nil, &pdb); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", o.Source, o.id, err)
		}
		if pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: spec.selector: %w", o.Source, o.id, err)
		}
		budgets = append(budgets, budget{o.namespace, sel})
	}
	var out []finding
	for _, w := range rel.workloads {
		if w.kind == "DaemonSet" || !w.longRunning() || !w.several() {
			continue
		}
		o := rel.objects[w.obj]
		covered := false
		for _, b := range budgets {
			covered = covered || (b.namespace == o.namespace && !b.sel.Empty() && b.sel.Matches(labels.Set(w.labels)))
		}
		if covered {
			continue
		}
		out = append(out, finding{obj: w.obj, line: w.replicasLine,
			msg: fmt.Sprintf("%s runs %s and no PodDisruptionBudget covers them: a node drain or cluster upgrade may evict them all at once", o.kind, w.pods()),
			fix: fmt.Sprintf("add a PodDisruptionBudget (policy/v1) with the pods' labels as its selector and maxUnavailable: 1; labels: %s", labelText(w.labels))})
	}
	return out, nil
}

func labelText(m map[string]string) string {
	if len(m) == 0 {
		return "(none: give the pods labels first)"
	}
	return labels.Set(m).String()
}
