# SPDX-License-Identifier: MIT
# bash completion for mkagent(8): commands, options, the MK type of each
# pattern option, operation IDs from `mkagent list`, APQNs from
# `mkagent status`, profiles and phases.

_mkagent_global_opts="--state-dir --config --profiles -v --verbose -h --help --version"
_mkagent_commands="status plan reencipher finalize cancel list helper daemon rules"
_mkagent_pattern_opts="--cca-aes-mkvp --cca-apka-mkvp --cca-asym-mkvp --cca-sym-mkvp --ep11-wkvp"

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
	local cmd= cmd_at=$COMP_CWORD i words=() opts

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--state-dir | --config | --profiles | -v | --verbose | -i | --id | -a | --apqns | \
			-A | -p | -S | -s | -e | --cca-*-mkvp | --ep11-wkvp | --root)
			((i++)) ;; # and its value
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${COMP_WORDS[i]} cmd_at=$i
			else
				words+=("${COMP_WORDS[i]}")
			fi
			;;
		esac
	done

	case $prev in
	--state-dir | --profiles)
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
	-A | --cca-aes-mkvp | -p | --cca-apka-mkvp | -S | --cca-asym-mkvp | -s | --cca-sym-mkvp | -e | --ep11-wkvp)
		return # a pattern: nothing to offer
		;;
	--root)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$_mkagent_global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_mkagent_commands" -- "$cur"))
		fi
		return
	fi

	case $cmd in
	status) opts="-a --apqns --json -h --help" ;;
	plan) opts="-a --apqns $_mkagent_pattern_opts --profiles --no-auto-finalize -h --help" ;;
	reencipher) opts="-a --apqns $_mkagent_pattern_opts -i --id -h --help" ;;
	finalize) opts="-i --id -h --help" ;;
	cancel) opts="-i --id --force -h --help" ;;
	list) opts="-i --id --json -h --help" ;;
	daemon) opts="--once --json -h --help" ;;
	rules)
		opts="--root -h --help"
		[[ $cur != -* && ${#words[@]} -eq 0 ]] && opts="install remove"
		;;
	helper)
		opts="-i --id -h --help"
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
