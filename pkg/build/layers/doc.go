// Package layers builds an image without a daemon: it appends layers made from
// local files to a base image and sets its config, reproducibly under SOURCE_DATE_EPOCH.
package layers
