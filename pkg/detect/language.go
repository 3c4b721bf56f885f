package detect

import (
	"path"
	"sort"

	"github.com/go-enry/go-enry/v2"
)

// known maps go-enry's language names to the languages the generator knows.
// Kotlin builds and deploys like Java (Maven or Gradle, a JVM image).
var known = map[string]Language{
	"Python":     Python,
	"Go":         Go,
	"JavaScript": Node,
	"TypeScript": Node,
	"TSX":        Node,
	"Java":       Java,
	"Kotlin":     Java,
}

// notSource are go-enry programming languages that build or package the code
// rather than being it.
var notSource = map[string]bool{"Dockerfile": true, "Makefile": true}

type langCount struct {
	name  string
	bytes int64
	first string // the first file of the language, for the evidence
}

// languages counts the bytes of each programming language in files, by
// go-enry's classification (extension and file name first, content only when
// those are ambiguous), largest first.
func (t *tree) languages(files []file) []langCount {
	counts := map[string]*langCount{}
	for _, f := range files {
		if enry.IsVendor(f.path) || enry.IsDocumentation(f.path) || enry.IsDotFile(f.path) {
			continue
		}
		name := path.Base(f.path)
		lang, safe := enry.GetLanguageByExtension(name)
		if lang == "" {
			lang, safe = enry.GetLanguageByFilename(name)
		}
		if lang != "" && !safe {
			if b, err := t.read(f.path); err == nil {
				if enry.IsGenerated(f.path, b) {
					continue
				}
				lang = enry.GetLanguage(name, b)
			}
		}
		if lang == "" || notSource[lang] || enry.GetLanguageType(lang) != enry.Programming {
			continue
		}
		c := counts[lang]
		if c == nil {
			c = &langCount{name: lang, first: f.path}
			counts[lang] = c
		}
		c.bytes += f.size
	}
	out := make([]langCount, 0, len(counts))
	for _, c := range counts {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].bytes != out[j].bytes {
			return out[i].bytes > out[j].bytes
		}
		return out[i].name < out[j].name
	})
	return out
}

// mainLanguage picks the known language with the most code; ok is false when
// no known language is there.
func mainLanguage(counts []langCount) (Language, langCount, bool) {
	var total = map[Language]int64{}
	var first = map[Language]langCount{}
	for _, c := range counts {
		if l, ok := known[c.name]; ok {
			total[l] += c.bytes
			if _, seen := first[l]; !seen {
				first[l] = c
			}
		}
	}
	var best Language
	for l, n := range total {
		if best == "" || n > total[best] || n == total[best] && l < best {
			best = l
		}
	}
	if best == "" {
		return "", langCount{}, false
	}
	return best, first[best], true
}
