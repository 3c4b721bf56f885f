package apply

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Object is one object to apply and where it came from.
type Object struct {
	*unstructured.Unstructured
	// Source names where the object came from, for errors: a file and line
	// ("k8s/web.yaml:12"), a chart template, a kustomization. Optional.
	Source string
}

// Objects wraps objects that carry no source.
func Objects(us ...*unstructured.Unstructured) []Object {
	out := make([]Object, len(us))
	for i, u := range us {
		out[i] = Object{Unstructured: u}
	}
	return out
}

// Action is what applying an object did.
type Action string

const (
	// Created: the object did not exist.
	Created Action = "created"
	// Configured: the object existed and changed.
	Configured Action = "configured"
	// Unchanged: the object existed and already was as applied.
	Unchanged Action = "unchanged"
	// Replaced: a finished Job whose pod template changed was deleted and
	// created again.
	Replaced Action = "replaced"
	// Skipped: a dry run could not check the object, because it depends on
	// something the same apply would have created (a namespace, a
	// CustomResourceDefinition); Applied.Note says which.
	Skipped Action = "skipped"
)

// Applied is one applied object.
type Applied struct {
	GVK       schema.GroupVersionKind
	Resource  schema.GroupVersionResource
	Namespace string // empty for cluster-scoped objects
	Name      string
	Source    string
	Action    Action
	// Note explains a Skipped action, or a replaced Job in a dry run.
	Note string
	// UID, Generation and ResourceVersion are the server's after the apply.
	// A watch of the rollout starts from them: the rollout is done when
	// status.observedGeneration reaches Generation.
	UID             types.UID
	Generation      int64
	ResourceVersion string
	// Previous is what a workload (Deployment, StatefulSet, DaemonSet, Job) was
	// before the apply, to roll back to; nil for other kinds.
	Previous *Previous
	// Before is the object as it was in the cluster before the apply (its
	// managedFields included), for a rollback of the whole release; nil when
	// the apply created it. See PreviousConfig.
	Before *unstructured.Unstructured
	// Object is the object as the server returned it.
	Object *unstructured.Unstructured
}

// String names the object as people do: "Deployment shop/web".
func (a Applied) String() string { return describe(a.GVK.Kind, a.Namespace, a.Name) }

// IsWorkload reports whether the object runs pods whose rollout can be watched.
func (a Applied) IsWorkload() bool { return isWorkload(a.GVK.GroupKind()) }

func describe(kind, ns, name string) string {
	switch {
	case name == "":
		return kind
	case ns == "":
		return kind + " " + name
	default:
		return kind + " " + ns + "/" + name
	}
}

// Previous is a workload's state before the apply.
type Previous struct {
	// Existed is false on a first deploy: there is nothing to roll back to.
	Existed bool
	UID     types.UID
	// Generation and ObservedGeneration are metadata.generation and
	// status.observedGeneration before the apply.
	Generation         int64
	ObservedGeneration int64
	// Revision is the revision to restore:
	//   Deployment: the deployment.kubernetes.io/revision annotation, whose
	//     ReplicaSet (same annotation) holds the template;
	//   StatefulSet: status.updateRevision, the ControllerRevision of its
	//     template;
	//   DaemonSet: the name of its newest ControllerRevision.
	// Empty for Jobs, and for a workload the controller has not yet seen.
	Revision string
	// RevisionNumber is the number of the revision live before the apply, the
	// one a rollback restores: the annotation for a Deployment; the
	// ControllerRevision's .revision of Revision for a DaemonSet, and of
	// CurrentRevision (else Revision) for a StatefulSet; 0 when unknown.
	RevisionNumber int64
	// CurrentRevision is a StatefulSet's status.currentRevision: the revision
	// of its pods when an earlier rollout did not finish.
	CurrentRevision string
	// Template is spec.template before the apply (a deep copy).
	Template map[string]any
	// Images maps each container (init containers too; names are unique across
	// both) to its image before the apply.
	Images map[string]string
	// Finished is true for a Job that had completed or failed.
	Finished bool
}

