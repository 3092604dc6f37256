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
	esac
	case ${cmd:-} in
	"")
		COMPREPLY=($(compgen -W "status stats routes neigh ports mode reload version -s --socket -j --json -h --help" -- "$cur"))
		;;
	status) COMPREPLY=($(compgen -W "-q --quiet --json" -- "$cur")) ;;
	stats) COMPREPLY=($(compgen -W "--json --prometheus --watch --times" -- "$cur")) ;;
	routes) COMPREPLY=($(compgen -W "--exact --count --json" -- "$cur")) ;;
	neigh) COMPREPLY=($(compgen -W "--count --json" -- "$cur")) ;;
	mode) COMPREPLY=($(compgen -W "dpdk kernel" -- "$cur")) ;;
	version | ports | reload) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	esac
}
complete -F _agentctl agentctl
