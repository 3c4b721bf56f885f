package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Interface watches rollouts to their verdict.
type Interface interface {
	// Watch follows the targets until each has rolled out, one has failed, or
	// the deadline passes. A failed rollout is a Verdict, not an error: the
	// error is for a watch that could not be done (unreachable cluster,
	// missing permissions, unknown target, cancelled context).
	Watch(ctx context.Context, targets ...Target) (*Verdict, error)
}

// Watcher watches rollouts with a client-go clientset: informers (a list, then
// a watch from its resourceVersion, re-listed after a lost connection) on the
// workloads, their ReplicaSets or ControllerRevisions, pods and events.
type Watcher struct {
	client kubernetes.Interface
	o      *options
}

var _ Interface = (*Watcher)(nil)

// New makes a Watcher. Its identity needs get, list and watch on the kinds it
// watches, their pods, ReplicaSets (Deployments), ControllerRevisions
// (StatefulSets, DaemonSets) and events, and get on pods/log.
func New(client kubernetes.Interface, opts ...Option) (*Watcher, error) {
	if client == nil {
		return nil, errors.New("rollout.New: nil Kubernetes client")
	}
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return &Watcher{client: client, o: o}, nil
}

// Watch follows the targets to a verdict; see Interface.
func (w *Watcher) Watch(ctx context.Context, targets ...Target) (*Verdict, error) {
	if len(targets) == 0 {
		return nil, errors.New("rollout: no workloads to watch")
	}
	seen := map[Target]bool{}
	for _, t := range targets {
		if err := t.validate(); err != nil {
			return nil, err
		}
		key := Target{Kind: t.Kind, Namespace: t.Namespace, Name: t.Name}
		if seen[key] {
			return nil, fmt.Errorf("rollout: %s is listed twice", t)
		}
		seen[key] = true
	}
	started := w.o.clock.Now()
	targets, err := w.preflight(ctx, targets)
	if err != nil {
		return nil, err
	}

	watchCtx, cancel := context.WithCancelCause(ctx)
	dirty := make(chan struct{}, 1)
	log := &syncWriter{w: w.o.log}
	inf, err := w.startInformers(watchCtx, cancel, targets, dirty, log)
	defer inf.stop(cancel)
	if err != nil {
		return nil, err
	}

	mem := newMemory()
	deadline := started.Add(w.o.timeout)
	readyAt := make([]time.Time, len(targets))
	progress := make([]string, len(targets))
	for {
		now := w.o.clock.Now()
		statuses := make([]status, len(targets))
		failed, done := false, true
		wake := deadline
		for i, t := range targets {
			e := evaluator{store: inf.stores[t.Namespace], now: now, started: started, grace: w.o.grace, mem: mem}
			s := e.evaluate(t, t.Generation)
			statuses[i] = s
			failed = failed || s.cause != nil
			done = done && s.done
			if s.done && readyAt[i].IsZero() {
				readyAt[i] = now
			}
			if !s.wake.IsZero() && s.wake.Before(wake) {
				wake = s.wake
			}
			line := s.progress
			switch {
			case s.cause != nil:
				line = "failed: " + string(s.cause.Reason) + ": " + s.cause.Message
			case s.done:
				line = fmt.Sprintf("rolled out in %s (%s)", readyAt[i].Sub(started).Round(time.Millisecond), s.progress)
			}
			if line != progress[i] {
				progress[i] = line
				log.printf("%s: %s\n", t.Ref(), line)
			}
		}
		if failed || done || !now.Before(deadline) {
			return w.verdict(ctx, targets, statuses, readyAt, started, now, inf.stores), nil
		}
		timer := w.o.clock.NewTimer(max(wake.Sub(now), 0))
		select {
		case <-dirty:
		case <-timer.C():
		case <-watchCtx.Done():
			timer.Stop()
			return nil, fmt.Errorf("watching the rollout of %s: %w", targetList(targets), context.Cause(watchCtx))
		}
		timer.Stop()
	}
}

// preflight reads each target once: it must exist and be readable, and its
// generation is the one to wait for when the caller gave none.
func (w *Watcher) preflight(ctx context.Context, targets []Target) ([]Target, error) {
	out := make([]Target, len(targets))
	for i, t := range targets {
		var m metav1.Object
		var err error
		opts := metav1.GetOptions{}
		switch t.Kind {
		case Deployment:
			m, err = w.client.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, opts)
		case StatefulSet:
			m, err = w.client.AppsV1().StatefulSets(t.Namespace).Get(ctx, t.Name, opts)
		case DaemonSet:
			m, err = w.client.AppsV1().DaemonSets(t.Namespace).Get(ctx, t.Name, opts)
		case Job:
			m, err = w.client.BatchV1().Jobs(t.Namespace).Get(ctx, t.Name, opts)
		}
		if err != nil {
			return nil, targetError(t, err)
		}
		if t.Generation == 0 {
			t.Generation = m.GetGeneration()
		}
		out[i] = t
	}
	return out, nil
}

