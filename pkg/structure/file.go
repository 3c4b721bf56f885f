package structure

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/deploy-action/deploy-action/pkg/internal/strictyaml"
)

// SchemaVersion is the container-structure-test schema this package reads.
const SchemaVersion = "2.0.0"

// File is one container-structure-test file.
type File struct {
	// Path is where the file was read from, for messages.
	Path string `yaml:"-"`

	SchemaVersion       string              `yaml:"schemaVersion"`
	GlobalEnvVars       []EnvVar            `yaml:"globalEnvVars"`
	CommandTests        []CommandTest       `yaml:"commandTests"`
	FileExistenceTests  []FileExistenceTest `yaml:"fileExistenceTests"`
	FileContentTests    []FileContentTest   `yaml:"fileContentTests"`
	MetadataTest        *MetadataTest       `yaml:"metadataTest"`
	ContainerRunOptions *RunOptions         `yaml:"containerRunOptions"`
}

// EnvVar is a variable: set for commands, or expected in the image.
type EnvVar struct {
	Line    int    `yaml:"-"`
	Key     string `yaml:"key"`
	Value   string `yaml:"value"`
	IsRegex bool   `yaml:"isRegex"`
}

// Label is a label expected in the image.
type Label struct {
	Line    int    `yaml:"-"`
	Key     string `yaml:"key"`
	Value   string `yaml:"value"`
	IsRegex bool   `yaml:"isRegex"`
}

// CommandTest runs a command in a container of the image and checks its
// exit code and output (Go regular expressions).
type CommandTest struct {
	Line           int        `yaml:"-"`
	Name           string     `yaml:"name"`
	Setup          [][]string `yaml:"setup"`
	Teardown       [][]string `yaml:"teardown"`
	EnvVars        []EnvVar   `yaml:"envVars"`
	ExitCode       int        `yaml:"exitCode"`
	Command        string     `yaml:"command"`
	Args           []string   `yaml:"args"`
	ExpectedOutput []string   `yaml:"expectedOutput"`
	ExcludedOutput []string   `yaml:"excludedOutput"`
	ExpectedError  []string   `yaml:"expectedError"`
	ExcludedError  []string   `yaml:"excludedError"`
}

// FileExistenceTest checks that a path exists (or not), and its mode and owner.
type FileExistenceTest struct {
	Line           int    `yaml:"-"`
	Name           string `yaml:"name"`
	Path           string `yaml:"path"`
	ShouldExist    *bool  `yaml:"shouldExist"` // default true
	Permissions    string `yaml:"permissions"` // as ls shows them: -rwxr-xr-x
	UID            *int   `yaml:"uid"`
	GID            *int   `yaml:"gid"`
	IsExecutableBy string `yaml:"isExecutableBy"` // owner, group, other or any
}

// FileContentTest checks a file's content against regular expressions.
type FileContentTest struct {
	Line             int      `yaml:"-"`
	Name             string   `yaml:"name"`
	Path             string   `yaml:"path"`
	ExpectedContents []string `yaml:"expectedContents"`
	ExcludedContents []string `yaml:"excludedContents"`
}

// MetadataTest checks the image config.
type MetadataTest struct {
	Line             int       `yaml:"-"`
	Env              []EnvVar  `yaml:"env"`
	EnvVars          []EnvVar  `yaml:"envVars"`
	Labels           []Label   `yaml:"labels"`
	ExposedPorts     []string  `yaml:"exposedPorts"`
	UnexposedPorts   []string  `yaml:"unexposedPorts"`
	Entrypoint       *[]string `yaml:"entrypoint"`
	Cmd              *[]string `yaml:"cmd"`
	Workdir          string    `yaml:"workdir"`
	Volumes          []string  `yaml:"volumes"`
	UnmountedVolumes []string  `yaml:"unmountedVolumes"`
	User             string    `yaml:"user"`
}

// RunOptions are the settings of the containers of command tests.
type RunOptions struct {
	Line int    `yaml:"-"`
	User string `yaml:"user"`
	// EnvVars names variables of this program's environment passed on.
	EnvVars []string `yaml:"envVars"`
	// EnvFile is a file of NAME=value lines, relative to the test file.
	EnvFile string `yaml:"envFile"`
	// Privileged, Capabilities and BindMounts are read so that a file that
	// sets them fails with a clear message: the test containers get no
	// privileges and no host paths.
	Privileged   bool     `yaml:"privileged"`
	Capabilities []string `yaml:"capabilities"`
	BindMounts   []string `yaml:"bindMounts"`
}

