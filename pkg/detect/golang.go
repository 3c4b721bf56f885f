package detect

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

var goFrameworks = []struct {
	module string
	fw     Framework
}{
	{"github.com/gin-gonic/gin", Gin},
	{"github.com/labstack/echo/v4", Echo},
	{"github.com/labstack/echo", Echo},
	{"github.com/go-chi/chi/v5", Chi},
	{"github.com/go-chi/chi", Chi},
	{"github.com/gofiber/fiber/v2", Fiber},
	{"github.com/gofiber/fiber/v3", Fiber},
	{"github.com/gorilla/mux", GorillaMux},
}

var goBacking = []struct {
	modules []string
	kind    DependencyKind
}{
	{[]string{"github.com/jackc/pgx/v5", "github.com/jackc/pgx/v4", "github.com/jackc/pgx", "github.com/lib/pq", "gorm.io/driver/postgres", "github.com/go-pg/pg/v10", "github.com/uptrace/bun/driver/pgdriver"}, PostgreSQL},
	{[]string{"github.com/go-sql-driver/mysql", "gorm.io/driver/mysql"}, MySQL},
	{[]string{"github.com/redis/go-redis/v9", "github.com/go-redis/redis/v8", "github.com/go-redis/redis", "github.com/gomodule/redigo", "github.com/redis/rueidis"}, Redis},
}

// golang reads a Go service: go.mod with x/mod's parser, the code with
// go/parser.
func (c *svc) golang() error {
	s, t := c.s, c.d.t
	modPath := join(s.Dir, "go.mod")
	if t.has(modPath) {
		b, err := t.read(modPath)
		if err != nil {
			return &FileError{File: modPath, Err: err}
		}
		mf, err := modfile.ParseLax(modPath, b, nil)
		if err != nil {
			return modfileError(modPath, err)
		}
		if mf.Go != nil {
			s.LanguageVersion = mf.Go.Version
			c.note("go "+mf.Go.Version, modPath, mf.Go.Syntax.Start.Line)
		}
		for _, r := range mf.Require {
			c.deps = append(c.deps, dep{name: r.Mod.Path, version: r.Mod.Version, dev: r.Indirect,
				at: Evidence{What: r.Mod.Path + " in go.mod", File: modPath, Line: r.Syntax.Start.Line}})
		}
		if sum := join(s.Dir, "go.sum"); t.has(sum) {
			s.Lockfile = sum
			c.note("lock file", sum, 0)
		}
	}

	fset := token.NewFileSet()
	var mains []string
	mainFile := map[string]string{}
	var listen Evidence
	var portLit Evidence
	port := 0
	hasTests := ""
	for _, f := range c.files {
		if !strings.HasSuffix(f.path, ".go") {
			continue
		}
		if strings.HasSuffix(f.path, "_test.go") {
			if hasTests == "" {
				hasTests = f.path
			}
			continue
		}
		b, err := t.read(f.path)
		if err != nil {
			continue
		}
		af, err := parser.ParseFile(fset, f.path, b, parser.SkipObjectResolution)
		if err != nil {
			continue // code that does not compile says nothing reliable
		}
		osName, httpName := "", ""
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			local := path.Base(p)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			switch p {
			case "os":
				osName = local
			case "net/http":
				httpName = local
			}
		}
		if af.Name.Name == "main" {
			for _, decl := range af.Decls {
				if fd, ok := decl.(*ast.FuncDecl); ok && fd.Name.Name == "main" && fd.Recv == nil {
					mains = append(mains, path.Dir(f.path))
					mainFile[path.Dir(f.path)] = f.path
				}
			}
		}
		ast.Inspect(af, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BlockStmt:
				if osName != "" {
					c.goEnvDefaults(n, osName, fset, f.path)
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, _ := sel.X.(*ast.Ident)
				if x != nil && x.Name == osName && osName != "" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv") && len(n.Args) == 1 {
					if name, ok := stringLit(n.Args[0]); ok {
						c.addEnv(name, "", f.path, fset.Position(n.Pos()).Line)
					}
				}
				if sel.Sel.Name == "ListenAndServe" && listen.File == "" {
					listen = Evidence{File: f.path, Line: fset.Position(n.Pos()).Line}
					_ = httpName
				}
			case *ast.BasicLit:
				if v, ok := stringLit(n); ok && portLit.File == "" {
					if m := addrLiteral.FindStringSubmatch(v); m != nil {
						port, _ = strconv.Atoi(m[1])
						portLit = Evidence{What: "listen address " + strconv.Quote(v), File: f.path, Line: fset.Position(n.Pos()).Line}
					}
				}
			}
			return true
		})
	}

	for _, fw := range goFrameworks {
		if d, ok := c.findDep(fw.module); ok {
			s.Framework = fw.fw
			c.note("framework "+string(fw.fw), d.at.File, d.at.Line)
			break
		}
	}
	if s.Framework == "" && listen.File != "" {
		s.Framework = NetHTTP
		c.note("framework net/http (ListenAndServe)", listen.File, listen.Line)
	}
	for _, bk := range goBacking {
		if d, ok := c.findDep(bk.modules...); ok {
			c.addDependency(bk.kind, d.at)
		}
	}
	if len(mains) > 0 {
		sort.Strings(mains)
		entry := mains[0]
		for _, m := range mains {
			if path.Base(m) == s.Name || path.Base(m) == path.Base(strings.TrimSuffix(s.Dir, "/")) {
				entry = m
				break
			}
		}
		rel := "."
		if entry != s.Dir {
			rel = "./" + strings.TrimPrefix(entry, s.Dir+"/")
			if s.Dir == "." {
				rel = "./" + entry
			}
		}
		s.Entry = rel
		c.note("entry "+rel+" (package main)", mainFile[entry], 0)
	}
	c.note("code in "+s.Code, "", 0)
	c.setPort(port, portLit)
	metricsRoute := c.routes()
	if hasTests != "" {
		s.TestCommand = []string{"go", "test", "./..."}
		c.note("tests: go test ./...", hasTests, 0)
	}
	if d, ok := c.findDep("github.com/prometheus/client_golang"); ok {
		c.setMetrics(PromHTTP, d.at, metricsRoute, "/metrics")
	}
	return nil
}

