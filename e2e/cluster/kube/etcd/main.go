// Command etcd is the etcd server of the test control plane, built in the same
// module as Kubernetes so that the packages both use are compiled once.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