// Tests counts the tests of the file (the metadata test counts as one).
func (f *File) Tests() int {
	n := len(f.CommandTests) + len(f.FileExistenceTests) + len(f.FileContentTests)
	if f.MetadataTest != nil {
		n++
	}
	return n
}

// ParseError is a problem in a test file, at a line.
type ParseError struct {
	File  string
	Line  int
	Field string // the path of the field, e.g. commandTests[1].exitCode
	Msg   string // what is wrong and how to fix it
}

func (e *ParseError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("structure test %s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("structure test %s: %s", loc, e.Msg)
}

// Load reads and checks test files.
func Load(paths ...string) ([]*File, error) {
	var out []*File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w; list container-structure-test files that exist", err)
		}
		f, err := Parse(p, data)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Parse reads and checks one test file; name is used in messages. Unknown
// fields, keys set twice, wrong types, missing names, commands or paths, and
// regular expressions that do not compile are errors that name the line and
// field.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Path: name}
	root, err := strictyaml.Decode(data, f)
	if err != nil {
		var se *strictyaml.Error
		if !errors.As(err, &se) {
			return nil, &ParseError{File: name, Msg: err.Error()}
		}
		return nil, parseError(name, se)
	}
	if root == nil {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("the file is empty; start it with schemaVersion: %q and add tests", SchemaVersion)}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ParseError{File: name, Line: root.Line, Msg: fmt.Sprintf("expected a mapping of %s, found %s", strings.Join(strictyaml.Fields(reflect.TypeFor[File]()), ", "), strictyaml.Describe(root))}
	}
	f.setLines(root)
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// parseError says what the decoder found wrong in the terms of a test file.
func parseError(file string, e *strictyaml.Error) *ParseError {
	pe := &ParseError{File: file, Line: e.Line, Field: e.Path.String()}
	switch e.Problem {
	case strictyaml.Syntax:
		pe.Msg = e.Msg + "; check the YAML syntax"
	case strictyaml.UnknownField:
		pe.Msg = fmt.Sprintf("unknown field; the fields here are %s", strings.Join(e.Fields, ", "))
		if pe.Field == "licenseTests" {
			pe.Msg = "license tests are not supported; remove them (a license scanner belongs in its own step)"
		}
	case strictyaml.DuplicateKey:
		pe.Msg = "is set twice; keep one"
	case strictyaml.WrongType:
		switch {
		case e.Want.Kind() == reflect.Struct:
			pe.Msg = fmt.Sprintf("expected a mapping of %s, found %s", strings.Join(strictyaml.Fields(e.Want), ", "), e.Found)
		case e.Want.Kind() == reflect.Slice && e.Want.Elem().Kind() == reflect.Struct:
			pe.Msg = fmt.Sprintf("expected a list, found %s; write each item on a line starting with \"- \"", e.Found)
		default:
			pe.Msg = fmt.Sprintf("found %s; expected %s", e.Found, typeName(e.Want))
		}
	default:
		pe.Msg = e.Msg + "; check the file against the container-structure-test schema"
	}
	return pe
}

// setLines records where each test and variable starts, for messages.
// root is the document the file decoded from without error.
func (f *File) setLines(root *yaml.Node) {
	for i, n := range items(root, "globalEnvVars", len(f.GlobalEnvVars)) {
		f.GlobalEnvVars[i].Line = n.Line
	}
	for i, n := range items(root, "commandTests", len(f.CommandTests)) {
		t := &f.CommandTests[i]
		t.Line = n.Line
		for j, e := range items(n, "envVars", len(t.EnvVars)) {
			t.EnvVars[j].Line = e.Line
		}
	}
	for i, n := range items(root, "fileExistenceTests", len(f.FileExistenceTests)) {
		f.FileExistenceTests[i].Line = n.Line
	}
	for i, n := range items(root, "fileContentTests", len(f.FileContentTests)) {
		f.FileContentTests[i].Line = n.Line
	}
	if m := f.MetadataTest; m != nil {
		if n := value(root, "metadataTest"); n != nil {
			m.Line = n.Line
		}
		for i, n := range items(value(root, "metadataTest"), "env", len(m.Env)) {
			m.Env[i].Line = n.Line
		}
		for i, n := range items(value(root, "metadataTest"), "envVars", len(m.EnvVars)) {
			m.EnvVars[i].Line = n.Line
		}
		for i, n := range items(value(root, "metadataTest"), "labels", len(m.Labels)) {
			m.Labels[i].Line = n.Line
		}
	}
	if o := f.ContainerRunOptions; o != nil {
		if n := value(root, "containerRunOptions"); n != nil {
			o.Line = n.Line
		}
	}
}

