/*
 * selfread.h
 *	  A memory reader over a process of the test's own making (itself or a
 *	  forked snapshot of itself) for the walker tests: regions from
 *	  /proc/PID/maps, bytes through process_vm_readv, so an unmapped or
 *	  poisoned address reads as "0 bytes available" instead of crashing,
 *	  and neither ASan nor valgrind sees the walker touch foreign memory.
 *
 * Regions larger than SELFREAD_MAX_SCAN (sanitizer shadow reservations)
 * and the kernel's special mappings are listed as not writable, so the
 * reference scan covers the program's real data: .data/.bss, heap,
 * anonymous mappings and stacks.
 */
#ifndef MCXT_TEST_SELFREAD_H
#define MCXT_TEST_SELFREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "walk.h"

#define SELFREAD_MAX_SCAN	((uint64_t) 1 << 30)

typedef struct selfread
{
	pid_t		pid;
	mcxt_region *regions;		/* readable regions, sorted */
	size_t		nregions;
} selfread;

/* Load the map of pid; false (with errno) on failure. */
bool		selfread_open(selfread *s, pid_t pid);
void		selfread_close(selfread *s);

/* mcxt_reader callbacks; arg is a selfread *. */
size_t		selfread_read(void *arg, uint64_t addr, void *buf, size_t len);
bool		selfread_region(void *arg, size_t i, mcxt_region *out);

/* A reader over s. */
mcxt_reader selfread_reader(selfread *s);

/*
 * Fork a frozen copy of this process: the child sleeps until selfread_kill
 * (or until this process dies).  Returns the child's pid, or -1.
 */
pid_t		selfread_fork_snapshot(void);
void		selfread_kill(pid_t pid);

/*
 * Read len bytes of this process's own memory at addr without touching it
 * directly (library headers are poisoned in ASan and valgrind builds).
 */
bool		selfread_peek(uint64_t addr, void *buf, size_t len);

/* Overwrite the dead part of the stack below the caller (stale pointers). */
void		selfread_scrub_stack(void);

#endif							/* MCXT_TEST_SELFREAD_H */
