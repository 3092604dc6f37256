# bash completion for agentctl (installed as
# /usr/share/bash-completion/completions/agentctl)
_agentctl() {
	local cur prev cmd="" i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --socket) ((i++)) ;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done
	case $prev in
	-s | --socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--watch | --times)
		return
		;;
	--from)
		COMPREPLY=($(compgen -W "vm wire" -- "$cur"))
		return
		;;
	esac
	case ${cmd:-} in
	"")
		COMPREPLY=($(compgen -W "status stats routes neigh ports explain mode reload version -s --socket -j --json -h --help" -- "$cur"))
		;;
	status) COMPREPLY=($(compgen -W "-q --quiet --json" -- "$cur")) ;;
	stats) COMPREPLY=($(compgen -W "--json --prometheus --watch --times" -- "$cur")) ;;
	routes) COMPREPLY=($(compgen -W "--exact --count --json" -- "$cur")) ;;
	neigh) COMPREPLY=($(compgen -W "--count --json" -- "$cur")) ;;
	mode) COMPREPLY=($(compgen -W "dpdk kernel" -- "$cur")) ;;
	explain)
		# SRC DST [PROTO [SPORT [DPORT]]]: the protocol is the third word
		local n=0
		for ((i = i + 1; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in
			--from) i=$((i + 1)) ;;
			-*) ;;
			*) n=$((n + 1)) ;;
			esac
		done
		if [ "$n" -eq 2 ] && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W "tcp udp sctp icmp" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "--from --json" -- "$cur"))
		fi
		;;
	version | ports | reload) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	esac
}
complete -F _agentctl agentctl
