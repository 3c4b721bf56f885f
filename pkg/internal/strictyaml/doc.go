// Package strictyaml decodes a YAML document into typed Go values strictly
// (unknown fields, duplicate keys and wrong types are errors) and says where.
package strictyaml
