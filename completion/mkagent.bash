# SPDX-License-Identifier: MIT
# bash completion for mkagent(8): commands, options, operation IDs from
# `mkagent list`, APQNs from `mkagent status`, profiles and phases. The
# commands and options come from `mkagent --help` and `mkagent COMMAND
# --help`, which are made from mkagent's option tables.

# The options of `mkagent [COMMAND] --help`, one a line: "-a --apqns APQNS"
# for one that takes a value, "--json" for one that takes none.
_mkagent_opts()
{
	mkagent "$@" --help 2>/dev/null |
		sed -n 's/^  \(-[[:alnum:]]\)\{0,1\}[, ]*\(--[[:alnum:]-]\{1,\}\)\( [[:upper:]][^ ]*\)\{0,1\}  .*/\1 \2\3/p' |
		sort -u
}

_mkagent_commands()
{
	mkagent --help 2>/dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z]\{1,\}\) .*/\1/p'
}

# The options of @1 (the output of _mkagent_opts) that take a value, as
# a case pattern list: "-a|--apqns|...".
_mkagent_valued()
{
	local line opt valued=
	while read -r -a line; do
		[[ ${line[-1]} == [[:upper:]]* ]] || continue
		for opt in "${line[@]:0:${#line[@]}-1}"; do
			valued+="|$opt"
		done
	done <<<"$1"
	printf '%s' "${valued#|}"
}

# The global options given before the command, for the mkagent runs below
# ($cmd_at is the command's index, set by _mkagent).
_mkagent_where()
{
	local i
	for ((i = 1; i < cmd_at; i++)); do
		case ${COMP_WORDS[i]} in
		--state-dir | --config | --profiles) printf '%s %q ' "${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}" ;;
		esac
	done
}

_mkagent_ids()
{
	eval "mkagent $(_mkagent_where) list" 2>/dev/null | sed -n 's/^Operation: //p'
}

_mkagent_apqns()
{
	eval "mkagent $(_mkagent_where) status" 2>/dev/null |
		sed -n 's/^\([0-9A-Fa-f][0-9A-Fa-f]\.[0-9A-Fa-f]\{4\}\) .*/\1/p'
}

_mkagent_profiles()
{
	local dir=${MKAGENT_PROFILES:-/etc/mkagent/profiles} i f
	for ((i = 1; i < cmd_at; i++)); do
		[[ ${COMP_WORDS[i]} == --profiles ]] && dir=${COMP_WORDS[i + 1]}
	done
	for f in "$dir"/*.profile; do
		[[ -e $f ]] && f=${f##*/} && printf '%s\n' "${f%.profile}"
	done
}

_mkagent()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd= cmd_at=$COMP_CWORD i words=() opts global cmd_opts valued

	global=$(_mkagent_opts)
	valued="|$(_mkagent_valued "$global")|"
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*)
			[[ $valued == *"|${COMP_WORDS[i]}|"* ]] && ((i++)) # and its value
			;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${COMP_WORDS[i]} cmd_at=$i
				cmd_opts=$(_mkagent_opts "$cmd")
				valued+="$(_mkagent_valued "$cmd_opts")|"
			else
				words+=("${COMP_WORDS[i]}")
			fi
			;;
		esac
	done

	case $prev in
	--state-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--profiles)
		if [[ -z $cmd ]]; then
			COMPREPLY=($(compgen -d -- "$cur"))
			return
		fi
		;;
	--config)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-v | --verbose)
		COMPREPLY=($(compgen -W "none error warn info devel debug" -- "$cur"))
		return
		;;
	-i | --id)
		COMPREPLY=($(compgen -W "$(_mkagent_ids)" -- "$cur"))
		return
		;;
	-a | --apqns)
		# comma separated: complete the last item
		local done_part=${cur%,*} last=${cur##*,}
		[[ $cur == *,* ]] && done_part+="," || done_part=
		COMPREPLY=($(compgen -P "$done_part" -W "$(_mkagent_apqns)" -- "$last"))
		compopt -o nospace 2>/dev/null
		return
		;;
	--root)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	esac
	if [[ $prev == -* && $valued == *"|$prev|"* && $prev != --profiles ]]; then
		return # a pattern: nothing to offer
	fi

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(cut -d' ' -f1,2 <<<"$global")" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_mkagent_commands)" -- "$cur"))
		fi
		return
	fi

	# every command takes -h, --help, whether or not its --help says so
	opts=$(printf '%s\n' $(sed 's/ [[:upper:]].*//' <<<"$cmd_opts") -h --help | sort -u)
	case $cmd in
	rules)
		[[ $cur != -* && ${#words[@]} -eq 0 ]] && opts="install remove"
		;;
	helper)
		if [[ $cur != -* ]]; then
			case ${#words[@]} in
			0) opts=$(_mkagent_profiles) ;;
			1) opts="reencipher finalize cancel recover" ;;
			esac
		fi
		;;
	esac
	if [[ $prev == --profiles ]]; then
		local done_part=${cur%,*} last=${cur##*,}
		[[ $cur == *,* ]] && done_part+="," || done_part=
		COMPREPLY=($(compgen -P "$done_part" -W "$(_mkagent_profiles)" -- "$last"))
		compopt -o nospace 2>/dev/null
		return
	fi
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

complete -F _mkagent mkagent
