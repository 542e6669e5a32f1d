# Shell helpers shared by the demo, the benchmarks and the integration tests; sourced, not run.

# Prints a TCP port on 127.0.0.1 that nothing listens on and that is not among the arguments.
free_port() {
	local p
	for _ in $(seq 1 200); do
		# below the kernel's ephemeral range (32768-60999), where outgoing connections would
		# collide with a listener
		p=$((10000 + RANDOM % 22000))
		case " $* " in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free TCP port found on 127.0.0.1" >&2
	return 1
}
