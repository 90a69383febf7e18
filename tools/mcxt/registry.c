/*
 * registry.c
 *	  Locate and read libmcxt's registry (see registry.h).
 *
 * The layout comes from ../../src/chunk.h with offsetof and sizeof, so the
 * tool and the library cannot disagree silently: the registry carries its
 * own layout version and struct sizes, and a mismatch is reported before
 * anything else is trusted.  The thread list is walked with a hard bound,
 * checking each entry's magic, so a cycle or a wild pointer ends the walk
 * with a warning.
 */
#define _GNU_SOURCE
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/chunk.h"
#include "scan.h"

#define REG_MAGIC_LEN	16

_Static_assert(sizeof(MCXT_REGISTRY_MAGIC) - 1 == REG_MAGIC_LEN, "registry magic is 16 bytes");

/* Read the registry header at addr; true if the magic is there. */
static bool
registry_read(image_t *im, uint64_t addr, registry_info *ri)
{
	struct mcxt_registry reg;
	uint64_t	threads;

	if (image_read(im, addr, &reg, sizeof(reg)) != sizeof(reg) ||
		memcmp(reg.magic, MCXT_REGISTRY_MAGIC, REG_MAGIC_LEN) != 0)
		return false;
	memcpy(&threads, (const char *) &reg + offsetof(struct mcxt_registry, threads), sizeof(threads));
	ri->found = true;
	ri->addr = addr;
	ri->layout_version = reg.layout_version;
	/* layouts before 4 had padding where the flavour is */
	ri->has_flavour = reg.layout_version >= 4;
	ri->flavour = ri->has_flavour ? reg.flavour : 0;
	ri->nsites = ri->has_flavour && reg.layout_version <= MCXT_LAYOUT_VERSION ? reg.nsites : 0;
	ri->sizeof_context = reg.sizeof_context;
	ri->sizeof_aset = reg.sizeof_aset;
	ri->sizeof_aset_block = reg.sizeof_aset_block;
	ri->chunk_hdrsz = reg.chunk_hdrsz;
	ri->nthreads = reg.nthreads;
	ri->layout_matches = reg.layout_version == MCXT_LAYOUT_VERSION &&
		reg.sizeof_context == sizeof(mcxt_context) &&
		reg.sizeof_aset == sizeof(mcxt_aset) &&
		reg.sizeof_aset_block == sizeof(mcxt_aset_block) &&
		reg.chunk_hdrsz == MCXT_CHUNK_HDRSZ;
	ri->threads = NULL;
	ri->nthreads_read = 0;
	/* stash the list head for registry_walk */
	ri->addr = addr;
	ri->threads = calloc(1, sizeof(registry_thread));
	if (ri->threads)
		ri->threads[0].entry = threads;
	return true;
}

static void
registry_walk(image_t *im, registry_info *ri)
{
	uint64_t	next = ri->threads ? ri->threads[0].entry : 0;
	size_t		cap = 1;
	size_t		bound = ri->nthreads < REGISTRY_MAX_THREADS ? ri->nthreads : REGISTRY_MAX_THREADS;

	ri->nthreads_read = 0;
	while (next != 0)
	{
		mcxt_thread_entry e;
		registry_thread *t;
		uint64_t	v;

		if (ri->nthreads_read >= bound)
		{
			image_warn(im, "libmcxt registry at %#llx: thread list is longer than its count "
					   "(%u); a cycle or damage? walk stopped",
					   (unsigned long long) ri->addr, ri->nthreads);
			break;
		}
		if (image_read(im, next, &e, sizeof(e)) != sizeof(e))
		{
			image_warn(im, "libmcxt registry: thread entry at %#llx is not readable",
					   (unsigned long long) next);
			break;
		}
		if (e.magic != MCXT_THREAD_MAGIC)
		{
			image_warn(im, "libmcxt registry: thread entry at %#llx has a bad magic; walk stopped",
					   (unsigned long long) next);
			break;
		}
		if (ri->nthreads_read >= cap)
		{
			cap *= 2;
			ri->threads = realloc(ri->threads, cap * sizeof(registry_thread));
			if (!ri->threads)
				abort();
		}
		t = &ri->threads[ri->nthreads_read++];
		t->entry = next;
		t->tid = e.tid;
		memcpy(&v, (const char *) &e + offsetof(mcxt_thread_entry, top), 8);
		t->top = v;
		memcpy(&v, (const char *) &e + offsetof(mcxt_thread_entry, current), 8);
		t->current = v;
		memcpy(&next, (const char *) &e + offsetof(mcxt_thread_entry, next), 8);
	}
	if (next == 0 && ri->nthreads_read != ri->nthreads)
		image_warn(im, "libmcxt registry at %#llx says %u threads, the list has %zu",
				   (unsigned long long) ri->addr, ri->nthreads, ri->nthreads_read);
}

typedef struct registry_scan
{
	image_t    *im;
	registry_info *ri;
	uint64_t	first_bad;
	bool		any_bad;
} registry_scan;

static bool
registry_scan_fn(void *arg, uint64_t addr, const unsigned char *p, size_t n, bool first)
{
	registry_scan *rs = arg;
	const unsigned char *q = p,
			   *end = p + n;

	(void) first;
	while ((size_t) (end - q) >= REG_MAGIC_LEN)
	{
		const unsigned char *m = memmem(q, (size_t) (end - q), MCXT_REGISTRY_MAGIC, REG_MAGIC_LEN);
		uint64_t	a;

		if (!m)
			break;
		a = addr + (uint64_t) (m - p);
		q = m + 1;
		if (a % 8 != 0)
			continue;
		rs->ri->candidates++;
		if (registry_read(rs->im, a, rs->ri))
		{
			if (rs->ri->layout_matches)
				return false;	/* good one: stop */
			if (!rs->any_bad)
			{
				rs->any_bad = true;
				rs->first_bad = a;
			}
			free(rs->ri->threads);
			rs->ri->threads = NULL;
			rs->ri->found = false;
		}
	}
	return true;
}

bool
registry_find(image_t *im, registry_info *ri)
{
	uint64_t	addr;
	const char *where = NULL;

	memset(ri, 0, sizeof(*ri));
	if (image_symbol(im, REGISTRY_SYMBOL, &addr, &where))
	{
		if (registry_read(im, addr, ri))
		{
			ri->by_symbol = true;
			ri->symbol_file = where;
		}
		else
			image_warn(im, "symbol %s at %#llx (from %s) does not hold the registry magic; "
					   "scanning memory instead", REGISTRY_SYMBOL, (unsigned long long) addr, where);
	}
	if (!ri->found)
	{
		registry_scan rs = {im, ri, 0, false};

		(void) scan_memory(im, SCAN_WRITABLE, REG_MAGIC_LEN - 1, registry_scan_fn, &rs);
		if (!ri->found && rs.any_bad)
			(void) registry_read(im, rs.first_bad, ri);
	}
	if (!ri->found)
		return false;
	if (!ri->layout_matches)
	{
		image_warn(im, "libmcxt registry at %#llx has layout version %u / struct sizes this mcxt "
				   "does not know (expected version %u); its thread list is not read",
				   (unsigned long long) ri->addr, ri->layout_version, MCXT_LAYOUT_VERSION);
		free(ri->threads);
		ri->threads = NULL;
		return true;
	}
	registry_walk(im, ri);
	return true;
}

void
registry_free(registry_info *ri)
{
	free(ri->threads);
	ri->threads = NULL;
}
