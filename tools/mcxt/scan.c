/*
 * scan.c
 *	  Region walk, string histogram and pattern finder (see scan.h).
 *
 * Speed: the string scanner classifies bytes with a 256-entry table and
 * skips runs of zero words eight bytes at a time (most of a heap is zeros
 * or pointers); the finder is glibc memmem (two-way with SIMD prefilter).
 * Both run over the mapped core without copying.
 */
#define _GNU_SOURCE
#include "scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_WINDOW		(4u << 20)	/* live reads */
#define SCAN_SPARSE_MIN ((uint64_t) 16 << 30)	/* live: larger, mostly empty mappings are skipped */

bool
scan_region_sparse(const image_region *r)
{
	return r->resident_known && r->end - r->start > SCAN_SPARSE_MIN &&
		r->resident < (r->end - r->start) / 16;
}

bool
scan_region_in_scope(const image_t *im, const image_region *r, scan_scope scope)
{
	if ((r->flags & IMG_REG_SPECIAL) || !(r->prot & IMG_PROT_R))
		return false;
	if (image_get_kind(im) == IMAGE_CORE && r->present == 0)
		return false;
	/* live: nothing resident, nothing to find (reading would only fault in zeros) */
	if (r->resident_known && r->resident == 0)
		return false;
	switch (scope)
	{
		case SCAN_ANON_WRITABLE:
			return image_region_is_anon_writable(r);
		case SCAN_WRITABLE:
			return (r->prot & IMG_PROT_W) != 0;
		case SCAN_ALL:
			return true;
	}
	return false;
}

