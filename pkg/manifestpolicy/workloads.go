package manifestpolicy

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// migrationCommand matches the common ways of running schema migrations:
// Django, Rails, Laravel, Knex, Sequelize, Prisma, Flyway, golang-migrate
// ("migrate"), Alembic and Flask-Migrate ("db upgrade"), Liquibase, goose.
// No library recognises commands: this list is ours.
var migrationCommand = regexp.MustCompile(`(?i)(\b(db:)?migrat(e|ions?)\b|\balembic\s+upgrade\b|\bdb\s+upgrade\b|\bliquibase\b.*\bupdate\b|\bgoose\b.*\bup\b)`)

// checkMigrations reports workloads of several pods whose containers run
// migrations as they start. Schedulers and images know nothing of this, so no
// library checks it.
func checkMigrations(_ context.Context, rel *release, _ Config) ([]finding, error) {
	var out []finding
	for _, w := range rel.workloads {
		if !w.longRunning() || !w.several() {
			continue
		}
		for _, c := range w.containers() {
			cmd := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
			m := migrationCommand.FindString(cmd)
			if m == "" {
				continue
			}
			field := "command"
			if len(c.Command) == 0 || !migrationCommand.MatchString(strings.Join(c.Command, " ")) {
				field = "args"
			}
			kind := "container"
			if c.init {
				kind = "init container"
			}
			// Only the matched words: a command line may carry a password.
			out = append(out, finding{obj: w.obj, line: line(rel.objects[w.obj].Node.YNode(), w.path(c, field)...),
				msg: fmt.Sprintf("%s %s runs migrations as it starts (%q), in each of %s: they race on the schema at every rollout and scale-up, and a failing migration takes every pod down",
					kind, c.Name, m, w.pods()),
				fix: "run the migrations once per release, in a Job applied before the workload (deploy-action waits for it; with Helm, a pre-upgrade hook), and start the app without them"})
		}
	}
	return out, nil
}

// databases are the images of stateful servers, with where they keep data.
var databases = map[string]string{
	"postgres": "/var/lib/postgresql/data", "postgresql": "/bitnami/postgresql", "postgis": "/var/lib/postgresql/data",
	"mysql": "/var/lib/mysql", "mariadb": "/var/lib/mysql", "percona-server": "/var/lib/mysql",
	"redis": "/data", "redis-stack-server": "/data", "valkey": "/data",
	"mongo": "/data/db", "mongodb": "/data/db",
}

// checkDatabaseVolume reports database containers without a persistent
// volume. Which images are databases is knowledge of the field no library
// carries, hence the table above.
func checkDatabaseVolume(_ context.Context, rel *release, _ Config) ([]finding, error) {
	var out []finding
	for _, w := range rel.workloads {
		if !w.longRunning() && w.kind != "Pod" {
			continue
		}
		claims := map[string]bool{}
		for _, v := range w.spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claims[v.Name] = true
			}
		}
		for k := range w.claims {
			claims[k] = true
		}
		for _, c := range w.containers() {
			if c.init {
				continue
			}
			dataDir, ok := databases[parseImage(c.Image).base()]
			if !ok {
				continue
			}
			persistent := false
			for _, m := range c.VolumeMounts {
				persistent = persistent || claims[m.Name]
			}
			if persistent {
				continue
			}
			out = append(out, finding{obj: w.obj, line: line(rel.objects[w.obj].Node.YNode(), w.path(c, "image")...),
				msg: fmt.Sprintf("container %s runs %s with no persistent volume: its data lives in the pod and is gone when the pod is replaced (a rollout, an eviction, a node drain)",
					c.Name, parseImage(c.Image).base()),
				fix: fmt.Sprintf("mount a PersistentVolumeClaim at %s (a StatefulSet with volumeClaimTemplates), or use a managed database; a cache that may lose its data can opt out with its reason", dataDir)})
		}
	}
	return out, nil
}

// checkProbes reports long-running containers without readiness or liveness
// probes.
func checkProbes(_ context.Context, rel *release, _ Config) ([]finding, error) {
	var out []finding
	for _, w := range rel.workloads {
		if !w.longRunning() {
			continue
		}
		for _, c := range w.containers() {
			if c.init {
				continue
			}
			var missing []string
			if c.ReadinessProbe == nil {
				missing = append(missing, "no readiness probe (it gets traffic before it can answer, and the rollout cannot tell a broken release from a good one)")
			}
			if c.LivenessProbe == nil {
				missing = append(missing, "no liveness probe (a hung process is never restarted)")
			}
			if len(missing) == 0 {
				continue
			}
			out = append(out, finding{obj: w.obj, line: line(rel.objects[w.obj].Node.YNode(), w.path(c)...),
				msg: fmt.Sprintf("container %s has %s", c.Name, strings.Join(missing, " and ")),
				fix: "add a readinessProbe that answers once the app can serve (e.g. httpGet /readyz) and a livenessProbe that does not depend on the database (e.g. httpGet /healthz)"})
		}
	}
	return out, nil
}

// checkResources reports containers without CPU and memory requests or a
// memory limit (a CPU limit is left to taste: it throttles).
func checkResources(_ context.Context, rel *release, _ Config) ([]finding, error) {
	var out []finding
	for _, w := range rel.workloads {
		for _, c := range w.containers() {
			var missing []string
			if _, ok := c.Resources.Requests["cpu"]; !ok {
				missing = append(missing, "CPU request")
			}
			if _, ok := c.Resources.Requests["memory"]; !ok {
				missing = append(missing, "memory request")
			}
			if _, ok := c.Resources.Limits["memory"]; !ok {
				missing = append(missing, "memory limit")
			}
			if len(missing) == 0 {
				continue
			}
			out = append(out, finding{obj: w.obj, line: line(rel.objects[w.obj].Node.YNode(), w.path(c, "resources")...),
				msg: fmt.Sprintf("container %s sets no %s: the scheduler places it blind, and it can take a node's memory from its neighbours", c.Name, orList(missing)),
				fix: "set resources.requests.cpu and .memory to what it uses under load, and resources.limits.memory"})
		}
	}
	return out, nil
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
