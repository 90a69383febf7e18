/*
 * walk.c
 *	  The generic context / block / freelist / chunk walker (see walk.h).
 *
 * Order of work: find the roots; walk the context tree depth-first without
 * recursion (children in list order, newest first, as PostgreSQL prints
 * them), reading each context's header, name, ident, accounting fields and
 * block list; then, with every block known, walk each freelist and check
 * that its members are chunks of the right size class inside the context's
 * own blocks; then compute the counters exactly as the allocator's stats
 * method does (AllocSet: blocks and freelists, never chunks).  Chunks are
 * walked on demand by mcxt_walk_chunks, so a walk holds memory in
 * proportion to contexts, blocks and free chunks only.
 *
 * Cycle detection: Brent's algorithm on the addresses of every linked list
 * (siblings, blocks, freelists, registry threads) needs no memory; the
 * context tree also keeps a visited set, so a context reachable twice (a
 * cycle through parent links, or a sibling list that joins another) is
 * walked once.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

#define WALK_CACHE_SIZE		65536
#define WALK_NAME_MAX		256
#define WALK_IDENT_MAX		1024
#define WALK_PATH_MAX		1024
#define WALK_MAX_THREADS	4096
#define WALK_MAX_REGIONS	(1u << 20)
#define WALK_MAX_BLOCKS		((size_t) 1 << 26)
#define WALK_MAX_FREE		((size_t) 1 << 27)

/* ---- small helpers -------------------------------------------------------- */

