// Package markdown writes the GitHub-flavoured Markdown of job summaries: tables
// whose cells cannot break them, whatever text an error or a log line carries.
package markdown
