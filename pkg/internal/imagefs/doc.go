// Package imagefs reads the files of an image's layers without a daemon: every
// file of every layer for scanners, and the merged file system the container sees.
package imagefs
