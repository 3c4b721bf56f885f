package detect

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// POM is what detection reads of a Maven pom.xml.
type POM struct {
	Parent       MavenArtifact
	ArtifactID   string
	Version      string
	Packaging    string
	Properties   map[string]string
	Dependencies []MavenArtifact
}

// MavenArtifact is a parent or a dependency, with the line it starts on.
type MavenArtifact struct {
	GroupID, ArtifactID, Version, Scope string
	Line                                int
}

// ParsePOM reads a pom.xml with encoding/xml, keeping each dependency's
// line.
func ParsePOM(file string, b []byte) (POM, error) {
	p := POM{Properties: map[string]string{}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	var cur *MavenArtifact
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				line = se.Line
			}
			return p, &FileError{File: file, Line: line, Err: err}
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
			text.Reset()
			where := strings.Join(stack, "/")
			if where == "project/dependencies/dependency" || where == "project/parent" {
				line, _ := dec.InputPos()
				cur = &MavenArtifact{Line: line}
			}
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			where := strings.Join(stack, "/")
			v := strings.TrimSpace(text.String())
			switch {
			case where == "project/dependencies/dependency" && cur != nil:
				p.Dependencies = append(p.Dependencies, *cur)
				cur = nil
			case where == "project/parent" && cur != nil:
				p.Parent = *cur
				cur = nil
			case cur != nil && len(stack) == 4 && stack[2] == "dependency" || cur != nil && len(stack) == 3 && stack[1] == "parent":
				switch tok.Name.Local {
				case "groupId":
					cur.GroupID = v
				case "artifactId":
					cur.ArtifactID = v
				case "version":
					cur.Version = v
				case "scope":
					cur.Scope = v
				}
			case len(stack) == 2:
				switch tok.Name.Local {
				case "artifactId":
					p.ArtifactID = v
				case "version":
					p.Version = v
				case "packaging":
					p.Packaging = v
				}
			case len(stack) == 3 && stack[1] == "properties":
				p.Properties[tok.Name.Local] = v
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
	if len(stack) != 0 || p.ArtifactID == "" && p.Parent.ArtifactID == "" {
		return p, &FileError{File: file, Err: errors.New("not a Maven project (no <project> with an <artifactId>)")}
	}
	return p, nil
}

// gradleDep matches a dependency in Gradle's notation, Groovy or Kotlin
// DSL: implementation 'g:a:v', implementation("g:a"), runtimeOnly "g:a".
// No Go library parses Gradle build scripts (they are Groovy or Kotlin
// programs); a line scan of the notations people write is what is possible.
var gradleDep = regexp.MustCompile(`(?m)^\s*(implementation|api|compileOnly|runtimeOnly|testImplementation|testRuntimeOnly|developmentOnly)\s*\(?\s*["']([\w.-]+):([\w.-]+)(?::([\w.${}-]+))?["']`)

var gradleSpringPlugin = regexp.MustCompile(`id\s*\(?\s*["']org\.springframework\.boot["']`)

var javaBacking = []struct {
	names []string
	kind  DependencyKind
}{
	{[]string{"org.postgresql:postgresql", "io.r2dbc:r2dbc-postgresql", "org.postgresql:r2dbc-postgresql"}, PostgreSQL},
	{[]string{"com.mysql:mysql-connector-j", "mysql:mysql-connector-java", "org.mariadb.jdbc:mariadb-java-client"}, MySQL},
	{[]string{"org.springframework.boot:spring-boot-starter-data-redis", "redis.clients:jedis", "io.lettuce:lettuce-core"}, Redis},
}

// java reads a Maven or Gradle service.
func (c *svc) java() error {
	s, t := c.s, c.d.t
	var springAt Evidence
	pomPath := join(s.Dir, "pom.xml")
	build := ""
	if t.has(pomPath) {
		build = "maven"
		b, err := t.read(pomPath)
		if err != nil {
			return &FileError{File: pomPath, Err: err}
		}
		pom, err := ParsePOM(pomPath, b)
		if err != nil {
			return err
		}
		if pom.Parent.GroupID == "org.springframework.boot" {
			springAt = Evidence{File: pomPath, Line: pom.Parent.Line}
		}
		for _, d := range pom.Dependencies {
			name := d.GroupID + ":" + d.ArtifactID
			c.deps = append(c.deps, dep{name: name, version: d.Version, dev: d.Scope == "test",
				at: Evidence{What: d.ArtifactID + " in pom.xml", File: pomPath, Line: d.Line}})
			if springAt.File == "" && d.GroupID == "org.springframework.boot" {
				springAt = Evidence{File: pomPath, Line: d.Line}
			}
		}
		for _, k := range []string{"java.version", "maven.compiler.release", "maven.compiler.source"} {
			if v := pom.Properties[k]; v != "" {
				s.LanguageVersion = v
				c.note("java "+v, pomPath, findLine(b, "<"+k+">"))
				break
			}
		}
		version := pom.Version
		if version == "" {
			version = pom.Parent.Version
		}
		if pom.Packaging == "" || pom.Packaging == "jar" {
			s.Entry = fmt.Sprintf("target/%s-%s.jar", pom.ArtifactID, version)
			c.note("entry "+s.Entry+" (the Maven artifact)", pomPath, findLine(b, "<artifactId>"+pom.ArtifactID))
		}
	} else {
		for _, name := range []string{"build.gradle.kts", "build.gradle"} {
			p := join(s.Dir, name)
			if !t.has(p) {
				continue
			}
			build = "gradle"
			b, err := t.read(p)
			if err != nil {
				return &FileError{File: p, Err: err}
			}
			for _, m := range gradleDep.FindAllSubmatchIndex(b, -1) {
				conf := string(b[m[2]:m[3]])
				g, a := string(b[m[4]:m[5]]), string(b[m[6]:m[7]])
				v := ""
				if m[8] >= 0 {
					v = string(b[m[8]:m[9]])
				}
				c.deps = append(c.deps, dep{name: g + ":" + a, version: v, dev: strings.HasPrefix(conf, "test"),
					at: Evidence{What: a + " in " + name, File: p, Line: lineOf(b, m[0])}})
			}
			if m := gradleSpringPlugin.FindIndex(b); m != nil {
				springAt = Evidence{File: p, Line: lineOf(b, m[0])}
			}
			break
		}
	}
	if springAt.File != "" {
		s.Framework = SpringBoot
		c.note("framework spring-boot", springAt.File, springAt.Line)
	}
	for _, bk := range javaBacking {
		if d, ok := c.findDep(bk.names...); ok && !d.dev {
			c.addDependency(bk.kind, d.at)
		}
	}

	// Spring's configuration: ${ENV:default} placeholders and server.port.
	port := 0
	var portAt Evidence
	for _, f := range c.files {
		base := path.Base(f.path)
		isConfig := strings.HasPrefix(base, "application") && (strings.HasSuffix(base, ".properties") || strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml")) &&
			!strings.Contains(f.path, "/test/")
		if !isConfig && !(c.isCode(f.path) && !isTest(f.path)) {
			continue
		}
		b, err := t.read(f.path)
		if err != nil {
			continue
		}
		if isConfig {
			c.scanEnv(f.path, b, springPlaceholder)
			if m := serverPort.FindSubmatchIndex(b); m != nil && port == 0 {
				v := string(b[m[2]:m[3]])
				if pm := springPlaceholder.FindStringSubmatch(v); pm != nil {
					v = pm[2]
				}
				if p, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					port, portAt = p, Evidence{What: "server.port", File: f.path, Line: lineOf(b, m[0])}
				}
			}
		} else {
			c.scanEnv(f.path, b, javaEnv)
		}
	}
	if src := join(s.Dir, "src"); t.dirs[src] {
		s.Code = src
	}
	c.note("code in "+s.Code, "", 0)
	if port == 0 && s.Framework == SpringBoot {
		port, portAt = 8080, Evidence{What: "spring boot's default"}
	}
	c.setPort(port, portAt)
	metricsRoute := c.routes()
	if d, ok := c.findDep("org.springframework.boot:spring-boot-starter-actuator"); ok {
		s.HealthPath = "/actuator/health"
		c.note("health path /actuator/health (actuator)", d.at.File, d.at.Line)
	}
	hasTests := ""
	for _, f := range c.files {
		if within(f.path, join(s.Dir, "src/test")) && c.isCode(f.path) {
			hasTests = f.path
			break
		}
	}
	if hasTests != "" {
		switch {
		case build == "maven" && t.has(join(s.Dir, "mvnw")):
			s.TestCommand = []string{"./mvnw", "-B", "test"}
		case build == "maven":
			s.TestCommand = []string{"mvn", "-B", "test"}
		case t.has(join(s.Dir, "gradlew")):
			s.TestCommand = []string{"./gradlew", "test"}
		case build == "gradle":
			s.TestCommand = []string{"gradle", "test"}
		}
		if s.TestCommand != nil {
			c.note("tests: "+strings.Join(s.TestCommand, " "), hasTests, 0)
		}
	}
	if d, ok := c.findDep("io.micrometer:micrometer-registry-prometheus"); ok && !d.dev {
		c.setMetrics(Micrometer, d.at, metricsRoute, "/actuator/prometheus")
	}
	return nil
}

// serverPort matches server.port in a properties file or port: under
// server: in YAML (on its own line).
var serverPort = regexp.MustCompile(`(?m)^\s*server\.port\s*[=:]\s*(.+)$`)
