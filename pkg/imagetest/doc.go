// Package imagetest tests an image before it ships: policy checks, structure tests and
// a smoke run, composed into one verdict with a summary table and JUnit XML.
package imagetest
