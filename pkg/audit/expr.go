package audit

import (
	"strings"

	"github.com/rhysd/actionlint"
)

// expr is one ${{ }} expression inside a string value, parsed by actionlint's expression parser.
type expr struct {
	node  actionlint.ExprNode
	start int // offset of "${{" in the value
	body  int // offset of the first byte after "${{"
	end   int // offset after "}}"
}

// exprsIn parses every ${{ }} in s. An expression that does not parse is skipped: actionlint
// reports it.
func exprsIn(s string) []expr {
	var out []expr
	for off := 0; ; {
		i := strings.Index(s[off:], "${{")
		if i < 0 {
			return out
		}
		start := off + i
		body := start + 3
		l := actionlint.NewExprLexer(s[body:])
		n, err := actionlint.NewExprParser().Parse(l)
		if err != nil || n == nil {
			off = body
			continue
		}
		end := min(body+l.Offset(), len(s))
		out = append(out, expr{node: n, start: start, body: body, end: end})
		off = max(end, body)
	}
}

// offsetOf is the offset in the value of a node of e.
func (e expr) offsetOf(n actionlint.ExprNode) int {
	if t := tokenOf(n); t != nil {
		return e.body + t.Offset
	}
	return e.start
}

func tokenOf(n actionlint.ExprNode) (t *actionlint.Token) {
	defer func() {
		// Token() of a node the parser built always has a token; guard the odd one that does not.
		if recover() != nil {
			t = nil
		}
	}()
	return n.Token()
}

// contextPath spells a property access chain as lower-case segments: github.event.issue.title is
// [github event issue title]; an index that is not a string literal, or an object filter (.*), is
// "*". It returns nil for anything else.
func contextPath(n actionlint.ExprNode) []string {
	switch n := n.(type) {
	case *actionlint.VariableNode:
		return []string{strings.ToLower(n.Name)}
	case *actionlint.ObjectDerefNode:
		if p := contextPath(n.Receiver); p != nil {
			return append(p, strings.ToLower(n.Property))
		}
	case *actionlint.ArrayDerefNode:
		if p := contextPath(n.Receiver); p != nil {
			return append(p, "*")
		}
	case *actionlint.IndexAccessNode:
		if p := contextPath(n.Operand); p != nil {
			if lit, ok := n.Index.(*actionlint.StringNode); ok {
				return append(p, strings.ToLower(lit.Value))
			}
			return append(p, "*")
		}
	}
	return nil
}

// valuePaths returns the context accesses whose value can become the expression's value, the
// part of an expression that ends up in a script. A comparison, a negation or contains() yields a
// boolean whatever its operands; a || b yields a or b; format(), join() and toJSON() carry their
// arguments through.
func valuePaths(n actionlint.ExprNode, out []pathNode) []pathNode {
	switch n := n.(type) {
	case *actionlint.VariableNode, *actionlint.ObjectDerefNode, *actionlint.ArrayDerefNode, *actionlint.IndexAccessNode:
		if p := contextPath(n); p != nil {
			return append(out, pathNode{path: p, node: n})
		}
	case *actionlint.LogicalOpNode:
		out = valuePaths(n.Left, out)
		return valuePaths(n.Right, out)
	case *actionlint.FuncCallNode:
		switch strings.ToLower(n.Callee) {
		case "format", "join", "tojson", "fromjson":
			for _, a := range n.Args {
				out = valuePaths(a, out)
			}
		}
	}
	return out
}

type pathNode struct {
	path []string
	node actionlint.ExprNode
}

func (p pathNode) String() string { return strings.Join(p.path, ".") }

// matches reports whether a context path reaches a pattern's data: it names the pattern, a part of
// it, or the whole object that holds it (toJSON(github.event) carries every title). "*" on either
// side matches any segment.
func matches(path, pattern []string) bool {
	for i := range min(len(path), len(pattern)) {
		if path[i] != pattern[i] && path[i] != "*" && pattern[i] != "*" {
			return false
		}
	}
	return true
}

func splitPaths(ps ...string) [][]string {
	out := make([][]string, len(ps))
	for i, p := range ps {
		out[i] = strings.Split(p, ".")
	}
	return out
}

// attackerControlled are the contexts anyone who can open an issue, a pull request from a fork, a
// comment or push a branch name decides the text of. The list follows GitHub's guidance on
// untrusted input and the contexts actionlint and zizmor treat as such.
var attackerControlled = splitPaths(
	"github.head_ref",
	"github.event.issue.title", "github.event.issue.body",
	"github.event.pull_request.title", "github.event.pull_request.body",
	"github.event.pull_request.head.ref", "github.event.pull_request.head.label",
	"github.event.pull_request.head.repo.default_branch",
	"github.event.comment.body", "github.event.review.body", "github.event.review_comment.body",
	"github.event.discussion.title", "github.event.discussion.body",
	"github.event.pages.*.page_name",
	"github.event.commits.*.message", "github.event.commits.*.author.email", "github.event.commits.*.author.name",
	"github.event.head_commit.message", "github.event.head_commit.author.email", "github.event.head_commit.author.name",
	"github.event.workflow_run.head_branch", "github.event.workflow_run.display_title",
	"github.event.workflow_run.head_commit.message", "github.event.workflow_run.head_commit.author.email",
	"github.event.workflow_run.head_commit.author.name", "github.event.workflow_run.pull_requests.*.head.ref",
	"github.event.client_payload",
)

// callerControlled are inputs: whoever dispatches the workflow or calls it decides them.
var callerControlled = splitPaths("inputs", "github.event.inputs")

// taint classifies the value paths of an expression: the first attacker-controlled one, else the
// first caller-controlled one.
func taint(e expr) (pathNode, Severity, bool) {
	paths := valuePaths(e.node, nil)
	for _, p := range paths {
		for _, pat := range attackerControlled {
			if matches(p.path, pat) {
				return p, Error, true
			}
		}
	}
	for _, p := range paths {
		for _, pat := range callerControlled {
			if matches(p.path, pat) {
				return p, Warning, true
			}
		}
	}
	return pathNode{}, 0, false
}

// secretRef is one use of the secrets context: secrets.NAME (name set) or the whole context.
type secretRef struct {
	name   string // upper-case; "" for the whole context
	offset int    // in the string value
}

// secretRefs lists the secrets an expression reads, anywhere in it (a condition reads a secret as
// much as a value does).
func secretRefs(e expr) []secretRef {
	var out []secretRef
	actionlint.VisitExprNode(e.node, func(n, parent actionlint.ExprNode, entering bool) {
		v, ok := n.(*actionlint.VariableNode)
		if !entering || !ok || !strings.EqualFold(v.Name, "secrets") {
			return
		}
		ref := secretRef{offset: e.offsetOf(v)}
		switch p := parent.(type) {
		case *actionlint.ObjectDerefNode:
			if p.Receiver == n {
				ref.name = strings.ToUpper(p.Property)
			}
		case *actionlint.IndexAccessNode:
			if lit, ok := p.Index.(*actionlint.StringNode); ok && p.Operand == n {
				ref.name = strings.ToUpper(lit.Value)
			}
		}
		out = append(out, ref)
	})
	return out
}
