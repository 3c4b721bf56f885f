// Command etcd is the etcd 3.6 server, built from the Go module proxy so that the
// test control plane does not depend on a distribution's older etcd.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
