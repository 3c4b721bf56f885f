package policy

import (
	"bytes"
	"context"
	"crypto/md5"  //nolint:gosec // Package databases hold MD5 (Debian) and SHA-1 (Alpine) sums; this only compares against them.
	"crypto/sha1" //nolint:gosec // as above
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	"golang.org/x/sync/errgroup"

	"github.com/deploy-action/deploy-action/pkg/internal/imagefs"
)

// The gitleaks detector with its default rules (some 200 kinds of keys and
// tokens, private keys included). It is made once: its configuration goes
// through a global viper instance, and its rules compile in about 100 ms.
var (
	detectorOnce sync.Once
	detector     *detect.Detector
	detectorErr  error
)

func gitleaks() (*detect.Detector, error) {
	detectorOnce.Do(func() {
		// gitleaks logs to stderr by default; its messages could quote what it found.
		logging.Logger = zerolog.Nop()
		detector, detectorErr = detect.NewDetectorDefaultConfig()
		if detectorErr == nil {
			// Findings keep no part of the secret.
			detector.Redact = 100
		}
	})
	if detectorErr != nil {
		return nil, fmt.Errorf("loading the secret detection rules: %w", detectorErr)
	}
	return detector, nil
}

// DetectSecrets runs the same detector over text (a manifest's value, say)
// and returns the rules that match, each with its 0-based line in text. The
// matches keep no part of the secret.
func DetectSecrets(ctx context.Context, text string) ([]SecretMatch, error) {
	det, err := gitleaks()
	if err != nil {
		return nil, err
	}
	var out []SecretMatch
	//lint:ignore SA1019 v8 has no other way to give a fragment its path; sources.Fragment comes with v9
	for _, f := range det.DetectContext(ctx, detect.Fragment{Raw: text}) {
		out = append(out, SecretMatch{Rule: f.RuleID, Line: f.StartLine})
	}
	return out, nil
}

// SecretMatch is one rule of the detector that matched, and where.
type SecretMatch struct {
	// Rule is the gitleaks rule, e.g. "generic-api-key".
	Rule string
	// Line is 0-based in the text given.
	Line int
}

// nameRule finds a secret by a file's name: files whose role is to hold a
// secret, whatever their content looks like (gitleaks reads content; a .env
// file with a short password matches none of its rules).
type nameRule struct {
	id, what string
	match    func(p, base string) bool
	// content, when set, must also match (a .npmrc without a token is fine).
	content func([]byte) bool
}

const apkInstalled = "/lib/apk/db/installed"

// packageDatabases are the package managers' own records (installed files,
// symbols, templates, caches and logs): written by the package manager, large,
// and no place a build leaks a secret into.
var packageDatabases = []string{
	"/var/lib/dpkg/", "/var/cache/debconf/", "/var/lib/apt/", "/var/cache/apt/", "/var/log/apt/",
	"/var/log/dpkg.log", "/var/log/alternatives.log",
	"/lib/apk/db/", "/var/cache/apk/",
	"/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/var/cache/dnf/", "/var/cache/yum/", "/var/log/dnf",
}

