# cgself.awk: self cost of every function in one callgrind dump file
# (written with --compress-strings=no).  Prints
#   total <Ir>                from the dump's summary line
#   harness <Ir>              self cost of the harness's own functions
#   fn <Ir> <name>            one line per function with a nonzero self cost
# The harness's functions are main, bench_run (which holds the workload
# loops and the inlined allocator adapters), w*_run if not inlined, and the
# timed-region brackets.  A cost line that follows a calls= line is the
# inclusive cost of that call and is not self cost.
/^summary:/ { total = $2; next }
/^fn=/ { fn = substr($0, 4); next }
/^calls=/ { skip = 1; next }
/^[0-9+*-]/ {
	if (skip) { skip = 0; next }
	self[fn] += $NF
	next
}
END {
	print "total", total + 0
	h = 0
	for (f in self) {
		if (f == "main" || f == "bench_run" || f ~ /^w[0-9]_run/ || f ~ /^bench_region_/ ||
		    f ~ /^w_/ || f ~ /^a_/)
			h += self[f]
		if (self[f] > 0)
			print "fn", self[f], f
	}
	print "harness", h
}
