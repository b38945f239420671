#!/bin/sh
# SPDX-License-Identifier: MIT
# The obvious alternative to mkagent, for the benchmarks: a shell loop (or
# a cron job) that every PERIOD seconds reads the mkvps of every AP queue
# and, when each queue of the plan is online with the planned pattern in
# its NEW register, runs the helper once.
#
#   poller.sh PERIOD PLANFILE HELPER [ARGS...]
#
# PLANFILE holds "TYPE PATTERN APQN..." (e.g. "AES 0x0123456789abcdef
# 00.0000 01.0000") and is removed when the helper has run. Each pass, when
# done, appends a line to $POLLER_TICKS when that is set.
period=$1 plan=$2
shift 2
while :; do
	type= want= apqns= ready=
	[ -r "$plan" ] && read -r type want apqns <"$plan" && ready=yes
	for q in /sys/bus/ap/devices/*.*; do
		new=
		while read -r t r st pat; do
			[ "$t $r" = "$type NEW:" ] && new="$st $pat"
		done <"$q/mkvps"
		case " $apqns " in
		*" ${q##*/} "*)
			read -r online <"$q/online"
			[ "$online" = 1 ] && [ "$new" = "full $want" ] || ready=
			;;
		esac
	done
	if [ -n "$ready" ]; then
		rm -f "$plan"
		"$@"
	fi
	[ -n "$POLLER_TICKS" ] && echo tick >>"$POLLER_TICKS"
	sleep "$period"
done
