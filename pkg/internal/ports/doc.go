// Package ports reads container port specs ("8000", "53/udp", "18000:8000")
// through docker's go-connections/nat, for every stage that takes one.
package ports
