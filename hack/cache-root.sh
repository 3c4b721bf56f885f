# Sourced by the scripts that cache what they build (e2e/cluster/build.sh,
# e2e/act/build.sh). cache_root prints the cache directory: $DEPLOY_ACTION_CACHE
# when set, else /var/cache/deploy-action when it can be written, else
# ${XDG_CACHE_HOME:-~/.cache}/deploy-action. The tests look in the same places
# (e2e/kubetest/controlplane CacheDirs).
cache_root() {
	if [[ -n ${DEPLOY_ACTION_CACHE:-} ]]; then
		printf '%s\n' "$DEPLOY_ACTION_CACHE"
		return
	fi
	local sys=/var/cache/deploy-action
	if mkdir -p "$sys" 2>/dev/null && [[ -w $sys ]]; then
		printf '%s\n' "$sys"
		return
	fi
	printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/deploy-action"
}