func inPackageDatabase(p string) bool {
	for _, prefix := range packageDatabases {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

var nameRules = []nameRule{
	{id: "dotenv-file", what: "a .env file", match: func(_, base string) bool {
		if base == ".env" {
			return true
		}
		rest, ok := strings.CutPrefix(base, ".env.")
		if !ok {
			return false
		}
		switch rest {
		case "example", "sample", "template", "dist", "defaults", "schema":
			return false
		}
		return true
	}},
	{id: "ssh-private-key-file", what: "an SSH private key", match: func(_, base string) bool {
		switch base {
		case "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk":
			return true
		}
		return false
	}},
	{id: "aws-credentials-file", what: "AWS credentials", match: func(p, _ string) bool { return strings.HasSuffix(p, "/.aws/credentials") }},
	{id: "git-credentials-file", what: "git credentials", match: func(_, base string) bool { return base == ".git-credentials" }},
	{id: "netrc-file", what: "a .netrc with passwords", match: func(_, base string) bool { return base == ".netrc" || base == "_netrc" },
		content: func(b []byte) bool { return bytes.Contains(b, []byte("password")) }},
	{id: "pgpass-file", what: "a PostgreSQL password file", match: func(_, base string) bool { return base == ".pgpass" }},
	{id: "npmrc-token", what: "an npm token", match: func(_, base string) bool { return base == ".npmrc" },
		content: func(b []byte) bool {
			return bytes.Contains(b, []byte("_authToken")) || bytes.Contains(b, []byte("_auth="))
		}},
	{id: "pypirc-password", what: "a PyPI password", match: func(_, base string) bool { return base == ".pypirc" },
		content: func(b []byte) bool { return bytes.Contains(b, []byte("password")) }},
	{id: "docker-config-auth", what: "registry credentials", match: func(p, _ string) bool { return strings.HasSuffix(p, "/.docker/config.json") },
		content: func(b []byte) bool {
			return bytes.Contains(b, []byte(`"auth"`)) || bytes.Contains(b, []byte(`"identitytoken"`))
		}},
	{id: "kubeconfig-credentials", what: "Kubernetes credentials", match: func(p, _ string) bool { return strings.HasSuffix(p, "/.kube/config") },
		content: func(b []byte) bool {
			return bytes.Contains(b, []byte("client-key-data")) || bytes.Contains(b, []byte("token:")) || bytes.Contains(b, []byte("password:"))
		}},
}

// leak is one secret found in one layer. It holds no part of the secret.
type leak struct {
	layer int
	entry *imagefs.Entry
	what  string
	line  int
}

// candidate is a text file of a layer that is still to be scanned by content,
// with its checksums to tell whether a package installed it as it is.
type candidate struct {
	layer int
	entry *imagefs.Entry
	md5   string
	sha1  string
	// data is the content, kept while the total stays under keepBudget, so
	// that the second pass need not read the layer again.
	data []byte
}

// defaultKeepBudget bounds the content of candidates kept in memory between
// the two passes; beyond it, the second pass reads the layers again.
const defaultKeepBudget = 64 << 20

// secretScan finds secrets in two passes. The first, during the one read of
// every layer, checks names and notes every text file with its checksums.
// Files a package manager installed exactly as shipped are then dropped (the
// distribution's files are most of an image and no build leaks a secret
// through them), and the second pass runs the detector over the rest, reading
// again only the layers that hold some.
type secretScan struct {
	det        *detect.Detector
	allow      []string
	maxSize    int64
	keepBudget int

	mu    sync.Mutex
	leaks []leak
	cands []candidate
	kept  int
	// Files scanned by content, installed unchanged by a package, and left
	// out as binary or too large.
	scanned, packaged, skipped int
}

func newSecretScan(cfg Config, keepBudget int) (*secretScan, error) {
	det, err := gitleaks()
	if err != nil {
		return nil, err
	}
	return &secretScan{det: det, allow: cfg.SecretsAllow, maxSize: cfg.MaxScanSize, keepBudget: keepBudget}, nil
}

func (s *secretScan) counts() (scanned, packaged, skipped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scanned, s.packaged, s.skipped
}

// bufPool holds the buffers files are read into, one per concurrent layer.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// visit returns the imagefs visitor of the first pass.
func (s *secretScan) visit(ctx context.Context) func(int, *imagefs.Entry, io.Reader) error {
	return func(layer int, e *imagefs.Entry, r io.Reader) error {
		if s.allowed(e.Path) {
			return nil
		}
		base := path.Base(e.Path)
		var byName *nameRule
		for i := range nameRules {
			if nameRules[i].match(e.Path, base) {
				byName = &nameRules[i]
				break
			}
		}
		if e.Size > s.maxSize {
			if byName != nil && byName.content == nil {
				s.add(leak{layer: layer, entry: e, what: byName.what})
			}
			s.count(false)
			return nil
		}
		buf := bufPool.Get().(*bytes.Buffer)
		defer bufPool.Put(buf)
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		data := buf.Bytes()
		if byName != nil && (byName.content == nil || byName.content(data)) {
			s.add(leak{layer: layer, entry: e, what: byName.what})
		}
		if isBinary(data) {
			s.count(false)
			return nil
		}
		if byName != nil {
			// Rare enough to scan at once, and its findings name the line.
			s.scan(ctx, layer, e, data)
			return nil
		}
		if inPackageDatabase(e.Path) {
			s.mu.Lock()
			s.packaged++
			s.mu.Unlock()
			return nil
		}
		m, h := md5.Sum(data), sha1.Sum(data) //nolint:gosec // see the import
		c := candidate{layer: layer, entry: e, md5: hex.EncodeToString(m[:]), sha1: base64.StdEncoding.EncodeToString(h[:])}
		s.mu.Lock()
		if s.kept+len(data) <= s.keepBudget {
			c.data = bytes.Clone(data)
			s.kept += len(data)
		}
		s.cands = append(s.cands, c)
		s.mu.Unlock()
		return nil
	}
}

// scan runs the detector over one file's content.
func (s *secretScan) scan(ctx context.Context, layer int, e *imagefs.Entry, data []byte) {
	s.count(true)
	//lint:ignore SA1019 v8 has no other way to give a fragment its path; sources.Fragment comes with v9
	for _, f := range s.det.DetectContext(ctx, detect.Fragment{Raw: string(data), FilePath: e.Path}) {
		s.add(leak{layer: layer, entry: e, what: f.RuleID, line: f.StartLine + 1})
	}
}

// scanRest is the second pass: the detector over the candidates that no
// package installed, reading only the layers that hold them.
func (s *secretScan) scanRest(ctx context.Context, fsys *imagefs.FS, concurrency int) error {
	sums := packagedFiles(ctx, fsys)
	byLayer := map[int]map[string]*imagefs.Entry{}
	var inMemory []candidate
	packaged := 0
	for _, c := range s.cands {
		if p, ok := sums[c.entry.Path]; ok && (p == c.md5 || p == "Q1"+c.sha1) {
			packaged++
			continue
		}
		if c.data != nil {
			inMemory = append(inMemory, c)
			continue
		}
		if byLayer[c.layer] == nil {
			byLayer[c.layer] = map[string]*imagefs.Entry{}
		}
		byLayer[c.layer][c.entry.Path] = c.entry
	}
	s.mu.Lock()
	s.packaged += packaged
	s.cands, s.kept = nil, 0
	s.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(concurrency)
	for _, c := range inMemory {
		g.Go(func() error {
			s.scan(gctx, c.layer, c.entry, c.data)
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(byLayer) == 0 {
		return nil
	}
	return fsys.ReadLayers(ctx, keys(byLayer), concurrency, func(layer int, e *imagefs.Entry, r io.Reader) error {
		want, ok := byLayer[layer][e.Path]
		if !ok || want.Size != e.Size {
			return nil
		}
		buf := bufPool.Get().(*bytes.Buffer)
		defer bufPool.Put(buf)
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		// The leak points at the entry of the first pass, which the merged
		// file system knows.
		s.scan(ctx, layer, want, buf.Bytes())
		return nil
	})
}

func keys(m map[int]map[string]*imagefs.Entry) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func (s *secretScan) add(l leak) {
	s.mu.Lock()
	s.leaks = append(s.leaks, l)
	s.mu.Unlock()
}

func (s *secretScan) count(scanned bool) {
	s.mu.Lock()
	if scanned {
		s.scanned++
	} else {
		s.skipped++
	}
	s.mu.Unlock()
}

func (s *secretScan) allowed(p string) bool {
	for _, pat := range s.allow {
		if ok, _ := pathMatch(pat, p); ok {
			return true
		}
	}
	return false
}

// isBinary is git's test: a NUL byte in the first 8000 bytes.
func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}

const secretsFix = "remove the file from the build context (.dockerignore) or the build; " +
	"pass secrets at run time (environment, mounted files) or to a build step with RUN --mount=type=secret; " +
	"deleting a file in a later step does not remove it from the image; rotate every secret listed: anyone who pulled the image has it"

func (s *secretScan) finding(ctx context.Context, cf *v1.ConfigFile, fsys *imagefs.FS) Finding {
	steps := layerSteps(cf)
	// The config travels with the image too: ENV values and the build
	// history (RUN commands with their build arguments) are readable by anyone.
	var inConfig []string
	for _, e := range cf.Config.Env {
		name, _, _ := strings.Cut(e, "=")
		//lint:ignore SA1019 v8 has no other way to give a fragment its path; sources.Fragment comes with v9
		for _, f := range s.det.DetectContext(ctx, detect.Fragment{Raw: e}) {
			inConfig = append(inConfig, fmt.Sprintf("ENV %s (%s)", name, f.RuleID))
		}
	}
	for i, h := range cf.History {
		//lint:ignore SA1019 v8 has no other way to give a fragment its path; sources.Fragment comes with v9
		for _, f := range s.det.DetectContext(ctx, detect.Fragment{Raw: h.CreatedBy}) {
			inConfig = append(inConfig, fmt.Sprintf("build history step %d (%s), a build argument or a command line", i+1, f.RuleID))
		}
	}
	kept := s.leaks
	scanned, packaged, skipped := s.counts()
	if len(kept) == 0 && len(inConfig) == 0 {
		return Finding{Status: Pass, Message: fmt.Sprintf("no secret: %d files scanned, %d installed unchanged by packages, %d binary or large ones checked by name",
			scanned, packaged, skipped)}
	}
	sort.Slice(kept, func(i, j int) bool {
		if kept[i].layer != kept[j].layer {
			return kept[i].layer < kept[j].layer
		}
		if kept[i].entry.Path != kept[j].entry.Path {
			return kept[i].entry.Path < kept[j].entry.Path
		}
		return kept[i].line < kept[j].line
	})
	details := append([]string{}, inConfig...)
	files := map[string]bool{}
	for _, l := range kept {
		files[l.entry.Path] = true
		d := l.entry.Path
		if l.line > 0 {
			d += fmt.Sprintf(":%d", l.line)
		}
		d += fmt.Sprintf(" (%s) in layer %d", l.what, l.layer+1)
		if step := steps[l.layer]; step != "" {
			d += " from " + step
		}
		if !fsys.Exists(l.entry) {
			d += ", deleted by a later layer but still in the image"
		}
		details = append(details, d)
	}
	var msg string
	if len(kept) > 0 {
		first := kept[0]
		msg = fmt.Sprintf("%d secret(s) in %d file(s), first %s (%s) in layer %d", len(kept), len(files), first.entry.Path, first.what, first.layer+1)
		if !fsys.Exists(first.entry) {
			msg += ", deleted by a later layer but still in the image"
		}
		if len(inConfig) > 0 {
			msg += fmt.Sprintf(", and %d in the image config (%s)", len(inConfig), inConfig[0])
		}
	} else {
		msg = fmt.Sprintf("%d secret(s) in the image config, first %s", len(inConfig), inConfig[0])
	}
	return Finding{Status: Failure, Details: details, Message: msg + "; " + secretsFix}
}

// packagedFiles maps the files installed by packages to their checksums:
// Debian's MD5 sums (dpkg's database, or distroless' status.d) as hex, and
// Alpine's SHA-1 sums (apk's database) as "Q1" + base64.
func packagedFiles(ctx context.Context, fsys *imagefs.FS) map[string]string {
	sums := map[string]string{}
	for _, pattern := range []string{"/var/lib/dpkg/info/*.md5sums", "/var/lib/dpkg/status.d/*.md5sums"} {
		for _, p := range fsys.Glob(pattern) {
			b, err := fsys.ReadFile(ctx, p, 16<<20)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				sum, file, ok := strings.Cut(line, "  ")
				if ok && len(sum) == 32 {
					sums["/"+strings.TrimPrefix(file, "/")] = sum
				}
			}
		}
	}
	if b, err := fsys.ReadFile(ctx, apkInstalled, 64<<20); err == nil {
		var dir, file string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch k {
			case "F":
				dir = v
			case "R":
				file = "/" + path.Join(dir, v)
			case "Z":
				if file != "" {
					sums[file] = v
				}
			}
		}
	}
	return sums
}

// layerSteps maps each layer to the build step that made it, from the
// image's history (empty when the history does not line up with the layers).
func layerSteps(cf *v1.ConfigFile) map[int]string {
	steps := map[int]string{}
	i := 0
	for _, h := range cf.History {
		if h.EmptyLayer {
			continue
		}
		steps[i] = shortStep(h.CreatedBy)
		i++
	}
	return steps
}

// shortStep names a build step for a message. COPY and ADD are quoted (they
// name paths only); a RUN line may carry a secret itself, so only its kind is named.
func shortStep(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "# buildkit"))
	s = strings.TrimPrefix(s, "/bin/sh -c #(nop) ")
	s = strings.Join(strings.Fields(s), " ")
	word, _, _ := strings.Cut(s, " ")
	switch word {
	case "COPY", "ADD":
		if len(s) > 80 {
			s = s[:77] + "..."
		}
		return "`" + s + "`"
	case "":
		return ""
	}
	return "a RUN step"
}
