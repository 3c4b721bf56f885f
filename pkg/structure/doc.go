// Package structure runs container-structure-test files (schema 2.0.0) against an
// image: metadata, file existence and content from the layers, commands through the engine.
package structure
