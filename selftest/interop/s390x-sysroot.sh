#!/bin/sh
# SPDX-License-Identifier: MIT
#
# s390x-sysroot.sh - the s390x files `make interop-lszcrypt` runs the real
# lszcrypt from: Debian's s390-tools for s390x and libc6 (lszcrypt needs only
# libc.so.6), fetched with `apt-get download` and unpacked with `dpkg -x`
# into a sysroot cached outside the clone, under $MKAGENT_INTEROP_CACHE
# (default /var/cache/mkagent-interop)/s390x-KEY, KEY being the versions of
# the packages and a recipe number.
#
# The system's dpkg and apt configuration is left alone: apt runs with its
# own state (package lists, archive cache, an empty dpkg status) in
# $MKAGENT_INTEROP_CACHE/apt-s390x and with s390x as its only architecture.
# The archives are the machine's own apt sources, read at run time: no
# mirror is named here. The lists are fetched again when a day old, or when
# MKAGENT_INTEROP_REFRESH=1.
#
# Prints the sysroot's path. A sysroot that cannot be built is a failure
# with one line saying why, never a skip.
set -eu

CACHE=${MKAGENT_INTEROP_CACHE:-/var/cache/mkagent-interop}
PKGS="s390-tools libc6"
# Raise when what is done to the sysroot below changes.
RECIPE=1
QEMU=/usr/bin/qemu-s390x-static

die() { echo "s390x-sysroot: $*" >&2; exit 1; }

[ -x "$QEMU" ] || die "$QEMU is missing (make interop-lszcrypt installs qemu-user-static)"
if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
	die "cannot write the cache directory $CACHE (run as root, or set MKAGENT_INTEROP_CACHE)"
fi

apt="$CACHE/apt-s390x"
# One at a time: several clones may share the cache.
exec 9> "$CACHE/.lock-s390x"
flock 9 || die "cannot lock $CACHE/.lock-s390x"

mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
[ -f "$apt/status" ] || : > "$apt/status"
# apt's binary caches are kept too (container images often turn them off),
# so that a cached run reads the lists in milliseconds.
aptopt="-o APT::Architecture=s390x -o APT::Architectures=s390x
	-o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache -o Dir::State::status=$apt/status
	-o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root"

stamp="$apt/lists/.mkagent-updated"
if [ "${MKAGENT_INTEROP_REFRESH:-0}" = 1 ] || [ ! -f "$stamp" ] ||
	[ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
	# shellcheck disable=SC2086
	apt-get -q $aptopt update > "$apt/update.log" 2>&1 ||
		die "cannot read the s390x package lists of the machine's apt sources: $(grep -E '^(E|W):' "$apt/update.log" | head -n 1)"
	# apt-get update exits 0 when a fetch fails: fetch again next time
	grep -q -E '^(E|W):' "$apt/update.log" || touch "$stamp"
fi

# shellcheck disable=SC2086
policy=$(apt-cache $aptopt policy $PKGS 2>/dev/null) || true
key=""
for p in $PKGS; do
	v=$(printf '%s\n' "$policy" | awk -v p="$p:" '/^[^ ]/ { cur = $1 }
		cur == p && $1 == "Candidate:" { print $2; exit }')
	case "$v" in
	"" | "(none)")
		why=$(grep -E '^(E|W):' "$apt/update.log" 2>/dev/null | head -n 1)
		die "$p for s390x is not in the machine's apt sources${why:+: $why}" ;;
	esac
	key="$key${key:+_}$p-$v"
done
key=$(printf '%s' "${key}_r$RECIPE" | tr -c 'A-Za-z0-9._+-' '_')
root="$CACHE/s390x-$key"

if [ ! -f "$root/.mkagent-complete" ]; then
	echo "s390x-sysroot: building $root (once)" >&2
	work=$(mktemp -d /tmp/s390x-sysroot.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	# shellcheck disable=SC2086
	(cd "$work" && apt-get -q $aptopt download $PKGS) > "$work/download.log" 2>&1 ||
		die "apt-get download $PKGS failed: $(grep -E '^(E|W):' "$work/download.log" | head -n 1)"
	rm -rf "$root.new"
	mkdir -p "$root.new"
	for deb in "$work"/*.deb; do
		dpkg -x "$deb" "$root.new" || die "dpkg -x $deb failed"
	done
	# The loader runs lszcrypt and finds libc by --library-path: qemu's
	# -L would also redirect the program's own opens, /sys among them.
	for f in lib/ld64.so.1 sbin/lszcrypt; do
		[ -e "$root.new/$f" ] || die "the packages have no $f"
	done
	out=$("$QEMU" "$root.new/lib/ld64.so.1" --inhibit-cache \
		--library-path "$root.new/lib/s390x-linux-gnu:$root.new/usr/lib/s390x-linux-gnu" \
		"$root.new/sbin/lszcrypt" --version 2>&1) ||
		die "lszcrypt does not run under $QEMU: $(echo "$out" | head -n 1)"
	case "$out" in
	"lszcrypt version "*) ;;
	*) die "lszcrypt --version printed: $(echo "$out" | head -n 1)" ;;
	esac
	rm -rf "$root"
	mv "$root.new" "$root"
	touch "$root/.mkagent-complete"
fi
echo "$root"
