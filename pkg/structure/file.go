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
			return nil, fmt.Errorf(`input "structure-tests": %w; list container-structure-test files that exist`, err)
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
// fields, wrong types, missing names, commands or paths, and regular
// expressions that do not compile are errors that name the line and field.
func Parse(name string, data []byte) (*File, error) {
	perr := func(line int, field, format string, args ...any) error {
		return &ParseError{File: name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlLine(err)
		return nil, perr(line, "", "%s; check the YAML syntax", msg)
	}
	if len(doc.Content) == 0 {
		return nil, perr(0, "", "the file is empty; start it with schemaVersion: %q and add tests", SchemaVersion)
	}
	f := &File{Path: name}
	if err := decode(doc.Content[0], reflect.ValueOf(f).Elem(), "", name); err != nil {
		return nil, err
	}
	if err := f.validate(perr); err != nil {
		return nil, err
	}
	return f, nil
}

var lineRE = regexp.MustCompile(`line (\d+): `)

// yamlLine takes the line number out of a yaml.v3 error.
func yamlLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	if m := lineRE.FindStringSubmatchIndex(msg); m != nil {
		n, _ := strconv.Atoi(msg[m[2]:m[3]])
		return n, msg[:m[0]] + msg[m[1]:]
	}
	return 0, msg
}

// decode reads node n into v, a struct, field by field, so that an unknown
// field or a wrong type is reported with its line and path.
func decode(n *yaml.Node, v reflect.Value, path, file string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return &ParseError{File: file, Line: n.Line, Field: fieldName(path), Msg: fmt.Sprintf("expected a mapping of %s, found %s", strings.Join(keysOf(v.Type()), ", "), kindName(n))}
	}
	t := v.Type()
	if f := v.FieldByName("Line"); f.IsValid() && f.Kind() == reflect.Int {
		f.SetInt(int64(n.Line))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fpath := k.Value
		if path != "" {
			fpath = path + "." + k.Value
		}
		if seen[k.Value] {
			return &ParseError{File: file, Line: k.Line, Field: fpath, Msg: "is set twice; keep one"}
		}
		seen[k.Value] = true
		idx := -1
		for j := 0; j < t.NumField(); j++ {
			if tag := strings.Split(t.Field(j).Tag.Get("yaml"), ",")[0]; tag == k.Value && tag != "-" {
				idx = j
			}
		}
		if idx < 0 {
			msg := fmt.Sprintf("unknown field; the fields here are %s", strings.Join(keysOf(t), ", "))
			if path == "" && k.Value == "licenseTests" {
				msg = "license tests are not supported; remove them (a license scanner belongs in its own step)"
			}
			return &ParseError{File: file, Line: k.Line, Field: fpath, Msg: msg}
		}
		if err := decodeValue(val, v.Field(idx), fpath, file); err != nil {
			return err
		}
	}
	return nil
}

func decodeValue(n *yaml.Node, fv reflect.Value, path, file string) error {
	switch {
	case fv.Kind() == reflect.Struct:
		return decode(n, fv, path, file)
	case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct:
		if n.Tag == "!!null" {
			return nil
		}
		fv.Set(reflect.New(fv.Type().Elem()))
		return decode(n, fv.Elem(), path, file)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
		if n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return &ParseError{File: file, Line: n.Line, Field: fieldName(path), Msg: fmt.Sprintf("expected a list, found %s; write each item on a line starting with \"- \"", kindName(n))}
		}
		s := reflect.MakeSlice(fv.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), file); err != nil {
				return err
			}
		}
		fv.Set(s)
		return nil
	}
	if err := n.Decode(fv.Addr().Interface()); err != nil {
		line, msg := yamlLine(err)
		if line == 0 {
			line = n.Line
		}
		return &ParseError{File: file, Line: line, Field: fieldName(path), Msg: fmt.Sprintf("%s; expected %s", msg, typeName(fv.Type()))}
	}
	return nil
}

func fieldName(p string) string { return p }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

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