// addrLiteral matches a listen address literal: ":8080", "0.0.0.0:8080".
var addrLiteral = regexp.MustCompile(`^(?:0\.0\.0\.0|localhost|127\.0\.0\.1|\[::\])?:(\d{2,5})$`)

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// goEnvDefaults finds the default a block gives a variable it reads:
//
//	port := os.Getenv("PORT")
//	if port == "" { port = "8080" }
func (c *svc) goEnvDefaults(b *ast.BlockStmt, osName string, fset *token.FileSet, file string) {
	for i := 0; i+1 < len(b.List); i++ {
		as, ok := b.List[i].(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			continue
		}
		v, _ := as.Lhs[0].(*ast.Ident)
		call, _ := as.Rhs[0].(*ast.CallExpr)
		if v == nil || call == nil || len(call.Args) != 1 {
			continue
		}
		sel, _ := call.Fun.(*ast.SelectorExpr)
		if sel == nil || sel.Sel.Name != "Getenv" {
			continue
		}
		if x, _ := sel.X.(*ast.Ident); x == nil || x.Name != osName {
			continue
		}
		name, ok := stringLit(call.Args[0])
		if !ok {
			continue
		}
		ifs, _ := b.List[i+1].(*ast.IfStmt)
		if ifs == nil || len(ifs.Body.List) != 1 {
			continue
		}
		cond, _ := ifs.Cond.(*ast.BinaryExpr)
		if cond == nil || cond.Op != token.EQL {
			continue
		}
		if id, _ := cond.X.(*ast.Ident); id == nil || id.Name != v.Name {
			continue
		}
		if s, ok := stringLit(cond.Y); !ok || s != "" {
			continue
		}
		set, _ := ifs.Body.List[0].(*ast.AssignStmt)
		if set == nil || len(set.Rhs) != 1 {
			continue
		}
		if def, ok := stringLit(set.Rhs[0]); ok {
			c.addEnv(name, def, file, fset.Position(call.Pos()).Line)
		}
	}
}

func modfileError(file string, err error) error {
	if el, ok := err.(modfile.ErrorList); ok && len(el) > 0 {
		return &FileError{File: file, Line: el[0].Pos.Line, Err: el[0].Err}
	}
	return &FileError{File: file, Err: err}
}
