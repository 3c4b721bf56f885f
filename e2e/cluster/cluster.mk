# The test control plane (e2e/cluster/README.md). Included by the Makefile.
#
#   make cluster-build  build and cache etcd, kube-apiserver, kube-controller-manager,
#                       kube-scheduler, kwok, kubeconform and the schemas (cold: long)
#   make cluster-up     start a control plane in $(CLUSTER_DIR), print its KUBECONFIG
#   make cluster-down   stop it; no process or file is left behind
#   make schemas        (re)generate the kubeconform schemas; SCHEMAS_DIR=dir also
#                       copies them there

CLUSTER_DIR ?= .cache/cluster
CLUSTER_NODES ?= 3

.PHONY: cluster-build cluster-up cluster-down schemas

# The end-to-end tests need the binaries: built once (about 15 minutes on two idle
# cores), then found in the cache in a second.
test-e2e: cluster-build

cluster-build:
	$(call step,control plane,e2e/cluster/build.sh)

cluster-up: cluster-build
	@go run ./e2e/kubetest/cmd/kubetest-cluster up -dir $(CLUSTER_DIR) -nodes $(CLUSTER_NODES)

cluster-down:
	@go run ./e2e/kubetest/cmd/kubetest-cluster down -dir $(CLUSTER_DIR)

schemas:
	@dir=$$(e2e/cluster/build.sh schemas | awk '{print $$3}') && echo "schemas in $$dir" && \
	if [ -n "$(SCHEMAS_DIR)" ]; then mkdir -p "$(SCHEMAS_DIR)" && cp "$$dir"/*.json "$(SCHEMAS_DIR)"/ && echo "copied to $(SCHEMAS_DIR)"; fi
