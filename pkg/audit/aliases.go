package audit

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// AliasRule names the finding for a document whose YAML aliases expand past maxNodes.
const AliasRule = "yaml-aliases"

// maxNodes bounds the size of a workflow once its aliases are expanded. actionlint's parser
// expands every alias where it is used, so nested aliases (a "billion laughs" document of a few
// hundred bytes) cost exponential time: 9 aliases of 9, six deep, take it seconds, seven deep
// minutes. Real workflows, anchors and all, stay far below this.
const maxNodes = 50_000

// aliasBlowup returns a finding when src's aliases expand it past maxNodes. The count walks the
// YAML node graph once, each anchor's expanded size memoised, so it stays linear in the source.
func aliasBlowup(path string, src []byte) *Finding {
	if !bytes.Contains(src, []byte("*")) || !bytes.Contains(src, []byte("&")) {
		return nil // no alias without an anchor and a reference
	}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil {
		return nil // actionlint's parser reports the syntax error
	}
	memo := map[*yaml.Node]int{}
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if s, ok := memo[n]; ok {
			return s
		}
		memo[n] = 1 // a recursive alias counts once; actionlint reports it
		s := 1
		for _, c := range n.Content {
			s = min(s+size(c), maxNodes+1)
		}
		memo[n] = s
		return s
	}
	if s := size(&doc); s <= maxNodes {
		return nil
	}
	return &Finding{File: path, Line: 1, Column: 1, Rule: AliasRule, Severity: Error,
		Message: fmt.Sprintf("its aliases expand the document past %d YAML nodes; nothing else was checked", maxNodes),
		Fix:     "write the repeated parts out, or nest aliases less deeply"}
}