// Result is what an apply did, object by object, in the order applied.
type Result struct {
	Objects      []Applied
	DryRun       bool
	FieldManager string
	// ApplySet is the set the objects were recorded in (WithApplySet); nil
	// without one.
	ApplySet *ApplySet
	// Pruned are the members Prune deleted (in a dry run: would delete).
	Pruned []Applied
}

// Workloads returns the applied Deployments, StatefulSets, DaemonSets and Jobs,
// the objects whose rollout is watched.
func (r *Result) Workloads() []Applied {
	var out []Applied
	for _, a := range r.Objects {
		if a.IsWorkload() {
			out = append(out, a)
		}
	}
	return out
}

// Changed reports whether any object was created, configured or replaced.
func (r *Result) Changed() bool {
	for _, a := range r.Objects {
		switch a.Action {
		case Created, Configured, Replaced:
			return true
		}
	}
	return false
}

var (
	gkNamespace   = schema.GroupKind{Kind: "Namespace"}
	gkCRD         = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	gkDeployment  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	gkStatefulSet = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	gkDaemonSet   = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
	gkJob         = schema.GroupKind{Group: "batch", Kind: "Job"}
)

func isWorkload(gk schema.GroupKind) bool {
	switch gk {
	case gkDeployment, gkStatefulSet, gkDaemonSet, gkJob:
		return true
	}
	return false
}

// order is the rank of each kind when applying: what others depend on comes
// first. Namespaces and CustomResourceDefinitions lead; the rest follows Helm's
// install order (pkg/release/util/kind_sorter.go), which users already know,
// so that ServiceAccounts, Secrets and ConfigMaps exist before the pods that
// mount them, and webhooks come last, after the Services they call. Kinds not
// listed (custom resources) go after every listed kind but the webhooks.
var order = func() map[schema.GroupKind]int {
	kinds := []schema.GroupKind{
		gkNamespace, gkCRD,
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
		{Kind: "ResourceQuota"},
		{Kind: "LimitRange"},
		{Group: "policy", Kind: "PodDisruptionBudget"},
		{Kind: "ServiceAccount"},
		{Kind: "Secret"},
		{Kind: "ConfigMap"},
		{Group: "storage.k8s.io", Kind: "StorageClass"},
		{Kind: "PersistentVolume"},
		{Kind: "PersistentVolumeClaim"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
		{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
		{Kind: "Service"},
		gkDaemonSet,
		{Kind: "Pod"},
		{Kind: "ReplicationController"},
		{Group: "apps", Kind: "ReplicaSet"},
		gkDeployment,
		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"},
		gkStatefulSet,
		gkJob,
		{Group: "batch", Kind: "CronJob"},
		{Group: "networking.k8s.io", Kind: "IngressClass"},
		{Group: "networking.k8s.io", Kind: "Ingress"},
		{Group: "apiregistration.k8s.io", Kind: "APIService"},
	}
	m := make(map[schema.GroupKind]int, len(kinds)+2)
	for i, k := range kinds {
		m[k] = i
	}
	m[schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}] = len(kinds) + 1
	m[schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}] = len(kinds) + 2
	return m
}()

// rankOther is the rank of kinds not in order.
var rankOther = len(order) - 2

func rank(gk schema.GroupKind) int {
	if r, ok := order[gk]; ok {
		return r
	}
	return rankOther
}

// String names the object as people do: "Deployment shop/web".
func (o Object) String() string {
	if o.Unstructured == nil {
		return "object"
	}
	return describe(o.GetKind(), o.GetNamespace(), o.GetName())
}

// origin names the object and its source.
func (o Object) origin() string {
	if o.Source == "" {
		return o.String()
	}
	return fmt.Sprintf("%s (%s)", o, o.Source)
}
