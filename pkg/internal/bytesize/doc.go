// Package bytesize reads and writes sizes in bytes as people write them
// ("500MB", "1GiB"), through docker's go-units.
package bytesize