static void *
scan_xrealloc(void *p, size_t n)
{
	void	   *q = realloc(p, n ? n : 1);

	if (!q)
	{
		fprintf(stderr, "mcxt: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return q;
}

/* A live region, window by window, with overlap bytes carried over. */
static bool
scan_live_region(image_t *im, const image_region *r, size_t overlap, unsigned char *buf,
				 scan_fn fn, void *arg, uint64_t *visited)
{
	uint64_t	addr = r->start;
	size_t		carry = 0;
	bool		first = true;

	while (addr < r->end)
	{
		size_t		want = r->end - addr < SCAN_WINDOW ? (size_t) (r->end - addr) : SCAN_WINDOW;
		size_t		got = image_read(im, addr, buf + carry, want);

		if (got == 0)
			break;
		*visited += got;
		if (!fn(arg, addr - carry, buf, carry + got, first))
			return false;
		first = false;
		addr += got;
		if (got < want)
			break;				/* unreadable tail (e.g. a guard page) */
		{
			size_t		total = carry + got;

			carry = overlap < total ? overlap : total;
			/* keep the last 'carry' bytes; the next read lands after them */
			memmove(buf, buf + total - carry, carry);
		}
	}
	return true;
}

uint64_t
scan_memory(image_t *im, scan_scope scope, size_t overlap, scan_fn fn, void *arg)
{
	uint64_t	visited = 0;
	unsigned char *buf = NULL;

	for (size_t i = 0; i < image_nregions(im); i++)
	{
		const image_region *r = image_region_get(im, i);

		if (!scan_region_in_scope(im, r, scope))
			continue;
		if (image_get_kind(im) == IMAGE_CORE)
		{
			visited += r->present;
			if (!fn(arg, r->start, r->data, (size_t) r->present, true))
				break;
			continue;
		}
		if (scan_region_sparse(r))
		{
			/* e.g. ASan shadow, JVM or PostgreSQL reservations: terabytes of holes */
			image_warn(im, "pid %d: sparse mapping %#llx-%#llx (%llu MB, %llu MB resident) "
					   "not scanned; take a core (gcore) to include it",
					   image_pid(im), (unsigned long long) r->start, (unsigned long long) r->end,
					   (unsigned long long) ((r->end - r->start) >> 20),
					   (unsigned long long) (r->resident >> 20));
			continue;
		}
		if (!buf)
			buf = scan_xrealloc(NULL, SCAN_WINDOW + overlap);
		if (!scan_live_region(im, r, overlap, buf, fn, arg, &visited))
			break;
	}
	free(buf);
	return visited;
}

/* String histogram ------------------------------------------------------ */

typedef struct strhist_slot
{
	uint64_t	hash;
	uint64_t	count;			/* 0: empty slot */
	uint64_t	off;			/* in the arena */
	uint32_t	len;
} strhist_slot;

struct strhist
{
	size_t		min_len;
	size_t		mem_limit;
	strhist_slot *slots;
	size_t		cap;			/* power of two */
	size_t		used;
	char	   *arena;
	size_t		arena_len;
	size_t		arena_cap;
	uint64_t	total;
	uint64_t	pruned_below;
	size_t		last;			/* slot of the previous string + 1, 0 if none */
	/* a string running past the end of a piece (live windows) */
	unsigned char pend[STRHIST_MAX_LEN];
	size_t		pend_len;
	size_t		pend_total;
	strhist_entry *sorted;
};

static unsigned char strhist_printable[256];

static void
strhist_init_table(void)
{
	for (int c = 0x20; c < 0x7f; c++)
		strhist_printable[c] = 1;
	strhist_printable['\t'] = 1;
}

strhist *
strhist_new(size_t min_len, size_t mem_limit)
{
	strhist    *h = scan_xrealloc(NULL, sizeof(*h));

	memset(h, 0, sizeof(*h));
	strhist_init_table();
	h->min_len = min_len ? min_len : 1;
	h->mem_limit = mem_limit;
	h->cap = 1024;
	h->slots = calloc(h->cap, sizeof(strhist_slot));
	if (!h->slots)
	{
		fprintf(stderr, "mcxt: out of memory\n");
		exit(1);
	}
	return h;
}

static uint64_t
strhist_hash(const unsigned char *s, size_t len)
{
	uint64_t	h = 0x9E3779B97F4A7C15ULL ^ len;
	size_t		i = 0;

	for (; i + 8 <= len; i += 8)
	{
		uint64_t	w;

		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 32;
	return h;
}

static void
strhist_rehash(strhist *h, size_t ncap)
{
	strhist_slot *ns = calloc(ncap, sizeof(strhist_slot));

	if (!ns)
	{
		fprintf(stderr, "mcxt: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < h->cap; i++)
	{
		size_t		j;

		if (h->slots[i].count == 0)
			continue;
		j = h->slots[i].hash & (ncap - 1);
		while (ns[j].count != 0)
			j = (j + 1) & (ncap - 1);
		ns[j] = h->slots[i];
	}
	free(h->slots);
	h->slots = ns;
	h->cap = ncap;
	h->last = 0;
}

static size_t
strhist_memory(const strhist *h)
{
	return h->cap * sizeof(strhist_slot) + h->arena_cap;
}

/*
 * Over the memory limit: drop every string seen at most t times, doubling t
 * until the table is at most half the limit (lossy counting).
 */
static void
strhist_prune(strhist *h)
{
	uint64_t	t = h->pruned_below ? h->pruned_below * 2 : 1;

	for (;;)
	{
		size_t		keep = 0,
					bytes = 0;
		char	   *arena;
		size_t		ncap = 1024;

		for (size_t i = 0; i < h->cap; i++)
			if (h->slots[i].count > t)
			{
				keep++;
				bytes += h->slots[i].len;
			}
		while (ncap < keep * 2)
			ncap *= 2;
		if (ncap * sizeof(strhist_slot) + bytes > h->mem_limit / 2 && keep > 0)
		{
			t *= 2;
			continue;
		}
		arena = scan_xrealloc(NULL, bytes ? bytes : 1);
		bytes = 0;
		for (size_t i = 0; i < h->cap; i++)
		{
			strhist_slot *s = &h->slots[i];

			if (s->count > t)
			{
				memcpy(arena + bytes, h->arena + s->off, s->len);
				s->off = bytes;
				bytes += s->len;
			}
			else
				s->count = 0;
		}
		free(h->arena);
		h->arena = arena;
		h->arena_len = bytes;
		h->arena_cap = bytes ? bytes : 1;
		h->used = keep;
		strhist_rehash(h, ncap);
		h->pruned_below = t;
		return;
	}
}

static void
strhist_add(strhist *h, const unsigned char *s, size_t len)
{
	uint64_t	hv;
	size_t		j;

	if (len > STRHIST_MAX_LEN)
		len = STRHIST_MAX_LEN;
	h->total++;
	/* leaks repeat: the same string as last time costs one compare */
	if (h->last)
	{
		strhist_slot *sl = &h->slots[h->last - 1];

		if (sl->len == len && memcmp(h->arena + sl->off, s, len) == 0)
		{
			sl->count++;
			return;
		}
	}
	hv = strhist_hash(s, len);
	j = hv & (h->cap - 1);
	while (h->slots[j].count != 0)
	{
		strhist_slot *sl = &h->slots[j];

		if (sl->hash == hv && sl->len == len && memcmp(h->arena + sl->off, s, len) == 0)
		{
			sl->count++;
			h->last = j + 1;
			return;
		}
		j = (j + 1) & (h->cap - 1);
	}
	if (h->arena_len + len > h->arena_cap)
	{
		size_t		ncap = h->arena_cap ? h->arena_cap * 2 : 65536;

		while (ncap < h->arena_len + len)
			ncap *= 2;
		h->arena = scan_xrealloc(h->arena, ncap);
		h->arena_cap = ncap;
	}
	memcpy(h->arena + h->arena_len, s, len);
	h->slots[j].hash = hv;
	h->slots[j].count = 1;
	h->slots[j].off = h->arena_len;
	h->slots[j].len = (uint32_t) len;
	h->arena_len += len;
	h->used++;
	h->last = j + 1;
	if (h->used * 10 > h->cap * 7)
		strhist_rehash(h, h->cap * 2);
	if (h->mem_limit && strhist_memory(h) > h->mem_limit)
		strhist_prune(h);
}

/* End a string that was pending across pieces. */
static void
strhist_flush(strhist *h)
{
	if (h->pend_total >= h->min_len)
		strhist_add(h, h->pend, h->pend_len);
	h->pend_len = 0;
	h->pend_total = 0;
}

static void
strhist_pend(strhist *h, const unsigned char *s, size_t len)
{
	size_t		room = STRHIST_MAX_LEN - h->pend_len;

	memcpy(h->pend + h->pend_len, s, len < room ? len : room);
	h->pend_len += len < room ? len : room;
	h->pend_total += len;
}

bool
strhist_feed(void *arg, uint64_t addr, const unsigned char *p, size_t n, bool first)
{
	strhist    *h = arg;
	const unsigned char *q = p,
			   *end = p + n;
	const unsigned char *pr = strhist_printable;

	(void) addr;
	if (first)
		strhist_flush(h);
	if (h->pend_total > 0)
	{
		/* continue the string that ran off the previous piece */
		while (q < end && pr[*q])
			q++;
		strhist_pend(h, p, (size_t) (q - p));
		if (q == end)
			return true;
		strhist_flush(h);
	}
	while (q < end)
	{
		const unsigned char *s;

		/* skip zero words, then single non-printable bytes */
		while (q < end && !pr[*q])
		{
			if (((uintptr_t) q & 7) == 0)
			{
				while (end - q >= 8)
				{
					uint64_t	w;

					memcpy(&w, q, 8);
					if (w != 0)
						break;
					q += 8;
				}
				if (q == end || pr[*q])
					break;
			}
			q++;
		}
		if (q == end)
			break;
		s = q;
		while (q < end && pr[*q])
			q++;
		if (q == end)
		{
			strhist_pend(h, s, (size_t) (q - s));
			break;
		}
		if ((size_t) (q - s) >= h->min_len)
			strhist_add(h, s, (size_t) (q - s));
	}
	return true;
}

void
strhist_finish(strhist *h)
{
	strhist_flush(h);
}

static int
strhist_cmp(const void *a, const void *b)
{
	const strhist_entry *x = a,
			   *y = b;
	size_t		m = x->len < y->len ? x->len : y->len;
	int			c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	c = memcmp(x->str, y->str, m);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

const strhist_entry *
strhist_sorted(strhist *h, size_t *n)
{
	size_t		k = 0;

	free(h->sorted);
	h->sorted = scan_xrealloc(NULL, h->used * sizeof(strhist_entry));
	for (size_t i = 0; i < h->cap; i++)
		if (h->slots[i].count)
		{
			h->sorted[k].str = h->arena + h->slots[i].off;
			h->sorted[k].len = h->slots[i].len;
			h->sorted[k].count = h->slots[i].count;
			k++;
		}
	qsort(h->sorted, k, sizeof(strhist_entry), strhist_cmp);
	*n = k;
	return h->sorted;
}

uint64_t
strhist_total(const strhist *h)
{
	return h->total;
}

uint64_t
strhist_pruned_below(const strhist *h)
{
	return h->pruned_below;
}

void
strhist_free(strhist *h)
{
	if (!h)
		return;
	free(h->slots);
	free(h->arena);
	free(h->sorted);
	free(h);
}

/* Pattern finder -------------------------------------------------------- */

#define FINDER_MAX_STRIDES	(1u << 20)

struct finder
{
	unsigned char *pat;
	size_t		len;
	uint64_t	count;
	uint64_t   *addrs;
	size_t		naddrs;
	size_t		max_addrs;
	bool		has_last;
	uint64_t	last;
	uint64_t	regions;
	/* stride -> count, open addressing; count 0 = empty */
	stride_count *strides;
	size_t		scap;
	size_t		sused;
	uint64_t	other;			/* strides that did not fit */
	stride_count *sorted;
};

finder *
finder_new(const unsigned char *pat, size_t len, size_t max_addrs)
{
	finder	   *f = scan_xrealloc(NULL, sizeof(*f));

	memset(f, 0, sizeof(*f));
	f->pat = scan_xrealloc(NULL, len);
	memcpy(f->pat, pat, len);
	f->len = len;
	f->max_addrs = max_addrs;
	f->addrs = scan_xrealloc(NULL, (max_addrs ? max_addrs : 1) * sizeof(uint64_t));
	f->scap = 256;
	f->strides = calloc(f->scap, sizeof(stride_count));
	if (!f->strides)
	{
		fprintf(stderr, "mcxt: out of memory\n");
		exit(1);
	}
	return f;
}

static void
finder_stride_rehash(finder *f)
{
	size_t		ncap = f->scap * 2;
	stride_count *ns = calloc(ncap, sizeof(stride_count));

	if (!ns)
	{
		fprintf(stderr, "mcxt: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < f->scap; i++)
	{
		size_t		j;

		if (!f->strides[i].count)
			continue;
		j = (f->strides[i].stride * 0x9E3779B97F4A7C15ULL >> 20) & (ncap - 1);
		while (ns[j].count)
			j = (j + 1) & (ncap - 1);
		ns[j] = f->strides[i];
	}
	free(f->strides);
	f->strides = ns;
	f->scap = ncap;
}

static void
finder_add_stride(finder *f, uint64_t stride)
{
	size_t		j = (stride * 0x9E3779B97F4A7C15ULL >> 20) & (f->scap - 1);

	while (f->strides[j].count)
	{
		if (f->strides[j].stride == stride)
		{
			f->strides[j].count++;
			return;
		}
		j = (j + 1) & (f->scap - 1);
	}
	if (f->sused >= FINDER_MAX_STRIDES)
	{
		f->other++;
		return;
	}
	f->strides[j].stride = stride;
	f->strides[j].count = 1;
	f->sused++;
	if (f->sused * 10 > f->scap * 7)
		finder_stride_rehash(f);
}

static void
finder_hit(finder *f, uint64_t addr)
{
	if (f->has_last)
		finder_add_stride(f, addr - f->last);
	else
		f->regions++;
	f->has_last = true;
	f->last = addr;
	if (f->naddrs < f->max_addrs)
		f->addrs[f->naddrs++] = addr;
	f->count++;
}

bool
finder_feed(void *arg, uint64_t addr, const unsigned char *p, size_t n, bool first)
{
	finder	   *f = arg;
	const unsigned char *q = p,
			   *end = p + n;

	if (first)
		f->has_last = false;
	while ((size_t) (end - q) >= f->len)
	{
		const unsigned char *m = memmem(q, (size_t) (end - q), f->pat, f->len);

		if (!m)
			break;
		finder_hit(f, addr + (uint64_t) (m - p));
		q = m + 1;
	}
	return true;
}

uint64_t
finder_count(const finder *f)
{
	return f->count;
}

const uint64_t *
finder_addrs(const finder *f, size_t *n)
{
	*n = f->naddrs;
	return f->addrs;
}

uint64_t
finder_regions(const finder *f)
{
	return f->regions;
}

static int
stride_cmp(const void *a, const void *b)
{
	const stride_count *x = a,
			   *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->stride < y->stride ? -1 : x->stride > y->stride;
}

const stride_count *
finder_strides(finder *f, size_t *n)
{
	size_t		k = 0;

	free(f->sorted);
	f->sorted = scan_xrealloc(NULL, (f->sused + 1) * sizeof(stride_count));
	for (size_t i = 0; i < f->scap; i++)
		if (f->strides[i].count)
			f->sorted[k++] = f->strides[i];
	qsort(f->sorted, k, sizeof(stride_count), stride_cmp);
	*n = k;
	return f->sorted;
}

void
finder_free(finder *f)
{
	if (!f)
		return;
	free(f->pat);
	free(f->addrs);
	free(f->strides);
	free(f->sorted);
	free(f);
}
