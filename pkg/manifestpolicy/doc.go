// Package manifestpolicy checks a release's rendered Kubernetes objects before they are applied (plain
// secrets, unpinned images, probes, resources, Pod Security Standards, ...) and says where and how to fix them.
package manifestpolicy
