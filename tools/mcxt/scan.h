/*
 * scan.h
 *	  Fast passes over an image's memory: the generic region walk, the
 *	  printable-string histogram (`mcxt strings`) and pattern search with a
 *	  stride histogram (`mcxt find`).
 *
 * A core's bytes are scanned in place in the mapped file (no copy); a live
 * process is read in 4 MB windows through /proc/PID/mem.  Memory use is
 * bounded: the string histogram prunes rare strings when it outgrows its
 * limit (and says so), the finder keeps only the first N addresses and a
 * capped stride table.
 */
#ifndef MCXT_TOOL_SCAN_H
#define MCXT_TOOL_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

typedef enum scan_scope
{
	SCAN_ANON_WRITABLE,			/* heap, stack, anonymous mmaps: where leaks live */
	SCAN_WRITABLE,				/* all writable memory, .data/.bss included */
	SCAN_ALL					/* every readable region the image holds */
} scan_scope;

bool		scan_region_in_scope(const image_t *im, const image_region *r, scan_scope scope);
/* Live: a mapping over 16 GB less than 1/16 resident (ASan shadow, reservations). */
bool		scan_region_sparse(const image_region *r);

/*
 * Called for each piece of memory: n bytes at p, which are the bytes at
 * address addr.  first is true when a new region starts (the piece is not
 * contiguous with the previous one).  With overlap > 0, each later piece of
 * a region begins with the last overlap bytes of the previous piece
 * (addr accounts for them).  Return false to stop the walk.
 */
typedef bool (*scan_fn) (void *arg, uint64_t addr, const unsigned char *p, size_t n, bool first);

/* Walk the image's bytes in scope, in address order; returns bytes visited. */
uint64_t	scan_memory(image_t *im, scan_scope scope, size_t overlap, scan_fn fn, void *arg);

/* String histogram ------------------------------------------------------ */

#define STRHIST_MAX_LEN		4096	/* longer strings are keyed by their first 4096 bytes */

typedef struct strhist strhist;

typedef struct strhist_entry
{
	const char *str;			/* not NUL-terminated */
	size_t		len;
	uint64_t	count;
} strhist_entry;

strhist    *strhist_new(size_t min_len, size_t mem_limit);
bool		strhist_feed(void *h, uint64_t addr, const unsigned char *p, size_t n, bool first);
void		strhist_finish(strhist *h);
/* All entries, most frequent first (ties: bytewise order); owned by h. */
const strhist_entry *strhist_sorted(strhist *h, size_t *n);
uint64_t	strhist_total(const strhist *h);	/* strings counted */
uint64_t	strhist_pruned_below(const strhist *h); /* 0: exact */
void		strhist_free(strhist *h);

/* Pattern search -------------------------------------------------------- */

typedef struct finder finder;

typedef struct stride_count
{
	uint64_t	stride;
	uint64_t	count;
} stride_count;

finder	   *finder_new(const unsigned char *pat, size_t len, size_t max_addrs);
bool		finder_feed(void *f, uint64_t addr, const unsigned char *p, size_t n, bool first);
uint64_t	finder_count(const finder *f);
const uint64_t *finder_addrs(const finder *f, size_t *n);
/* Strides between consecutive matches in one region, most frequent first. */
const stride_count *finder_strides(finder *f, size_t *n);
uint64_t	finder_regions(const finder *f);	/* regions with at least one match */
void		finder_free(finder *f);

#endif							/* MCXT_TOOL_SCAN_H */
