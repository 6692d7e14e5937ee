# SPDX-License-Identifier: MIT
# Sourced by the scripts that install Debian packages (setup.sh, kmod-ci.sh).
#
# apt_install PKG...   installs the packages that are not installed yet.
#
# Another apt or dpkg process (unattended-upgrades, a second setup run, a
# package manager the user left open) holds the dpkg lock for a while: every
# apt-get call waits for it, up to UIPC_APT_LOCK_TIMEOUT seconds (default
# 600), and the whole update + install is retried three times before giving
# up, with the last lines of apt's output.

apt_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || printf '%s\n' "$p"
	done
}

apt_install() {
	local sudo="" log try wait=${UIPC_APT_LOCK_TIMEOUT:-600}
	local -a missing
	mapfile -t missing < <(apt_missing "$@")
	((${#missing[@]})) || return 0
	[ "$(id -u)" = 0 ] || sudo=sudo
	log=$(mktemp)
	echo "apt: installing ${missing[*]}"
	for try in 1 2 3; do
		if $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$wait" \
		       -qq update >"$log" 2>&1 &&
		   $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$wait" \
		       install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
			rm -f "$log"
			return 0
		fi
		echo "apt: attempt $try failed: $(tail -n1 "$log")" >&2
		((try == 3)) || sleep $((try * 15))
	done
	tail -n 20 "$log" >&2
	rm -f "$log"
	echo "apt: could not install ${missing[*]}" >&2
	return 1
}