void
mcxt_walk_warn(mcxt_walk *w, const char *fmt,...)
{
	va_list		ap;
	char		buf[512];
	char	  **grown;

	if (w->nwarnings >= w->max_warnings)
	{
		w->warnings_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	grown = realloc(w->warnings, (w->nwarnings + 1) * sizeof(*grown));
	if (grown == NULL)
	{
		w->oom = true;
		w->warnings_dropped++;
		return;
	}
	w->warnings = grown;
	w->warnings[w->nwarnings] = strdup(buf);
	if (w->warnings[w->nwarnings] == NULL)
	{
		w->oom = true;
		w->warnings_dropped++;
		return;
	}
	w->nwarnings++;
}

/* Grow *arr (of elem bytes, capacity *cap) to hold n + 1 elements. */
static bool
walk_grow(mcxt_walk *w, void **arr, size_t *cap, size_t n, size_t elem)
{
	void	   *bigger;
	size_t		newcap;

	if (n < *cap)
		return true;
	newcap = *cap ? *cap * 2 : 64;
	bigger = realloc(*arr, newcap * elem);
	if (bigger == NULL)
	{
		w->oom = true;
		return false;
	}
	*arr = bigger;
	*cap = newcap;
	return true;
}

/* The region holding addr, or NULL. */
static const mcxt_region *
walk_region_of(const mcxt_walk *w, uint64_t addr)
{
	size_t		lo = 0;
	size_t		hi = w->nregions;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (w->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->nregions && w->regions[lo].start <= addr ? &w->regions[lo] : NULL;
}

size_t
mcxt_walk_read(mcxt_walk *w, uint64_t addr, void *buf, size_t len)
{
	const mcxt_region *r = w->last_region;

	/* straight from the image's own bytes when the reader offers them */
	if (w->nregions > 0)
	{
		if (r == NULL || addr < r->start || addr >= r->end)
			r = w->last_region = walk_region_of(w, addr);
		if (r != NULL && r->data != NULL && r->end - addr >= len)
		{
			memcpy(buf, (const unsigned char *) r->data + (addr - r->start), len);
			return len;
		}
	}
	if (len > WALK_CACHE_SIZE / 2 || w->cache == NULL)
		return w->reader.read(w->reader.arg, addr, buf, len);
	if (!(addr >= w->cache_addr && addr - w->cache_addr < w->cache_len &&
		  w->cache_len - (addr - w->cache_addr) >= len))
	{
		w->cache_addr = addr;
		w->cache_len = w->reader.read(w->reader.arg, addr, w->cache, WALK_CACHE_SIZE);
		if (w->cache_len > WALK_CACHE_SIZE)
			w->cache_len = 0;	/* a broken reader; trust nothing */
	}
	if (addr < w->cache_addr || addr - w->cache_addr >= w->cache_len)
		return 0;
	{
		size_t		avail = w->cache_len - (size_t) (addr - w->cache_addr);
		size_t		n = avail < len ? avail : len;

		memcpy(buf, w->cache + (addr - w->cache_addr), n);
		return n;
	}
}

const unsigned char *
mcxt_walk_peek_slow(mcxt_walk *w, uint64_t addr, size_t len)
{
	const mcxt_region *r;

	if (w->nregions == 0)
		return NULL;
	r = w->last_region = walk_region_of(w, addr);
	if (r == NULL || r->data == NULL || r->end - addr < len)
		return NULL;
	return (const unsigned char *) r->data + (addr - r->start);
}

static bool
walk_read_exact(mcxt_walk *w, uint64_t addr, void *buf, size_t len)
{
	return addr != 0 && mcxt_walk_read(w, addr, buf, len) == len;
}

static bool
walk_read_ptr(mcxt_walk *w, uint64_t addr, uint64_t *out)
{
	unsigned char b[8];
	mcxt_layout_field f = {0, w->layout->ptr_size};

	if (!walk_read_exact(w, addr, b, w->layout->ptr_size))
		return false;
	*out = mcxt_layout_get(b, f);
	return true;
}

/*
 * A NUL-terminated string at addr, at most max bytes ("..." appended when
 * longer).  NULL for a NULL pointer; "(unreadable)" when it cannot be read.
 */
static char *
walk_read_string(mcxt_walk *w, uint64_t addr, size_t max, bool *bad)
{
	char	   *s;
	size_t		n = 0;

	*bad = false;
	if (addr == 0)
		return NULL;
	s = malloc(max + 4);
	if (s == NULL)
	{
		w->oom = true;
		return NULL;
	}
	while (n < max)
	{
		size_t		want = max - n < 64 ? max - n : 64;
		size_t		got = mcxt_walk_read(w, addr + n, s + n, want);
		void	   *nul = memchr(s + n, '\0', got);

		if (nul != NULL)
			return s;
		n += got;
		if (got < want)
			break;
	}
	if (n == 0)
	{
		*bad = true;
		strcpy(s, "(unreadable)");
		return s;
	}
	if (n < max)
		*bad = true;			/* ran into unmapped memory */
	memcpy(s + n, "...", 4);
	return s;
}

/* Brent's cycle detection over a sequence of addresses, in O(1) memory. */
typedef struct walk_cycle
{
	uint64_t	saved;
	uint64_t	power;
	uint64_t	lam;
} walk_cycle;

static void
walk_cycle_init(walk_cycle *c)
{
	c->saved = 0;
	c->power = 1;
	c->lam = 0;
}

/* Feed the next address; true if it was seen before (a cycle). */
static bool
walk_cycle_step(walk_cycle *c, uint64_t addr)
{
	if (addr == c->saved)
		return true;
	if (c->lam == c->power)
	{
		c->saved = addr;
		c->power *= 2;
		c->lam = 0;
	}
	c->lam++;
	return false;
}

/* An open-addressing set of nonzero addresses. */
typedef struct walk_set
{
	uint64_t   *slots;
	size_t		cap;			/* power of two */
	size_t		n;
} walk_set;

static uint64_t
walk_hash(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

/* Insert; returns 1 if added, 0 if present, -1 out of memory. */
static int
walk_set_add(walk_set *s, uint64_t key)
{
	size_t		i;

	if (s->n * 2 >= s->cap)
	{
		size_t		ncap = s->cap ? s->cap * 2 : 256;
		uint64_t   *nslots = calloc(ncap, sizeof(*nslots));

		if (nslots == NULL)
			return -1;
		for (size_t k = 0; k < s->cap; k++)
		{
			if (s->slots[k] == 0)
				continue;
			i = walk_hash(s->slots[k]) & (ncap - 1);
			while (nslots[i] != 0)
				i = (i + 1) & (ncap - 1);
			nslots[i] = s->slots[k];
		}
		free(s->slots);
		s->slots = nslots;
		s->cap = ncap;
	}
	i = walk_hash(key) & (s->cap - 1);
	while (s->slots[i] != 0)
	{
		if (s->slots[i] == key)
			return 0;
		i = (i + 1) & (s->cap - 1);
	}
	s->slots[i] = key;
	s->n++;
	return 1;
}

static int
walk_cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* ---- regions and roots ---------------------------------------------------- */

static void
walk_load_regions(mcxt_walk *w)
{
	size_t		cap = 0;
	mcxt_region r;

	if (w->reader.region == NULL)
		return;
	for (size_t i = 0; i < WALK_MAX_REGIONS && w->reader.region(w->reader.arg, i, &r); i++)
	{
		if (r.end <= r.start)
			continue;
		if (w->nregions > 0 && r.start < w->regions[w->nregions - 1].end)
		{
			mcxt_walk_warn(w, "region list from the image is not sorted at 0x%llx; ignoring the rest",
						   (unsigned long long) r.start);
			break;
		}
		if (!walk_grow(w, (void **) &w->regions, &cap, w->nregions, sizeof(r)))
			break;
		w->regions[w->nregions++] = r;
	}
}

bool
mcxt_walk_is_mapped(mcxt_walk *w, uint64_t addr)
{
	size_t		lo = 0;
	size_t		hi = w->nregions;
	unsigned char b;

	if (w->nregions == 0)
		return addr != 0 && mcxt_walk_read(w, addr, &b, 1) == 1;
	/* most words are far outside the image: reject them without a search */
	if (addr < w->regions[0].start || addr >= w->regions[w->nregions - 1].end)
		return false;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (w->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->nregions && w->regions[lo].start <= addr;
}

/* Scan writable regions for the registry magic (stripped programs). */
static uint64_t
walk_scan_registry_magic(mcxt_walk *w)
{
	const mcxt_layout *L = w->layout;
	size_t		bufsz = 1 << 20;
	unsigned char *buf = malloc(bufsz);
	uint64_t	found = 0;

	if (buf == NULL)
	{
		w->oom = true;
		return 0;
	}
	for (size_t i = 0; i < w->nregions && found == 0; i++)
	{
		const mcxt_region *r = &w->regions[i];

		if (!r->writable)
			continue;
		for (uint64_t a = r->start; a < r->end && found == 0;)
		{
			size_t		want = r->end - a < bufsz ? (size_t) (r->end - a) : bufsz;
			size_t		got = w->reader.read(w->reader.arg, a, buf, want);

			if (got > want)
				got = 0;
			for (size_t k = 0; k + L->reg_magic_len <= got; k += L->ptr_size)
			{
				if (memcmp(buf + k, L->reg_magic, L->reg_magic_len) == 0)
				{
					unsigned char reg[256];
					uint64_t	cand = a + k;

					if (L->reg_size <= sizeof(reg) && walk_read_exact(w, cand, reg, L->reg_size) &&
						mcxt_layout_get(reg, L->reg_version) == L->reg_version_value)
					{
						found = cand;
						break;
					}
				}
			}
			if (got < want || got < L->reg_magic_len)
				break;
			/* overlap so a magic across the window edge is seen */
			a += got - L->reg_magic_len + 1;
			a = (a + L->ptr_size - 1) & ~(uint64_t) (L->ptr_size - 1);
		}
	}
	free(buf);
	return found;
}

static bool
walk_add_root(mcxt_walk *w, size_t *cap, uint64_t top, int64_t tid)
{
	if (!walk_grow(w, (void **) &w->roots, cap, w->nroots, sizeof(mcxt_root)))
		return false;
	w->roots[w->nroots].top = top;
	w->roots[w->nroots].tid = tid;
	w->roots[w->nroots].first_ctx = -1;
	w->nroots++;
	return true;
}

/* The registry's thread list, bounded and cycle-checked. */
static void
walk_registry_roots(mcxt_walk *w, uint64_t reg_addr)
{
	const mcxt_layout *L = w->layout;
	unsigned char reg[256];
	unsigned char thr[256];
	uint64_t	entry;
	walk_set	seen;
	size_t		cap = 0;
	size_t		n = 0;

	if (L->reg_size > sizeof(reg) || L->thr_size > sizeof(thr))
		return;
	memset(&seen, 0, sizeof(seen));
	if (!walk_read_exact(w, reg_addr, reg, L->reg_size))
	{
		mcxt_walk_warn(w, "registry at 0x%llx is not readable", (unsigned long long) reg_addr);
		w->partial = true;
		return;
	}
	if (memcmp(reg, L->reg_magic, L->reg_magic_len) != 0)
	{
		mcxt_walk_warn(w, "no registry magic at 0x%llx", (unsigned long long) reg_addr);
		w->partial = true;
		return;
	}
	if (mcxt_layout_get(reg, L->reg_version) != L->reg_version_value)
	{
		mcxt_walk_warn(w, "registry at 0x%llx has layout version %llu, this tool reads %u",
					   (unsigned long long) reg_addr,
					   (unsigned long long) mcxt_layout_get(reg, L->reg_version),
					   L->reg_version_value);
		w->partial = true;
		return;
	}
	w->registry_addr = reg_addr;
	entry = mcxt_layout_get(reg, L->reg_threads);
	while (entry != 0)
	{
		if (walk_set_add(&seen, entry) != 1 || ++n > WALK_MAX_THREADS)
		{
			mcxt_walk_warn(w, "registry thread list does not end (cycle at 0x%llx?)",
						   (unsigned long long) entry);
			w->partial = true;
			break;
		}
		if (!walk_read_exact(w, entry, thr, L->thr_size))
		{
			mcxt_walk_warn(w, "registry thread entry 0x%llx is not readable",
						   (unsigned long long) entry);
			w->partial = true;
			break;
		}
		if (L->thr_magic.size && mcxt_layout_get(thr, L->thr_magic) != L->thr_magic_value)
		{
			mcxt_walk_warn(w, "registry thread entry 0x%llx has a bad magic",
						   (unsigned long long) entry);
			w->partial = true;
			break;
		}
		if (mcxt_layout_get(thr, L->thr_top) != 0 &&
			!walk_add_root(w, &cap, mcxt_layout_get(thr, L->thr_top),
						   (int64_t) mcxt_layout_get(thr, L->thr_tid)))
			break;
		entry = mcxt_layout_get(thr, L->thr_next);
	}
	free(seen.slots);
}

static void
walk_find_roots(mcxt_walk *w, const mcxt_walk_opts *opts)
{
	const mcxt_layout *L = w->layout;
	uint64_t	addr = opts->root_addr;
	size_t		cap = 0;

	if (opts->ntops > 0)
	{
		for (size_t i = 0; i < opts->ntops; i++)
			if (!walk_add_root(w, &cap, opts->tops[i], opts->tids ? opts->tids[i] : 0))
				return;
		return;
	}
	if (addr == 0 && L->root_symbol != NULL && w->reader.symbol != NULL &&
		!w->reader.symbol(w->reader.arg, L->root_symbol, &addr))
		addr = 0;
	if (L->root_kind == MCXT_ROOT_REGISTRY)
	{
		if (addr == 0 && !opts->no_magic_scan)
			addr = walk_scan_registry_magic(w);
		if (addr == 0)
		{
			mcxt_walk_warn(w, "no %s registry found (no symbol %s, no magic in writable memory)",
						   L->name, L->root_symbol);
			return;
		}
		walk_registry_roots(w, addr);
	}
	else
	{
		uint64_t	top;

		if (addr == 0 || !walk_read_ptr(w, addr, &top))
		{
			mcxt_walk_warn(w, "root variable %s not found or not readable",
						   L->root_symbol ? L->root_symbol : "?");
			return;
		}
		if (top != 0)
			walk_add_root(w, &cap, top, 0);
	}
}

/* ---- contexts ------------------------------------------------------------- */

static const mcxt_layout_type *
walk_type(const mcxt_layout *L, uint64_t tag)
{
	for (uint32_t i = 0; i < L->ntypes; i++)
		if (L->types[i].tag == tag)
			return &L->types[i];
	return NULL;
}

typedef struct walk_todo
{
	uint64_t	addr;
	int32_t		parent;
	int			level;
} walk_todo;

typedef struct walk_state
{
	walk_set	visited;
	walk_todo  *stack;
	size_t		nstack;
	size_t		stack_cap;
	size_t		ctx_cap;
	size_t		blk_cap;
	size_t		max_contexts;
	unsigned char *hdr;			/* ctx_size bytes */
	walk_set	blocks_seen;	/* every block recorded, for cycles and sharing */
	size_t		nblocks_only;	/* contexts whose chunks are not walked */
	size_t		unwalked;		/* contexts whose storage is not walked at all */
} walk_state;

/* The AllocSet block fields of a layout as a block-list descriptor. */
static void
walk_aset_blocks(const mcxt_layout *L, mcxt_layout_blocks *B)
{
	memset(B, 0, sizeof(*B));
	B->set_blocks = L->set_blocks;
	B->keeper_offset = L->keeper_offset;
	B->stats_header_bytes = L->stats_header_bytes;
	B->hdr_size = L->blk_hdr_size;
	B->owner = L->blk_aset;
	B->prev = L->blk_prev;
	B->next = L->blk_next;
	B->freeptr = L->blk_freeptr;
	B->endptr = L->blk_endptr;
	B->check = L->blk_check;
	B->check_xor = L->blk_check_xor;
	B->size_before = L->blk_size_before;
}

/*
 * Walk one context's block list, appending to w->blocks and computing the
 * counters PostgreSQL's stats method would (free chunks on freelists are
 * added later, by walk_freelists).
 */
static void
walk_blocks(mcxt_walk *w, walk_state *st, int32_t ci, const unsigned char *hdr,
			const mcxt_layout_blocks *B)
{
	const mcxt_layout *L = w->layout;
	mcxt_ctx_info *c = &w->ctx[ci];
	unsigned char bh[128];
	uint64_t	block = mcxt_layout_get(hdr, B->set_blocks);
	uint64_t	prev = 0;
	uint64_t	keeper = B->keeper_offset >= 0 ? c->addr + (uint64_t) B->keeper_offset : 0;
	bool		keeper_seen = false;
	walk_cycle	cyc;

	/* a dlist: links point at nodes, and the last one back at the head node */
	uint64_t	head_node = c->addr + B->set_blocks.offset - L->ptr_size;

	if (B->dlist)
	{
		prev = head_node;
		block = (block == 0 || block == head_node) ? 0 : block - B->node_offset;
	}
	c->first_block = (uint32_t) w->nblocks;
	c->total_bytes = B->stats_header_bytes;
	c->has_nchunks = B->nchunks.size > 0;
	c->no_chunk_counts = B->no_chunk_counts;
	if (B->hdr_size > sizeof(bh))
		return;
	walk_cycle_init(&cyc);
	while (block != 0)
	{
		uint64_t	start;
		uint64_t	freeptr;
		uint64_t	endptr;
		mcxt_block_info *b;

		int			added;

		if (walk_cycle_step(&cyc, block) ||
			(added = walk_set_add(&st->blocks_seen, block)) == 0)
		{
			mcxt_walk_warn(w, "context \"%s\" (0x%llx): block list has a cycle at 0x%llx",
						   c->name ? c->name : "", (unsigned long long) c->addr,
						   (unsigned long long) block);
			goto bad;
		}
		if (added < 0)
		{
			w->oom = true;
			goto bad;
		}
		if (w->nblocks >= WALK_MAX_BLOCKS)
		{
			mcxt_walk_warn(w, "too many blocks; stopping at context \"%s\"", c->name ? c->name : "");
			goto bad;
		}
		if (!walk_read_exact(w, block, bh, B->hdr_size))
		{
			mcxt_walk_warn(w, "context \"%s\" (0x%llx): block 0x%llx is not readable",
						   c->name ? c->name : "", (unsigned long long) c->addr,
						   (unsigned long long) block);
			goto bad;
		}
		if ((B->owner.size && mcxt_layout_get(bh, B->owner) != c->addr) ||
			(B->check.size && mcxt_layout_get(bh, B->check) != (block ^ B->check_xor)))
		{
			mcxt_walk_warn(w, "context \"%s\" (0x%llx): 0x%llx is not one of its blocks (owner 0x%llx, check word 0x%llx)",
						   c->name ? c->name : "", (unsigned long long) c->addr,
						   (unsigned long long) block,
						   (unsigned long long) mcxt_layout_get(bh, B->owner),
						   (unsigned long long) mcxt_layout_get(bh, B->check));
			goto bad;
		}
		if (B->prev.size && mcxt_layout_get(bh, B->prev) != prev)
		{
			mcxt_walk_warn(w, "context \"%s\": block 0x%llx has prev 0x%llx, expected 0x%llx",
						   c->name ? c->name : "", (unsigned long long) block,
						   (unsigned long long) mcxt_layout_get(bh, B->prev),
						   (unsigned long long) prev);
			c->nwarnings++;
		}
		start = block + B->hdr_size;
		freeptr = mcxt_layout_get(bh, B->freeptr);
		endptr = mcxt_layout_get(bh, B->endptr);
		if (B->size_before)
		{
			/* the allocator's own size word in front of the block */
			uint64_t	size = 0;

			if (block < B->size_before || !walk_read_ptr(w, block - B->size_before, &size))
			{
				mcxt_walk_warn(w, "context \"%s\": size word of block 0x%llx is not readable",
							   c->name ? c->name : "", (unsigned long long) block);
				goto bad;
			}
			endptr = size > L->max_block_size ? 0 : block + size;
		}
		if (endptr < start || endptr - block > L->max_block_size ||
			(B->blksize.size && mcxt_layout_get(bh, B->blksize) > L->max_block_size))
		{
			mcxt_walk_warn(w, "context \"%s\": block 0x%llx has an absurd end 0x%llx",
						   c->name ? c->name : "", (unsigned long long) block,
						   (unsigned long long) endptr);
			goto bad;
		}
		if (!walk_grow(w, (void **) &w->blocks, &st->blk_cap, w->nblocks, sizeof(*b)))
			goto bad;
		b = &w->blocks[w->nblocks++];
		b->addr = block;
		b->endptr = endptr;
		b->freeptr = freeptr;
		b->ctx = ci;
		b->hdr_size = B->hdr_size;
		b->chunks_ok = true;
		if (freeptr < start || freeptr > endptr)
		{
			mcxt_walk_warn(w, "context \"%s\": block 0x%llx has free pointer 0x%llx outside [0x%llx, 0x%llx]",
						   c->name ? c->name : "", (unsigned long long) block,
						   (unsigned long long) freeptr, (unsigned long long) start,
						   (unsigned long long) endptr);
			c->nwarnings++;
			b->freeptr = start;
			b->chunks_ok = false;
			w->partial = true;
		}
		if (block == keeper)
			keeper_seen = true;
		c->nblocks++;
		c->nblocks_walked++;
		c->total_bytes += B->blksize.size ? mcxt_layout_get(bh, B->blksize) : endptr - block;
		c->free_bytes += endptr - b->freeptr;
		c->free_chunks += mcxt_layout_get(bh, B->nfree);
		c->nchunks += mcxt_layout_get(bh, B->nchunks);
		prev = block;
		block = mcxt_layout_get(bh, B->next);
		if (B->dlist)
		{
			prev = prev + B->node_offset;
			block = (block == 0 || block == head_node) ? 0 : block - B->node_offset;
		}
	}
	if (keeper != 0 && !keeper_seen)
	{
		mcxt_walk_warn(w, "context \"%s\" (0x%llx): keeper block 0x%llx is not on its block list",
					   c->name ? c->name : "", (unsigned long long) c->addr,
					   (unsigned long long) keeper);
		c->nwarnings++;
	}
	return;
bad:
	c->nwarnings++;
	w->partial = true;
}

/* Record one block of a slab list; false to stop the list. */
static bool
walk_slab_block(mcxt_walk *w, walk_state *st, int32_t ci, const mcxt_layout_slab *S,
				uint64_t block, uint64_t block_size, unsigned char *bh, walk_cycle *cyc)
{
	mcxt_ctx_info *c = &w->ctx[ci];
	mcxt_block_info *b;
	int			added;

	if (walk_cycle_step(cyc, block) || (added = walk_set_add(&st->blocks_seen, block)) == 0)
	{
		mcxt_walk_warn(w, "context \"%s\" (0x%llx): block list has a cycle at 0x%llx",
					   c->name ? c->name : "", (unsigned long long) c->addr,
					   (unsigned long long) block);
		return false;
	}
	if (added < 0 || w->nblocks >= WALK_MAX_BLOCKS ||
		!walk_read_exact(w, block, bh, S->hdr_size) ||
		(S->owner.size && mcxt_layout_get(bh, S->owner) != c->addr) ||
		(S->check.size && mcxt_layout_get(bh, S->check) != (block ^ S->check_xor)))
	{
		mcxt_walk_warn(w, "context \"%s\" (0x%llx): 0x%llx is not one of its blocks",
					   c->name ? c->name : "", (unsigned long long) c->addr,
					   (unsigned long long) block);
		return false;
	}
	if (!walk_grow(w, (void **) &w->blocks, &st->blk_cap, w->nblocks, sizeof(*b)))
		return false;
	b = &w->blocks[w->nblocks++];
	b->addr = block;
	b->endptr = block + block_size;
	b->freeptr = b->endptr;
	b->ctx = ci;
	b->hdr_size = S->hdr_size;
	b->chunks_ok = S->decode != NULL;
	if (S->unused.size)
	{
		/* slots handed out so far end at 'unused' */
		uint64_t	unused = mcxt_layout_get(bh, S->unused);
		uint64_t	start = block + S->hdr_size;

		if (unused < start || unused > b->endptr || c->slot_size == 0 ||
			(unused - start) % c->slot_size != 0)
		{
			mcxt_walk_warn(w, "context \"%s\": block 0x%llx has its unused pointer 0x%llx off a slot",
						   c->name ? c->name : "", (unsigned long long) block,
						   (unsigned long long) unused);
			c->nwarnings++;
			w->partial = true;
			b->freeptr = start;
			b->chunks_ok = false;
		}
		else
			b->freeptr = unused;
	}
	c->nblocks_walked++;
	return true;
}

/*
 * A slab context: the counters as its stats method computes them, and its
 * blocks recorded (for chunk decode) from every list.
 */
static void
walk_slab(mcxt_walk *w, walk_state *st, int32_t ci, const unsigned char *hdr,
		  const mcxt_layout_slab *S)
{
	const mcxt_layout *L = w->layout;
	mcxt_ctx_info *c = &w->ctx[ci];
	uint64_t	fcs = mcxt_layout_get(hdr, S->full_chunk_size);
	uint64_t	bsize = mcxt_layout_get(hdr, S->block_size);
	uint64_t	cpb = mcxt_layout_get(hdr, S->chunks_per_block);
	uint64_t	nempty = mcxt_layout_get(hdr, S->nempty);
	uint64_t	nblocks = mcxt_layout_get(hdr, S->nblocks);
	unsigned char bh[128];
	size_t		seen = 0;
	uint32_t	head_size = S->dlist ? 2 * L->ptr_size : L->ptr_size;
	bool		counted = S->nblocks.size != 0;	/* else: count what the lists hold */
	uint32_t	nlists = S->nlists;
	unsigned char *heads = NULL;	/* lists_from_cpb: the list heads, read from memory */

	c->first_block = (uint32_t) w->nblocks;
	if (S->empty_count.size)
		nempty = mcxt_layout_get(hdr, S->empty_count);
	if (!counted)
		nblocks = WALK_MAX_BLOCKS;	/* a bound only */
	if (S->hdr_size > sizeof(bh) || bsize > L->max_block_size || fcs == 0 ||
		cpb > bsize / fcs || nblocks > WALK_MAX_BLOCKS || nempty > nblocks ||
		S->lists_offset + S->nlists * head_size > L->ctx_size)
	{
		mcxt_walk_warn(w, "context \"%s\" (0x%llx): slab geometry is absurd (%s%llu blocks of %llu bytes, %llu empty, %llu slots of %llu)",
					   c->name ? c->name : "", (unsigned long long) c->addr,
					   counted ? "" : "at most ", (unsigned long long) nblocks,
					   (unsigned long long) bsize, (unsigned long long) nempty,
					   (unsigned long long) cpb, (unsigned long long) fcs);
		c->nwarnings++;
		w->partial = true;
		return;
	}
	if (S->lists_from_cpb)
	{
		/* one list per possible free count, 0 .. chunks_per_block */
		nlists = (uint32_t) cpb + 1;
		heads = malloc((size_t) nlists * head_size);
		if (heads == NULL)
		{
			w->oom = true;
			return;
		}
		if (!walk_read_exact(w, c->addr + S->lists_offset, heads, (size_t) nlists * head_size))
		{
			mcxt_walk_warn(w, "context \"%s\" (0x%llx): its %u block lists are not readable",
						   c->name ? c->name : "", (unsigned long long) c->addr, nlists);
			c->nwarnings++;
			w->partial = true;
			free(heads);
			return;
		}
	}
	c->slot_size = fcs;
	if (S->pg_empty_rule)
	{
		/* SlabStats (16+): empty blocks count in the total only */
		c->total_bytes = S->header_bytes + cpb * S->header_bytes_per_slot + nempty * bsize;
		c->nempty_blocks = nempty;
		c->has_nempty = true;
	}
	else
	{
		c->total_bytes = mcxt_layout_get(hdr, S->header_size) + nblocks * bsize;
		c->nblocks = nblocks;
		c->free_chunks = nempty * cpb;
		c->free_bytes = nempty * cpb * fcs;
	}
	for (uint32_t i = 0; i <= nlists; i++)
	{
		uint32_t	at = i < nlists ? S->lists_offset + i * head_size + (S->dlist ? L->ptr_size : 0)
			: S->empty.offset;
		mcxt_layout_field f = {at, L->ptr_size};
		mcxt_layout_field fh = {at - S->lists_offset, L->ptr_size};
		uint64_t	head_node = c->addr + at - (S->dlist ? L->ptr_size : 0);
		uint64_t	block;
		walk_cycle	cyc;

		if (i == nlists && S->empty.size == 0)
			break;				/* no separate list of empty blocks */
		block = heads != NULL && i < nlists ? mcxt_layout_get(heads, fh) : mcxt_layout_get(hdr, f);

		walk_cycle_init(&cyc);
		for (;;)
		{
			if (S->dlist)
			{
				if (block == 0 || block == head_node)
					break;
				block -= S->node_offset;
			}
			else if (block == 0)
				break;
			if (++seen > nblocks || !walk_slab_block(w, st, ci, S, block, bsize, bh, &cyc))
			{
				if (seen > nblocks)
					mcxt_walk_warn(w, "context \"%s\": more blocks on its lists than the %llu it counts",
								   c->name ? c->name : "", (unsigned long long) nblocks);
				c->nwarnings++;
				w->partial = true;
				break;
			}
			if (i < nlists)
			{
				uint64_t	nfree = mcxt_layout_get(bh, S->nfree);

				if (nfree > cpb)
					nfree = cpb;
				c->free_chunks += nfree;
				c->free_bytes += nfree * fcs;
				if (S->pg_empty_rule)
				{
					c->nblocks++;
					c->total_bytes += bsize;
				}
			}
			block = mcxt_layout_get(bh, S->next);
		}
	}
	free(heads);
	if (!counted)
		nblocks = c->nblocks + nempty;
	if (seen != nblocks)
	{
		mcxt_walk_warn(w, "context \"%s\": %zu blocks on its lists, %llu counted",
					   c->name ? c->name : "", seen, (unsigned long long) nblocks);
		c->nwarnings++;
		w->partial = true;
	}
}

/* Read and record the context at t; push its children. */
static void
walk_one_context(mcxt_walk *w, walk_state *st, const walk_todo *t)
{
	const mcxt_layout *L = w->layout;
	unsigned char *hdr = st->hdr;
	const mcxt_layout_type *type;
	mcxt_ctx_info *c;
	int32_t		ci;
	uint64_t	child;
	walk_cycle	cyc;
	size_t		first_push = st->nstack;
	bool		bad;
	int			added;

	added = walk_set_add(&st->visited, t->addr);
	if (added < 0)
	{
		w->oom = true;
		return;
	}
	if (added == 0)
	{
		mcxt_walk_warn(w, "context 0x%llx is reachable twice (tree links form a cycle); walked once",
					   (unsigned long long) t->addr);
		w->partial = true;
		return;
	}
	if (w->nctx >= st->max_contexts)
	{
		if (w->nctx == st->max_contexts)
			mcxt_walk_warn(w, "more than %zu contexts; the rest are not walked", st->max_contexts);
		w->partial = true;
		return;
	}
	if (!walk_read_exact(w, t->addr, hdr, L->ctx_size))
	{
		mcxt_walk_warn(w, "context 0x%llx is not readable", (unsigned long long) t->addr);
		w->partial = true;
		return;
	}
	if (L->ctx_magic.size && mcxt_layout_get(hdr, L->ctx_magic) != L->ctx_magic_value)
	{
		mcxt_walk_warn(w, "0x%llx is not a live context (magic 0x%llx)",
					   (unsigned long long) t->addr,
					   (unsigned long long) mcxt_layout_get(hdr, L->ctx_magic));
		w->partial = true;
		return;
	}
	if (!walk_grow(w, (void **) &w->ctx, &st->ctx_cap, w->nctx, sizeof(*c)))
		return;
	ci = (int32_t) w->nctx++;
	c = &w->ctx[ci];
	memset(c, 0, sizeof(*c));
	c->addr = t->addr;
	c->parent = t->parent;
	c->first_child = -1;
	c->next_sibling = -1;
	c->level = t->level;
	c->root = t->parent >= 0 ? w->ctx[t->parent].root : (int32_t) (w->nroots - 1);
	c->name = walk_read_string(w, mcxt_layout_get(hdr, L->ctx_name), WALK_NAME_MAX, &bad);
	if (bad)
	{
		mcxt_walk_warn(w, "context 0x%llx: name at 0x%llx is not readable",
					   (unsigned long long) t->addr,
					   (unsigned long long) mcxt_layout_get(hdr, L->ctx_name));
		c->nwarnings++;
	}
	c->ident = walk_read_string(w, mcxt_layout_get(hdr, L->ctx_ident), WALK_IDENT_MAX, &bad);
	if (bad)
	{
		mcxt_walk_warn(w, "context \"%s\": ident at 0x%llx is not readable",
					   c->name ? c->name : "", (unsigned long long) mcxt_layout_get(hdr, L->ctx_ident));
		c->nwarnings++;
	}
	{
		const char *pp = t->parent >= 0 ? w->ctx[t->parent].path : NULL;
		const char *nm = c->name ? c->name : "";

		/* PostgreSQL names a dynahash context by its hash table (its ident) */
		if (L->dynahash_by_ident && c->ident != NULL && strcmp(nm, "dynahash") == 0)
			nm = c->ident;
		size_t		len = (pp ? strlen(pp) + 1 : 0) + strlen(nm);

		if (len > WALK_PATH_MAX)
			len = WALK_PATH_MAX;
		c->path = malloc(len + 1);
		if (c->path == NULL)
			w->oom = true;
		else
			snprintf(c->path, len + 1, "%s%s%s", pp ? pp : "", pp ? "/" : "", nm);
	}
	if (t->parent >= 0 && L->ctx_parent.size &&
		mcxt_layout_get(hdr, L->ctx_parent) != w->ctx[t->parent].addr)
	{
		mcxt_walk_warn(w, "context \"%s\" (0x%llx) is a child of 0x%llx but says its parent is 0x%llx",
					   c->name ? c->name : "", (unsigned long long) c->addr,
					   (unsigned long long) w->ctx[t->parent].addr,
					   (unsigned long long) mcxt_layout_get(hdr, L->ctx_parent));
		c->nwarnings++;
	}
	type = walk_type(L, mcxt_layout_get(hdr, L->ctx_type));
	c->type_name = type ? type->name : "?";
	c->type_index = type ? (int32_t) (type - L->types) : -1;
	c->kind = type ? type->kind : MCXT_KIND_UNKNOWN;
	for (uint32_t i = 0; i < L->nacct; i++)
	{
		/* an AllocSet-only counter is not in another type's struct */
		if (L->acct[i].aset_only && c->kind != MCXT_KIND_ASET)
			c->acct_absent |= UINT32_C(1) << i;
		else
			c->acct[i] = mcxt_layout_get(hdr, L->acct[i].field);
	}
	c->first_block = (uint32_t) w->nblocks;
	if (type == NULL)
	{
		mcxt_walk_warn(w, "context \"%s\" (0x%llx) has unknown type %llu; not walking its blocks",
					   c->name ? c->name : "", (unsigned long long) c->addr,
					   (unsigned long long) mcxt_layout_get(hdr, L->ctx_type));
		c->nwarnings++;
		w->partial = true;
	}
	else if (type->kind == MCXT_KIND_ASET)
	{
		mcxt_layout_blocks B;

		walk_aset_blocks(L, &B);
		walk_blocks(w, st, ci, hdr, &B);
	}
	else if (type->kind == MCXT_KIND_BLOCKS && type->blocks != NULL)
	{
		walk_blocks(w, st, ci, hdr, type->blocks);
		if (type->blocks->decode == NULL)
			st->nblocks_only++;
	}
	else if (type->kind == MCXT_KIND_SLAB && type->slab != NULL)
	{
		walk_slab(w, st, ci, hdr, type->slab);
		if (type->slab->decode == NULL)
			st->nblocks_only++;
	}
	else
	{
		/* one warning per walk (st->unwalked counts them), not one per context */
		if (st->unwalked++ == 0)
			mcxt_walk_warn(w, "context \"%s\" (0x%llx): %s storage is not walked yet; its counters are 0",
						   c->name ? c->name : "", (unsigned long long) c->addr, type->name);
		c->nwarnings++;
		w->partial = true;
	}

	/* children, in list order: pushed reversed so they pop in order */
	walk_cycle_init(&cyc);
	for (child = mcxt_layout_get(hdr, L->ctx_firstchild); child != 0;)
	{
		unsigned char ch[256];
		mcxt_layout_field nf = L->ctx_nextchild;

		if (walk_cycle_step(&cyc, child) || st->nstack - first_push > st->max_contexts)
		{
			mcxt_walk_warn(w, "context \"%s\": child list has a cycle at 0x%llx",
						   w->ctx[ci].name ? w->ctx[ci].name : "", (unsigned long long) child);
			w->ctx[ci].nwarnings++;
			w->partial = true;
			break;
		}
		if (!walk_grow(w, (void **) &st->stack, &st->stack_cap, st->nstack, sizeof(walk_todo)))
			break;
		st->stack[st->nstack].addr = child;
		st->stack[st->nstack].parent = ci;
		st->stack[st->nstack].level = t->level + 1;
		st->nstack++;
		if (nf.offset + nf.size > sizeof(ch) ||
			!walk_read_exact(w, child + nf.offset, ch + nf.offset, nf.size))
			break;				/* the child itself will be reported unreadable */
		child = mcxt_layout_get(ch, nf);
	}
	for (size_t i = first_push, j = st->nstack; j > i + 1; i++, j--)
	{
		walk_todo	tmp = st->stack[i];

		st->stack[i] = st->stack[j - 1];
		st->stack[j - 1] = tmp;
	}
}

/* ---- freelists ------------------------------------------------------------ */

static int32_t
walk_find_block_internal(const mcxt_walk *w, uint64_t addr)
{
	size_t		lo = 0;
	size_t		hi = w->nblocks;

	if (w->blocks_by_addr == NULL)
		return -1;
	/* the last block starting at or before addr */
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (w->blocks[w->blocks_by_addr[mid]].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	{
		uint32_t	b = w->blocks_by_addr[lo - 1];

		return addr < w->blocks[b].endptr ? (int32_t) b : -1;
	}
}

int32_t
mcxt_walk_find_block(const mcxt_walk *w, uint64_t addr)
{
	return walk_find_block_internal(w, addr);
}

static const mcxt_walk *walk_sort_ctx;

static int
walk_cmp_block(const void *a, const void *b)
{
	uint64_t	x = walk_sort_ctx->blocks[*(const uint32_t *) a].addr;
	uint64_t	y = walk_sort_ctx->blocks[*(const uint32_t *) b].addr;

	return x < y ? -1 : x > y;
}

static void
walk_index_blocks(mcxt_walk *w)
{
	w->blocks_by_addr = malloc((w->nblocks + 1) * sizeof(uint32_t));
	if (w->blocks_by_addr == NULL)
	{
		w->oom = true;
		return;
	}
	for (size_t i = 0; i < w->nblocks; i++)
		w->blocks_by_addr[i] = (uint32_t) i;
	walk_sort_ctx = w;
	mcxt_sort(w->blocks_by_addr, w->nblocks, sizeof(uint32_t), walk_cmp_block);
	walk_sort_ctx = NULL;
	for (size_t i = 1; i < w->nblocks; i++)
	{
		const mcxt_block_info *a = &w->blocks[w->blocks_by_addr[i - 1]];
		const mcxt_block_info *b = &w->blocks[w->blocks_by_addr[i]];

		if (b->addr < a->endptr)
		{
			mcxt_walk_warn(w, "blocks 0x%llx and 0x%llx overlap", (unsigned long long) a->addr,
						   (unsigned long long) b->addr);
			w->partial = true;
		}
	}
}

/* Walk freelist i of context ci: members into freeset, counted once each. */
static void
walk_freelist(mcxt_walk *w, size_t *free_cap, int32_t ci, unsigned i, uint64_t head,
			  uint64_t bound)
{
	const mcxt_layout *L = w->layout;
	mcxt_ctx_info *c = &w->ctx[ci];
	uint64_t	size = mcxt_layout_freelist_size(L, i);
	size_t		first = w->nfree;
	size_t		n = 0;
	walk_cycle	cyc;
	unsigned char hb[64];
	const char *why = NULL;

	walk_cycle_init(&cyc);
	for (uint64_t e = head; e != 0;)
	{
		uint64_t	h = e - L->fl_ptr_offset;	/* the chunk's header */
		int32_t		b = walk_find_block_internal(w, h);
		mcxt_hdr_info hi;

		if (walk_cycle_step(&cyc, h) || n > bound)
		{
			mcxt_walk_warn(w, "context \"%s\": freelist %u has a cycle at 0x%llx",
						   c->name ? c->name : "", i, (unsigned long long) h);
			goto bad;
		}
		if (b < 0 || w->blocks[b].ctx != ci || h < w->blocks[b].addr + w->blocks[b].hdr_size ||
			h + L->chunk_hdr_size + size > w->blocks[b].freeptr)
		{
			mcxt_walk_warn(w, "context \"%s\": freelist %u points outside its blocks (0x%llx)",
						   c->name ? c->name : "", i, (unsigned long long) h);
			goto bad;
		}
		if (L->chunk_hdr_size > sizeof(hb) || !walk_read_exact(w, h, hb, L->chunk_hdr_size) ||
			!L->decode(L, hb, h, w->blocks[b].addr, &hi, &why, 0) ||
			hi.external || (hi.freelist >= 0 && (unsigned) hi.freelist != i) ||
			(L->free_by_flag && !hi.free_flag))
		{
			mcxt_walk_warn(w, "context \"%s\": freelist %u holds a bad chunk 0x%llx (%s)",
						   c->name ? c->name : "", i, (unsigned long long) h,
						   why ? why : "wrong size class or not marked free");
			goto bad;
		}
		if (w->nfree >= WALK_MAX_FREE ||
			!walk_grow(w, (void **) &w->freeset, free_cap, w->nfree, sizeof(uint64_t)))
			goto bad;
		w->freeset[w->nfree++] = h;
		n++;
		if (!walk_read_ptr(w, h + L->link_offset, &e))
		{
			mcxt_walk_warn(w, "context \"%s\": freelist link at 0x%llx is not readable",
						   c->name ? c->name : "", (unsigned long long) (h + L->link_offset));
			goto bad;
		}
	}
	goto count;
bad:
	c->nwarnings++;
	w->partial = true;
count:
	/* count distinct members (a cycle may have added some twice) */
	mcxt_sort(w->freeset + first, w->nfree - first, sizeof(uint64_t), walk_cmp_u64);
	{
		size_t		k = first;

		for (size_t j = first; j < w->nfree; j++)
			if (j == first || w->freeset[j] != w->freeset[k - 1])
				w->freeset[k++] = w->freeset[j];
		w->nfree = k;
	}
	c->free_chunks += w->nfree - first;
	c->free_bytes += (w->nfree - first) * (size + L->chunk_hdr_size);
}

static void
walk_freelists(mcxt_walk *w)
{
	const mcxt_layout *L = w->layout;
	size_t		free_cap = 0;
	unsigned char fl[MCXT_LAYOUT_MAX_FREELISTS * 8];

	if (L->nfreelists > MCXT_LAYOUT_MAX_FREELISTS)
		return;
	for (size_t ci = 0; ci < w->nctx; ci++)
	{
		mcxt_ctx_info *c = &w->ctx[ci];
		uint64_t	held = 0;

		if (c->kind != MCXT_KIND_ASET)
			continue;
		if (!walk_read_exact(w, c->addr + L->set_freelist_offset, fl, L->nfreelists * L->ptr_size))
		{
			mcxt_walk_warn(w, "context \"%s\": freelists not readable", c->name ? c->name : "");
			w->partial = true;
			continue;
		}
		for (uint32_t b = 0; b < c->nblocks_walked; b++)
			held += w->blocks[c->first_block + b].endptr - w->blocks[c->first_block + b].addr;
		for (unsigned i = 0; i < L->nfreelists; i++)
		{
			mcxt_layout_field f = {i * L->ptr_size, L->ptr_size};
			uint64_t	head = mcxt_layout_get(fl, f);

			if (head != 0)
				walk_freelist(w, &free_cap, (int32_t) ci, i, head,
							  held / (mcxt_layout_freelist_size(L, i) + L->chunk_hdr_size) + 1);
		}
	}
	mcxt_sort(w->freeset, w->nfree, sizeof(uint64_t), walk_cmp_u64);
}

bool
mcxt_walk_in_freeset(const mcxt_walk *w, uint64_t hdr)
{
	size_t		lo = 0;
	size_t		hi = w->nfree;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (w->freeset[mid] < hdr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->nfree && w->freeset[lo] == hdr;
}

/* ---- tree links and ids --------------------------------------------------- */

static void
walk_link_tree(mcxt_walk *w)
{
	int32_t    *last = malloc((w->nctx + 1) * sizeof(int32_t));
	int32_t    *queue = malloc((w->nctx + 1) * sizeof(int32_t));
	uint32_t	id = 0;

	if (last == NULL || queue == NULL)
	{
		w->oom = true;
		free(last);
		free(queue);
		return;
	}
	for (size_t i = 0; i < w->nctx; i++)
		last[i] = -1;
	for (size_t i = 0; i < w->nctx; i++)
	{
		int32_t		p = w->ctx[i].parent;

		if (p < 0)
			continue;
		if (last[p] < 0)
			w->ctx[p].first_child = (int32_t) i;
		else
			w->ctx[last[p]].next_sibling = (int32_t) i;
		last[p] = (int32_t) i;
	}
	/* breadth-first ids per root, as PostgreSQL 18's path column */
	for (size_t r = 0; r < w->nroots; r++)
	{
		size_t		qh = 0;
		size_t		qt = 0;

		id = 0;					/* ids are per tree, as per backend in PostgreSQL */
		if (w->roots[r].first_ctx < 0)
			continue;
		queue[qt++] = w->roots[r].first_ctx;
		while (qh < qt)
		{
			int32_t		ci = queue[qh++];

			w->ctx[ci].bfs_id = ++id;
			for (int32_t k = w->ctx[ci].first_child; k >= 0; k = w->ctx[k].next_sibling)
				if (qt < w->nctx)
					queue[qt++] = k;
		}
	}
	free(last);
	free(queue);
}

/* ---- the walk ------------------------------------------------------------- */

mcxt_walk *
mcxt_walk_new(const mcxt_layout *layout, const mcxt_reader *reader, const mcxt_walk_opts *opts)
{
	mcxt_walk  *w = calloc(1, sizeof(*w));
	mcxt_walk_opts defaults;
	walk_state	st;

	if (w == NULL)
		return NULL;
	if (opts == NULL)
	{
		memset(&defaults, 0, sizeof(defaults));
		opts = &defaults;
	}
	w->layout = layout;
	w->reader = *reader;
	for (int i = 0; i < MCXT_LAYOUT_MAX_TYPES; i++)
		w->variant[i] = -1;
	w->max_warnings = opts->max_warnings ? opts->max_warnings : 1000;
	w->cache = malloc(WALK_CACHE_SIZE);
	if (w->cache == NULL)
	{
		free(w);
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	st.max_contexts = opts->max_contexts ? opts->max_contexts : ((size_t) 1 << 20);
	st.hdr = malloc(layout->ctx_size);
	if (st.hdr == NULL)
	{
		mcxt_walk_free(w);
		return NULL;
	}

	walk_load_regions(w);
	walk_find_roots(w, opts);
	for (size_t r = 0; r < w->nroots && !w->oom; r++)
	{
		walk_todo	t = {w->roots[r].top, -1, 0};
		size_t		before = w->nctx;

		/* root context index is set once it is recorded */
		walk_one_context(w, &st, &t);
		if (w->nctx > before)
			w->roots[r].first_ctx = (int32_t) before;
		while (st.nstack > 0 && !w->oom)
		{
			walk_todo	next = st.stack[--st.nstack];

			walk_one_context(w, &st, &next);
		}
		st.nstack = 0;
	}
	/* roots walked with nroots - 1 as the root index: fix up */
	for (size_t r = 0; r < w->nroots; r++)
	{
		int32_t		end = (int32_t) w->nctx;

		if (w->roots[r].first_ctx < 0)
			continue;
		for (size_t k = r + 1; k < w->nroots; k++)
			if (w->roots[k].first_ctx >= 0)
			{
				end = w->roots[k].first_ctx;
				break;
			}
		for (int32_t i = w->roots[r].first_ctx; i < end; i++)
			w->ctx[i].root = (int32_t) r;
	}
	if (st.nblocks_only > 0)
		mcxt_walk_warn(w, "%zu contexts of types whose chunks are not walked yet (Bump; PostgreSQL's Slab): "
					   "their counters are exact, leaks and chunk do not see their chunks",
					   st.nblocks_only);
	if (st.unwalked > 1)
		mcxt_walk_warn(w, "%zu contexts in all whose storage is not walked: their counters are 0",
					   st.unwalked);
	free(st.hdr);
	free(st.stack);
	free(st.visited.slots);
	free(st.blocks_seen.slots);

	walk_link_tree(w);
	walk_index_blocks(w);
	if (!w->oom)
		walk_freelists(w);
	if (w->oom)
	{
		mcxt_walk_warn(w, "out of memory: results are partial");
		w->partial = true;
	}
	return w;
}

void
mcxt_walk_free(mcxt_walk *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nctx; i++)
	{
		free(w->ctx[i].name);
		free(w->ctx[i].ident);
		free(w->ctx[i].path);
	}
	for (size_t i = 0; i < w->nwarnings; i++)
		free(w->warnings[i]);
	free(w->warnings);
	free(w->ctx);
	free(w->blocks);
	free(w->blocks_by_addr);
	free(w->freeset);
	free(w->regions);
	free(w->roots);
	free(w->cache);
	free(w);
}

/* ---- chunks --------------------------------------------------------------- */

/* How a block's chunks are read. */
typedef struct walk_chunk_rules
{
	const mcxt_layout *layout;	/* passed to decode; NULL: the walk's */
	bool		check_owner;	/* dry runs: check the layout's chunk_owner word */
	size_t		max_chunks;		/* dry runs: stop (consistent so far) after this many; 0 all */
	mcxt_chunk_decode_fn decode;
	uint32_t	hdr_size;
	bool		free_by_flag;
	unsigned	variant;
	uint64_t	slot_size;		/* fixed slots (header included), or 0: sizes from headers */
} walk_chunk_rules;

/*
 * Walk the chunks of block bi under rules r.  dry: no callbacks and no
 * warnings; returns whether the chunks lead exactly to the free pointer
 * (and *nchunks how many there were).  Otherwise returns false only if fn
 * stopped the walk.
 */
static bool
walk_block_chunks_with(mcxt_walk *w, int32_t bi, const walk_chunk_rules *r, bool dry,
					   size_t *nchunks, mcxt_chunk_fn fn, void *arg)
{
	const mcxt_layout *L = r->layout ? r->layout : w->layout;
	mcxt_block_info *b = &w->blocks[bi];
	const mcxt_ctx_info *c = &w->ctx[b->ctx];
	uint64_t	p = b->addr + b->hdr_size;
	unsigned char hb[64];
	const unsigned char *h;
	const char *why = "header not readable";
	size_t		fk = 0;			/* freeset cursor: first member >= p */

	if (nchunks)
		*nchunks = 0;
	if (r->hdr_size > sizeof(hb))
		return !dry;
	if (!r->free_by_flag)
	{
		/* chunks come in address order: one search, then the cursor only moves on */
		size_t		hi = w->nfree;

		while (fk < hi)
		{
			size_t		mid = fk + (hi - fk) / 2;

			if (w->freeset[mid] < p)
				fk = mid + 1;
			else
				hi = mid;
		}
	}
	while (p < b->freeptr)
	{
		mcxt_hdr_info hi;
		mcxt_chunk	ch;

		why = "header not readable";
		h = mcxt_walk_peek(w, p, r->hdr_size);
		if (h == NULL)
		{
			if (!walk_read_exact(w, p, hb, r->hdr_size))
				goto bad;
			h = hb;
		}
		if (!r->decode(L, h, p, b->addr, &hi, &why, r->variant))
			goto bad;
		ch.hdr = p;
		ch.ptr = p + r->hdr_size;
		ch.ctx = b->ctx;
		ch.block = bi;
		ch.external = hi.external;
		ch.requested = hi.requested;
		if (hi.external)
		{
			if (b->freeptr != b->endptr || ch.ptr > b->endptr)
			{
				why = "external chunk in a block with free space";
				goto bad;
			}
			ch.size = b->endptr - ch.ptr;
		}
		else if (r->slot_size)
			ch.size = r->slot_size - r->hdr_size;
		else
			ch.size = hi.size;
		if (ch.ptr > b->freeptr || ch.size > b->freeptr - ch.ptr)
		{
			why = "chunk runs past the block's free pointer";
			goto bad;
		}
		ch.space = ch.size + r->hdr_size;
		if (r->check_owner && L->chunk_owner.size &&
			L->chunk_owner.offset + L->chunk_owner.size <= r->hdr_size)
		{
			uint64_t	owner = mcxt_layout_get(h, L->chunk_owner);
			int32_t		ob;

			/* the context, or a freelist link: NULL or into the context's blocks */
			if (owner != c->addr && owner != 0 &&
				((ob = walk_find_block_internal(w, owner)) < 0 || w->blocks[ob].ctx != b->ctx))
			{
				why = "chunk's owner word names neither its context nor a free chunk";
				goto bad;
			}
		}
		if (r->free_by_flag)
			ch.free = hi.free_flag;
		else
		{
			while (fk < w->nfree && w->freeset[fk] < p)
				fk++;
			ch.free = fk < w->nfree && w->freeset[fk] == p;
		}
		if (nchunks)
			(*nchunks)++;
		if (!dry && !fn(w, &ch, arg))
			return false;
		if (dry && r->max_chunks && nchunks && *nchunks >= r->max_chunks)
			return true;
		p = ch.ptr + ch.size;
	}
	return true;
bad:
	if (dry)
		return false;
	if (b->chunks_ok)
	{
		mcxt_walk_warn(w, "context \"%s\": bad chunk at 0x%llx in block 0x%llx (%s); rest of the block skipped",
					   c->name ? c->name : "", (unsigned long long) p,
					   (unsigned long long) b->addr, why);
		b->chunks_ok = false;
		w->partial = true;
	}
	return true;
}

bool
mcxt_walk_block_chunks(mcxt_walk *w, int32_t bi, mcxt_chunk_fn fn, void *arg)
{
	const mcxt_layout *L = w->layout;
	const mcxt_ctx_info *c = &w->ctx[w->blocks[bi].ctx];
	walk_chunk_rules r;
	const mcxt_layout_blocks *B;
	int			ti = c->type_index;

	memset(&r, 0, sizeof(r));
	if (c->kind == MCXT_KIND_ASET)
	{
		r.decode = L->decode;
		r.hdr_size = L->chunk_hdr_size;
		r.free_by_flag = L->free_by_flag;
		return walk_block_chunks_with(w, bi, &r, false, NULL, fn, arg);
	}
	if (c->kind == MCXT_KIND_SLAB && ti >= 0 && L->types[ti].slab != NULL &&
		L->types[ti].slab->decode != NULL)
	{
		r.decode = L->types[ti].slab->decode;
		r.hdr_size = L->types[ti].slab->chunk_hdr_size;
		r.free_by_flag = true;
		r.slot_size = c->slot_size;
		if (r.slot_size <= r.hdr_size)
			return true;
		return walk_block_chunks_with(w, bi, &r, false, NULL, fn, arg);
	}
	if (c->kind != MCXT_KIND_BLOCKS || ti < 0 || (B = L->types[ti].blocks) == NULL ||
		B->decode == NULL)
		return true;
	r.decode = B->decode;
	r.hdr_size = B->chunk_hdr_size;
	r.free_by_flag = true;
	if (w->variant[ti] < 0)
	{
		/* which reading of the headers is this image's?  Decide on a block with chunks. */
		size_t		n = 0;

		for (unsigned v = 0; v < B->nvariants && w->variant[ti] < 0; v++)
		{
			r.variant = v;
			if (walk_block_chunks_with(w, bi, &r, true, &n, NULL, NULL) && n > 0)
				w->variant[ti] = (int) v;
		}
		if (w->variant[ti] < 0)
		{
			if (n == 0 && w->blocks[bi].freeptr == w->blocks[bi].addr + w->blocks[bi].hdr_size)
				return true;	/* an empty block decides nothing */
			if (!w->variant_warned[ti])
			{
				mcxt_walk_warn(w, "%s chunk headers in block 0x%llx fit no known reading; its chunks are skipped",
							   L->types[ti].name, (unsigned long long) w->blocks[bi].addr);
				w->variant_warned[ti] = true;
				w->partial = true;
			}
			return true;
		}
	}
	r.variant = (unsigned) w->variant[ti];
	return walk_block_chunks_with(w, bi, &r, false, NULL, fn, arg);
}

bool
mcxt_walk_chunks(mcxt_walk *w, int32_t ctx, bool by_address, mcxt_chunk_fn fn, void *arg)
{
	for (size_t k = 0; k < w->nblocks; k++)
	{
		int32_t		bi = by_address && w->blocks_by_addr ? (int32_t) w->blocks_by_addr[k] : (int32_t) k;

		if (ctx >= 0 && w->blocks[bi].ctx != ctx)
			continue;
		if (!mcxt_walk_block_chunks(w, bi, fn, arg))
			return false;
	}
	return true;
}

void
mcxt_walk_grand_total(const mcxt_walk *w, int32_t subtree, mcxt_walk_totals *out)
{
	size_t		first = subtree >= 0 ? (size_t) subtree : 0;

	memset(out, 0, sizeof(*out));
	/* contexts are in depth-first pre-order: a subtree is a contiguous run */
	for (size_t i = first; i < w->nctx; i++)
	{
		const mcxt_ctx_info *c = &w->ctx[i];

		if (subtree >= 0 && i > first &&
			(c->level <= w->ctx[first].level || c->root != w->ctx[first].root))
			break;
		out->total_bytes += c->total_bytes;
		out->nblocks += c->nblocks;
		out->free_bytes += c->free_bytes;
		out->free_chunks += c->free_chunks;
	}
}

size_t
mcxt_walk_chunk_consistency(mcxt_walk *w, const mcxt_layout *alt, size_t max_blocks,
							size_t *checked)
{
	walk_chunk_rules r;
	size_t		ok = 0;
	size_t		n = 0;

	memset(&r, 0, sizeof(r));
	r.layout = alt;
	r.check_owner = true;
	/*
	 * A wrong header layout derails a chain within a few chunks; reading
	 * every chunk of a large block would make this cost as much as `leaks`.
	 */
	r.max_chunks = 64;
	r.decode = alt->decode;
	r.hdr_size = alt->chunk_hdr_size;
	r.free_by_flag = alt->free_by_flag;
	for (size_t k = 0; k < w->nblocks && n < max_blocks; k++)
	{
		const mcxt_block_info *b = &w->blocks[k];
		size_t		nch = 0;

		if (w->ctx[b->ctx].kind != MCXT_KIND_ASET || !b->chunks_ok ||
			b->freeptr <= b->addr + b->hdr_size)
			continue;
		n++;
		if (walk_block_chunks_with(w, (int32_t) k, &r, true, &nch, NULL, NULL) && nch > 0)
			ok++;
	}
	if (checked)
		*checked = n;
	return ok;
}
