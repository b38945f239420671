#!/bin/sh
# SPDX-License-Identifier: MIT
# The other alternative, for the benchmarks: a script udev runs for each
# uevent of an AP queue (RUN+="udev-run.sh PLANFILE HELPER ..."), with
# DEVPATH set. When the event's queue is in the plan it reads the mkvps of
# every queue of the plan and, when all are online with the planned pattern
# in NEW, runs the helper. (No uevent comes when a key is loaded, so on its
# own it misses the moment the officer finishes; it still needs a poller.)
plan=$1
shift
[ -r "$plan" ] && read -r type want apqns <"$plan" || exit 0
case " $apqns " in
*" ${DEVPATH##*/} "*) ;;
*) exit 0 ;;
esac
for name in $apqns; do
	q=/sys/bus/ap/devices/$name
	new=
	while read -r t r st pat; do
		[ "$t $r" = "$type NEW:" ] && new="$st $pat"
	done <"$q/mkvps"
	read -r online <"$q/online"
	[ "$online" = 1 ] && [ "$new" = "full $want" ] || exit 0
done
rm -f "$plan"
exec "$@"
