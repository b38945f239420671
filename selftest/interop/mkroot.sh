#!/bin/sh
# SPDX-License-Identifier: MIT
#
# mkroot.sh - the Debian trixie root with the real openCryptoki 3.23 that
# `make interop` runs in. Built once with mmdebstrap, then cached outside
# the clone under $MKAGENT_INTEROP_CACHE (default /var/cache/mkagent-interop),
# keyed by the trixie versions of opencryptoki and libopencryptoki0: a new
# upload to trixie makes a new root. The mirror is the machine's own, read
# from its apt sources at run time.
#
# Prints the path of the root (a directory, never written to by the tests:
# they mount an overlay on it). A root that cannot be built is a failure
# with one line saying why, never a skip.
set -eu

CACHE=${MKAGENT_INTEROP_CACHE:-/var/cache/mkagent-interop}
SUITE=trixie
# The key: the versions of these two...
PKGS="opencryptoki libopencryptoki0"
# ...and the names of these, which the scenarios use around them
# (pkcs11-tool, to encrypt and decrypt with a token's key)...
EXTRA="opensc"
# ...and the number of this recipe: raise it when what is done to the root
# below changes, so that a cached root of the old recipe is not used.
RECIPE=2

die() { echo "mkroot: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot, mounts)"

# The first Debian archive of the machine's apt sources (deb822 or one-line),
# not its security archive.
mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		     { uri = ""; suites = "";
		       for (i = 1; i <= NF; i++) {
			       if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uri = u[1] }
			       if ($i ~ /^Suites:/) suites = $i }
		       if (uri != "" && suites !~ /-security/ && suites ~ /[a-z]/) { print uri; exit } }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++; if ($i ~ /^\[/ || $i ~ /\]$/) i++;
			if ($(i + 1) !~ /-security/) { print $i; exit } }' "$f"
	done
}
MIRROR=$(mirror | head -n 1)
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"

command -v mmdebstrap >/dev/null ||
	die "mmdebstrap is not installed (make interop-deps installs it)"

# The trixie versions, looked up without touching the system's apt state.
work=$(mktemp -d /tmp/mkroot.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb $MIRROR $SUITE main" > "$work/sources.list"
aptopt="-o Dir::Etc::sourcelist=$work/sources.list -o Dir::Etc::sourceparts=/dev/null
	-o Dir::State::Lists=$work/lists -o Dir::Cache=$work/cache"
# shellcheck disable=SC2086
apt-get -q $aptopt update > "$work/update.log" 2>&1 ||
	die "cannot read the $SUITE package lists from the machine's mirror: $(tail -n 1 "$work/update.log")"
key=""
for p in $PKGS; do
	# shellcheck disable=SC2086
	v=$(apt-cache $aptopt show "$p" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
	[ -n "$v" ] || die "$p is not in $SUITE on the machine's mirror"
	key="$key${key:+_}$p-$v"
done
key=$(printf '%s' "${key}_${EXTRA}_r$RECIPE" | tr -c 'A-Za-z0-9._+-' '_')
root="$CACHE/$key"

mkdir -p "$CACHE" 2>/dev/null || die "cannot create the cache directory $CACHE"
# One build at a time: several clones may share the cache.
exec 9> "$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"
if [ ! -f "$root/.mkagent-complete" ]; then
	rm -rf "$root.new"
	echo "mkroot: building $SUITE root $key (once; cached in $CACHE)" >&2
	mmdebstrap --variant=apt --include="$(echo "$PKGS $EXTRA" | tr ' ' ,)" \
		"$SUITE" "$root.new" "$MIRROR" > "$work/mmdebstrap.log" 2>&1 ||
		die "mmdebstrap failed: $(tail -n 3 "$work/mmdebstrap.log" | tr '\n' ' ')"
	# What Debian's tmpfiles rules (usr/lib/tmpfiles.d/opencryptoki.conf)
	# would make, which mmdebstrap does not apply; users and groups are the
	# root's own, hence chroot.
	# shellcheck disable=SC2016
	chroot "$root.new" sh -e -c '
		install -d -o pkcsslotd -g pkcs11 -m 0710 /run/opencryptoki
		for d in /var/lib/opencryptoki /var/log/opencryptoki /var/lock/opencryptoki; do
			install -d -o root -g pkcs11 -m 0770 $d
		done
		chgrp -R pkcs11 /var/lib/opencryptoki' ||
		die "cannot create the directories of Debian's tmpfiles rules in the root"
	rm -rf "$root"
	mv "$root.new" "$root"
	touch "$root/.mkagent-complete"
fi
echo "$root"