func keysOf(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

var permRE = regexp.MustCompile(`^[-dlLcbpsDugt?][-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT]$`)

func (f *File) validate(perr func(int, string, string, ...any) error) error {
	switch {
	case f.SchemaVersion == "":
		return perr(1, "schemaVersion", "missing; start the file with schemaVersion: %q", SchemaVersion)
	case f.SchemaVersion != SchemaVersion:
		return perr(1, "schemaVersion", "%q is not supported; use %q (the current container-structure-test schema)", f.SchemaVersion, SchemaVersion)
	case f.Tests() == 0:
		return perr(0, "", "the file has no tests; add commandTests, fileExistenceTests, fileContentTests or metadataTest")
	}
	regexps := func(line int, field string, list []string) error {
		for i, r := range list {
			if _, err := regexp.Compile(r); err != nil {
				return perr(line, fmt.Sprintf("%s[%d]", field, i), "%q is not a regular expression (%v); escape special characters with \\\\ (YAML single quotes keep backslashes as they are)", r, err)
			}
		}
		return nil
	}
	envs := func(field string, list []EnvVar, needValue bool) error {
		for i, e := range list {
			if e.Key == "" {
				return perr(e.Line, fmt.Sprintf("%s[%d].key", field, i), "missing; name the variable")
			}
			if needValue && e.Value == "" {
				return perr(e.Line, fmt.Sprintf("%s[%d].value", field, i), "missing; give %s a value", e.Key)
			}
			if e.IsRegex {
				if err := regexps(e.Line, fmt.Sprintf("%s[%d].value", field, i), []string{e.Value}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := envs("globalEnvVars", f.GlobalEnvVars, false); err != nil {
		return err
	}
	names := map[string]int{}
	name := func(line int, field, n string) error {
		if strings.TrimSpace(n) == "" {
			return perr(line, field+".name", "missing; give every test a name, it names the test in the report")
		}
		return nil
	}
	for i, t := range f.CommandTests {
		field := fmt.Sprintf("commandTests[%d]", i)
		if err := name(t.Line, field, t.Name); err != nil {
			return err
		}
		names[t.Name]++
		if t.Command == "" {
			return perr(t.Line, field+".command", "missing in test %q; name the program to run, e.g. command: python3", t.Name)
		}
		for j, c := range append(append([][]string{}, t.Setup...), t.Teardown...) {
			if len(c) == 0 || c[0] == "" {
				what := "setup"
				if j >= len(t.Setup) {
					what, j = "teardown", j-len(t.Setup)
				}
				return perr(t.Line, fmt.Sprintf("%s.%s[%d]", field, what, j), "is empty in test %q; write each command as a list, e.g. [\"mkdir\", \"-p\", \"/tmp/x\"]", t.Name)
			}
		}
		if err := envs(field+".envVars", t.EnvVars, false); err != nil {
			return err
		}
		for _, r := range []struct {
			field string
			list  []string
		}{{"expectedOutput", t.ExpectedOutput}, {"excludedOutput", t.ExcludedOutput}, {"expectedError", t.ExpectedError}, {"excludedError", t.ExcludedError}} {
			if err := regexps(t.Line, field+"."+r.field, r.list); err != nil {
				return err
			}
		}
	}
	for i, t := range f.FileExistenceTests {
		field := fmt.Sprintf("fileExistenceTests[%d]", i)
		if err := name(t.Line, field, t.Name); err != nil {
			return err
		}
		if t.Path == "" {
			return perr(t.Line, field+".path", "missing in test %q; give the absolute path to check", t.Name)
		}
		if t.Permissions != "" && !permRE.MatchString(t.Permissions) {
			return perr(t.Line, field+".permissions", "%q is not a mode as ls shows it; write e.g. -rw-r--r-- (file) or drwxr-xr-x (directory)", t.Permissions)
		}
		switch t.IsExecutableBy {
		case "", "owner", "group", "other", "any":
		default:
			return perr(t.Line, field+".isExecutableBy", "%q is not one of owner, group, other, any", t.IsExecutableBy)
		}
	}
	for i, t := range f.FileContentTests {
		field := fmt.Sprintf("fileContentTests[%d]", i)
		if err := name(t.Line, field, t.Name); err != nil {
			return err
		}
		if t.Path == "" {
			return perr(t.Line, field+".path", "missing in test %q; give the absolute path of the file to read", t.Name)
		}
		if err := regexps(t.Line, field+".expectedContents", t.ExpectedContents); err != nil {
			return err
		}
		if err := regexps(t.Line, field+".excludedContents", t.ExcludedContents); err != nil {
			return err
		}
	}
	if m := f.MetadataTest; m != nil {
		if err := envs("metadataTest.env", m.Env, false); err != nil {
			return err
		}
		if err := envs("metadataTest.envVars", m.EnvVars, false); err != nil {
			return err
		}
		for i, l := range m.Labels {
			if l.Key == "" {
				return perr(l.Line, fmt.Sprintf("metadataTest.labels[%d].key", i), "missing; name the label")
			}
			if l.IsRegex {
				if err := regexps(l.Line, fmt.Sprintf("metadataTest.labels[%d].value", i), []string{l.Value}); err != nil {
					return err
				}
			}
		}
	}
	if o := f.ContainerRunOptions; o != nil {
		switch {
		case o.Privileged:
			return perr(o.Line, "containerRunOptions.privileged", "is not supported: test containers run unprivileged; remove it")
		case len(o.Capabilities) > 0:
			return perr(o.Line, "containerRunOptions.capabilities", "are not supported: test containers get the engine's default capabilities; remove them")
		case len(o.BindMounts) > 0:
			return perr(o.Line, "containerRunOptions.bindMounts", "are not supported: test containers see no host paths; copy what a test needs into a setup command or the image")
		}
		if o.EnvFile != "" && !filepath.IsAbs(o.EnvFile) && f.Path != "" {
			o.EnvFile = filepath.Join(filepath.Dir(f.Path), o.EnvFile)
		}
	}
	for n, c := range names {
		if c > 1 {
			return perr(0, "commandTests", "the name %q is used by %d tests; give each test its own name", n, c)
		}
	}
	return nil
}

// errNoEngine is returned when command tests need an engine and none is set.
var errNoEngine = errors.New("command tests need a Docker engine")
