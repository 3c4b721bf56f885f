package rollout

import (
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// Index names. Pods, ReplicaSets and ControllerRevisions are found by their
// controller's UID, events by the UID of the object they are about: both are
// unique across namespaces and never reused, unlike names.
const (
	byOwner = "owner"
	byAbout = "about"
)

func ownerIndex(obj any) ([]string, error) {
	m, err := metaOf(obj)
	if err != nil {
		return nil, err
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

func aboutIndex(obj any) ([]string, error) {
	if e, ok := obj.(*corev1.Event); ok && e.InvolvedObject.UID != "" {
		return []string{string(e.InvolvedObject.UID)}, nil
	}
	return nil, nil
}

func metaOf(obj any) (metav1.Object, error) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	return meta.Accessor(obj)
}

// store is what an evaluation reads: the informers' caches during a watch, or
// indexers filled with recorded objects in tests. Each field is nil when that
// kind is not watched.
type store struct {
	deployments, statefulSets, daemonSets, jobs cache.Indexer
	replicaSets, revisions, pods, events        cache.Indexer
}

// newStore makes a store of plain indexers, for objects given by hand.
func newStore(objs ...any) *store {
	s := &store{
		deployments:  cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		statefulSets: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		daemonSets:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		jobs:         cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		replicaSets:  cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byOwner: ownerIndex}),
		revisions:    cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byOwner: ownerIndex}),
		pods:         cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byOwner: ownerIndex}),
		events:       cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byAbout: aboutIndex}),
	}
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *appsv1.Deployment:
			err = s.deployments.Add(o)
		case *appsv1.StatefulSet:
			err = s.statefulSets.Add(o)
		case *appsv1.DaemonSet:
			err = s.daemonSets.Add(o)
		case *batchv1.Job:
			err = s.jobs.Add(o)
		case *appsv1.ReplicaSet:
			err = s.replicaSets.Add(o)
		case *appsv1.ControllerRevision:
			err = s.revisions.Add(o)
		case *corev1.Pod:
			err = s.pods.Add(o)
		case *corev1.Event:
			err = s.events.Add(o)
		}
		if err != nil {
			panic(err)
		}
	}
	return s
}

func get[T any](idx cache.Indexer, ns, name string) *T {
	if idx == nil {
		return nil
	}
	obj, ok, err := idx.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	t, _ := obj.(*T)
	return t
}

func indexed[T any](idx cache.Indexer, index string, uid types.UID) []*T {
	if idx == nil || uid == "" {
		return nil
	}
	objs, err := idx.ByIndex(index, string(uid))
	if err != nil {
		return nil
	}
	out := make([]*T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(*T); ok {
			out = append(out, t)
		}
	}
	return out
}

func (s *store) deployment(ns, name string) *appsv1.Deployment {
	return get[appsv1.Deployment](s.deployments, ns, name)
}
func (s *store) statefulSet(ns, name string) *appsv1.StatefulSet {
	return get[appsv1.StatefulSet](s.statefulSets, ns, name)
}
func (s *store) daemonSet(ns, name string) *appsv1.DaemonSet {
	return get[appsv1.DaemonSet](s.daemonSets, ns, name)
}
func (s *store) job(ns, name string) *batchv1.Job { return get[batchv1.Job](s.jobs, ns, name) }

func (s *store) replicaSetsOf(uid types.UID) []*appsv1.ReplicaSet {
	return indexed[appsv1.ReplicaSet](s.replicaSets, byOwner, uid)
}
func (s *store) revisionsOf(uid types.UID) []*appsv1.ControllerRevision {
	return indexed[appsv1.ControllerRevision](s.revisions, byOwner, uid)
}

// podsOf returns the live pods a controller owns, by name.
func (s *store) podsOf(uid types.UID) []*corev1.Pod {
	pods := indexed[corev1.Pod](s.pods, byOwner, uid)
	live := pods[:0]
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	return live
}

// eventsAbout returns the events about an object that were last seen at or
// after since, oldest first.
func (s *store) eventsAbout(uid types.UID, since time.Time) []*corev1.Event {
	evs := indexed[corev1.Event](s.events, byAbout, uid)
	out := evs[:0]
	for _, e := range evs {
		if !eventTime(e).Before(since) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	return out
}

// eventTime is when an event was last seen, whichever API wrote it.
func eventTime(e *corev1.Event) time.Time {
	t := e.LastTimestamp.Time
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	if e.EventTime.After(t) {
		t = e.EventTime.Time
	}
	if t.IsZero() {
		t = e.FirstTimestamp.Time
	}
	if t.IsZero() {
		t = e.CreationTimestamp.Time
	}
	return t
}