func targetError(t Target, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: not found; the rollout watch follows the workloads the apply wrote: check their kind, name and namespace", t)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return accessError("get", plural(t.Kind), t.Namespace, err)
	case isUnreachable(err):
		return &UnreachableError{Err: err}
	}
	return fmt.Errorf("reading %s: %w", t, err)
}

func plural(k Kind) string { return k.resource() + "s" }

type informerSet struct {
	factories []informers.SharedInformerFactory
	stores    map[string]*store
}

func (s *informerSet) stop(cancel context.CancelCauseFunc) {
	cancel(nil)
	for _, f := range s.factories {
		f.Shutdown()
	}
}

// startInformers starts, for each namespace, the informers the targets' kinds
// need, and waits for their first list. Any change pokes dirty.
func (w *Watcher) startInformers(ctx context.Context, cancel context.CancelCauseFunc, targets []Target, dirty chan<- struct{}, log *syncWriter) (*informerSet, error) {
	poke := func(any) {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, o any) { poke(o) },
		DeleteFunc: poke,
	}
	kinds := map[string]map[Kind]bool{}
	for _, t := range targets {
		if kinds[t.Namespace] == nil {
			kinds[t.Namespace] = map[Kind]bool{}
		}
		kinds[t.Namespace][t.Kind] = true
	}
	set := &informerSet{stores: map[string]*store{}}
	var synced []cache.InformerSynced
	var errs []error
	lost := lostWatches{clock: w.o.clock}
	for ns, ks := range kinds {
		f := informers.NewSharedInformerFactoryWithOptions(w.client, 0, informers.WithNamespace(ns), informers.WithTransform(trim))
		set.factories = append(set.factories, f)
		s := &store{}
		set.stores[ns] = s
		register := func(inf cache.SharedIndexInformer, resource string, idx cache.Indexers) cache.Indexer {
			if idx != nil {
				errs = append(errs, inf.AddIndexers(idx))
			}
			errs = append(errs, inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
				switch {
				case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
					cancel(accessError("list", resource, ns, err))
				case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), apierrors.IsResourceExpired(err), apierrors.IsGone(err):
					// A watch ends now and then; the informer re-lists.
				default:
					if lost.note(err) {
						log.printf("lost the watch on %s in %s (%v); reconnecting\n", resource, ns, err)
					}
				}
			}))
			_, err := inf.AddEventHandler(handler)
			errs = append(errs, err)
			synced = append(synced, inf.HasSynced)
			return inf.GetIndexer()
		}
		owner := cache.Indexers{byOwner: ownerIndex}
		s.pods = register(f.Core().V1().Pods().Informer(), "pods", owner)
		s.events = register(f.Core().V1().Events().Informer(), "events", cache.Indexers{byAbout: aboutIndex})
		if ks[Deployment] {
			s.deployments = register(f.Apps().V1().Deployments().Informer(), "deployments", nil)
			s.replicaSets = register(f.Apps().V1().ReplicaSets().Informer(), "replicasets", owner)
		}
		if ks[StatefulSet] {
			s.statefulSets = register(f.Apps().V1().StatefulSets().Informer(), "statefulsets", nil)
		}
		if ks[DaemonSet] {
			s.daemonSets = register(f.Apps().V1().DaemonSets().Informer(), "daemonsets", nil)
		}
		if ks[StatefulSet] || ks[DaemonSet] {
			s.revisions = register(f.Apps().V1().ControllerRevisions().Informer(), "controllerrevisions", owner)
		}
		if ks[Job] {
			s.jobs = register(f.Batch().V1().Jobs().Informer(), "jobs", nil)
		}
		f.Start(ctx.Done())
	}
	if err := errors.Join(errs...); err != nil {
		return set, fmt.Errorf("rollout: setting up the watches: %w", err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return set, fmt.Errorf("watching the rollout of %s: %w", targetList(targets), context.Cause(ctx))
	}
	return set, nil
}

// trim drops what the watch never reads from cached objects: in a busy
// namespace, managed fields are most of a pod's size.
func trim(obj any) (any, error) {
	if m, err := metaOf(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// lostWatches decides when a lost watch is worth a line: once per outage, not
// once per informer and retry.
type lostWatches struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	last  time.Time
}

func (l *lostWatches) note(error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if now.Sub(l.last) < 10*time.Second {
		return false
	}
	l.last = now
	return true
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, args...)
}

func targetList(targets []Target) string {
	if len(targets) == 1 {
		return targets[0].String()
	}
	return fmt.Sprintf("%d workloads", len(targets))
}