// value returns the value of key in mapping n, aliases followed; nil if none.
func value(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// items returns the items of the list at key in mapping n, at most max of
// them (as many as were decoded).
func items(n *yaml.Node, key string, max int) []*yaml.Node {
	v := value(n, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, 0, len(v.Content))
	for _, item := range v.Content[:min(max, len(v.Content))] {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		out = append(out, item)
	}
	return out
}

// typeName says what a field holds, in the words of a test file's author.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Int:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Slice {
			return "a list of commands, each a list of strings"
		}
		return "a list of strings"
	}
	return t.String()
}

// validate checks what the types cannot say: the schema, names, commands,
// paths, modes and regular expressions, one kind of test at a time.
func (f *File) validate() error {
	c := checker{file: f.Path}
	for _, check := range []func() error{
		func() error { return c.header(f) },
		func() error { return c.envs("globalEnvVars", f.GlobalEnvVars, false) },
		func() error { return c.commandTests(f.CommandTests) },
		func() error { return c.fileExistenceTests(f.FileExistenceTests) },
		func() error { return c.fileContentTests(f.FileContentTests) },
		func() error { return c.metadataTest(f.MetadataTest) },
		func() error { return c.runOptions(f) },
		func() error { return c.uniqueNames(f.CommandTests) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checker makes the ParseErrors of one file.
type checker struct{ file string }

func (c checker) fail(line int, field, format string, args ...any) error {
	return &ParseError{File: c.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (c checker) header(f *File) error {
	switch {
	case f.SchemaVersion == "":
		return c.fail(1, "schemaVersion", "missing; start the file with schemaVersion: %q", SchemaVersion)
	case f.SchemaVersion != SchemaVersion:
		return c.fail(1, "schemaVersion", "%q is not supported; use %q (the current container-structure-test schema)", f.SchemaVersion, SchemaVersion)
	case f.Tests() == 0:
		return c.fail(0, "", "the file has no tests; add commandTests, fileExistenceTests, fileContentTests or metadataTest")
	}
	return nil
}

func (c checker) regexps(line int, field string, list []string) error {
	for i, r := range list {
		if _, err := regexp.Compile(r); err != nil {
			return c.fail(line, fmt.Sprintf("%s[%d]", field, i), "%q is not a regular expression (%v); escape special characters with \\\\ (YAML single quotes keep backslashes as they are)", r, err)
		}
	}
	return nil
}

func (c checker) envs(field string, list []EnvVar, needValue bool) error {
	for i, e := range list {
		if e.Key == "" {
			return c.fail(e.Line, fmt.Sprintf("%s[%d].key", field, i), "missing; name the variable")
		}
		if needValue && e.Value == "" {
			return c.fail(e.Line, fmt.Sprintf("%s[%d].value", field, i), "missing; give %s a value", e.Key)
		}
		if e.IsRegex {
			if err := c.regexps(e.Line, fmt.Sprintf("%s[%d].value", field, i), []string{e.Value}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c checker) name(line int, field, n string) error {
	if strings.TrimSpace(n) == "" {
		return c.fail(line, field+".name", "missing; give every test a name, it names the test in the report")
	}
	return nil
}

func (c checker) commandTests(tests []CommandTest) error {
	for i, t := range tests {
		field := fmt.Sprintf("commandTests[%d]", i)
		if err := c.name(t.Line, field, t.Name); err != nil {
			return err
		}
		if t.Command == "" {
			return c.fail(t.Line, field+".command", "missing in test %q; name the program to run, e.g. command: python3", t.Name)
		}
		if err := c.commands(t, field); err != nil {
			return err
		}
		if err := c.envs(field+".envVars", t.EnvVars, false); err != nil {
			return err
		}
		for _, r := range []struct {
			field string
			list  []string
		}{{"expectedOutput", t.ExpectedOutput}, {"excludedOutput", t.ExcludedOutput}, {"expectedError", t.ExpectedError}, {"excludedError", t.ExcludedError}} {
			if err := c.regexps(t.Line, field+"."+r.field, r.list); err != nil {
				return err
			}
		}
	}
	return nil
}

// uniqueNames refuses two command tests of one name: the report could not
// tell them apart. The first name used twice is named, in file order.
func (c checker) uniqueNames(tests []CommandTest) error {
	count := map[string]int{}
	for _, t := range tests {
		count[t.Name]++
	}
	for _, t := range tests {
		if n := count[t.Name]; n > 1 {
			return c.fail(0, "commandTests", "the name %q is used by %d tests; give each test its own name", t.Name, n)
		}
	}
	return nil
}

// commands checks a command test's setup and teardown commands.
func (c checker) commands(t CommandTest, field string) error {
	for _, part := range []struct {
		what string
		list [][]string
	}{{"setup", t.Setup}, {"teardown", t.Teardown}} {
		for j, cmd := range part.list {
			if len(cmd) == 0 || cmd[0] == "" {
				return c.fail(t.Line, fmt.Sprintf("%s.%s[%d]", field, part.what, j), "is empty in test %q; write each command as a list, e.g. [\"mkdir\", \"-p\", \"/tmp/x\"]", t.Name)
			}
		}
	}
	return nil
}

var permRE = regexp.MustCompile(`^[-dlLcbpsDugt?][-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT]$`)

func (c checker) fileExistenceTests(tests []FileExistenceTest) error {
	for i, t := range tests {
		field := fmt.Sprintf("fileExistenceTests[%d]", i)
		if err := c.name(t.Line, field, t.Name); err != nil {
			return err
		}
		if t.Path == "" {
			return c.fail(t.Line, field+".path", "missing in test %q; give the absolute path to check", t.Name)
		}
		if t.Permissions != "" && !permRE.MatchString(t.Permissions) {
			return c.fail(t.Line, field+".permissions", "%q is not a mode as ls shows it; write e.g. -rw-r--r-- (file) or drwxr-xr-x (directory)", t.Permissions)
		}
		switch t.IsExecutableBy {
		case "", "owner", "group", "other", "any":
		default:
			return c.fail(t.Line, field+".isExecutableBy", "%q is not one of owner, group, other, any", t.IsExecutableBy)
		}
	}
	return nil
}

func (c checker) fileContentTests(tests []FileContentTest) error {
	for i, t := range tests {
		field := fmt.Sprintf("fileContentTests[%d]", i)
		if err := c.name(t.Line, field, t.Name); err != nil {
			return err
		}
		if t.Path == "" {
			return c.fail(t.Line, field+".path", "missing in test %q; give the absolute path of the file to read", t.Name)
		}
		if err := c.regexps(t.Line, field+".expectedContents", t.ExpectedContents); err != nil {
			return err
		}
		if err := c.regexps(t.Line, field+".excludedContents", t.ExcludedContents); err != nil {
			return err
		}
	}
	return nil
}

func (c checker) metadataTest(m *MetadataTest) error {
	if m == nil {
		return nil
	}
	if err := c.envs("metadataTest.env", m.Env, false); err != nil {
		return err
	}
	if err := c.envs("metadataTest.envVars", m.EnvVars, false); err != nil {
		return err
	}
	for i, l := range m.Labels {
		if l.Key == "" {
			return c.fail(l.Line, fmt.Sprintf("metadataTest.labels[%d].key", i), "missing; name the label")
		}
		if l.IsRegex {
			if err := c.regexps(l.Line, fmt.Sprintf("metadataTest.labels[%d].value", i), []string{l.Value}); err != nil {
				return err
			}
		}
	}
	return nil
}

// runOptions refuses what would give a test container more than the engine's
// defaults, and resolves the env file next to the test file.
func (c checker) runOptions(f *File) error {
	o := f.ContainerRunOptions
	if o == nil {
		return nil
	}
	switch {
	case o.Privileged:
		return c.fail(o.Line, "containerRunOptions.privileged", "is not supported: test containers run unprivileged; remove it")
	case len(o.Capabilities) > 0:
		return c.fail(o.Line, "containerRunOptions.capabilities", "are not supported: test containers get the engine's default capabilities; remove them")
	case len(o.BindMounts) > 0:
		return c.fail(o.Line, "containerRunOptions.bindMounts", "are not supported: test containers see no host paths; copy what a test needs into a setup command or the image")
	}
	if o.EnvFile != "" && !filepath.IsAbs(o.EnvFile) && f.Path != "" {
		o.EnvFile = filepath.Join(filepath.Dir(f.Path), o.EnvFile)
	}
	return nil
}

// errNoEngine is returned when command tests need an engine and none is set.
var errNoEngine = errors.New("command tests need a Docker engine")
