/*
 * analyze.c
 *	  Leak suspects, chunk decode at an address and the diff of two walks
 *	  (see analyze.h for the definitions and the ranking).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"

#define ANALYZE_PEEK		64	/* content bytes looked at per chunk */
#define ANALYZE_SCAN_BUF	(1u << 20)

/* ---- families ----------------------------------------------------------- */

static bool
an_isdigit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
an_ishex(unsigned char c)
{
	return an_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
an_isalnum(unsigned char c)
{
	return an_isdigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
an_isprint(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t';
}

/* Append s to buf (capacity cap, length *len), keeping it terminated. */
static void
an_append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap)
		n = cap - 1 - *len;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

/* Append one character, keeping room for the terminator (the hot path). */
#define AN_PUT(fam, len, ch) \
	do { if ((len) < MCXT_FAMILY_MAX - 1) (fam)[(len)++] = (char) (ch); } while (0)

/* Normalise text: digit runs -> %u, hex words -> %x, 0x... -> 0x%x, % -> %%. */
static void
an_normalise(const unsigned char *t, size_t n, char *fam)
{
	size_t		len = 0;
	size_t		i = 0;

	while (i < n && len < MCXT_FAMILY_MAX - 1)
	{
		size_t		j = i;
		bool		all_hex = true;
		bool		has_digit = false;
		bool		all_digit = true;

		if (!an_isalnum(t[i]))
		{
			if (t[i] == '%')
				AN_PUT(fam, len, '%');
			AN_PUT(fam, len, t[i]);
			i++;
			continue;
		}
		/* a word t[i .. j) */
		for (; j < n && an_isalnum(t[j]); j++)
		{
			all_hex &= an_ishex(t[j]);
			has_digit |= an_isdigit(t[j]);
			all_digit &= an_isdigit(t[j]);
		}
		if (j - i > 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X'))
		{
			bool		rest_hex = true;

			for (size_t k = i + 2; k < j; k++)
				rest_hex &= an_ishex(t[k]);
			if (rest_hex)
			{
				AN_PUT(fam, len, '0');
				AN_PUT(fam, len, 'x');
				AN_PUT(fam, len, '%');
				AN_PUT(fam, len, 'x');
				i = j;
				continue;
			}
		}
		if (all_hex && has_digit && j - i >= 8)
		{
			AN_PUT(fam, len, '%');
			AN_PUT(fam, len, all_digit ? 'u' : 'x');
			i = j;
			continue;
		}
		/* letters stay; each digit run becomes %u */
		while (i < j)
		{
			if (an_isdigit(t[i]))
			{
				while (i < j && an_isdigit(t[i]))
					i++;
				AN_PUT(fam, len, '%');
				AN_PUT(fam, len, 'u');
			}
			else
			{
				AN_PUT(fam, len, t[i]);
				i++;
			}
		}
	}
	fam[len] = '\0';
}

/*
 * The family of len bytes of content, the sample when sample is not NULL,
 * and in *decided how many leading bytes the answer depends on: content of
 * the same length whose first *decided bytes are the same has the same
 * family (pass 1 uses this to skip runs of like chunks).
 */
static bool
an_family(mcxt_walk *w, const unsigned char *buf, size_t len, char *fam, char *sample,
		  size_t *decided)
{
	size_t		t = 0;
	size_t		slen = 0;
	bool		ptr_first = false;

	/*
	 * A first word that points into the image makes the chunk binary even
	 * if its bytes happen to be printable (x86-64 heap addresses often
	 * are: 0x55 is 'U').
	 */
	*decided = len < 8 ? len : 8;
	if (len >= 8)
	{
		uint64_t	v;

		memcpy(&v, buf, 8);
		ptr_first = v >= 4096 && mcxt_walk_is_mapped(w, v);
	}
	while (!ptr_first && t < len && an_isprint(buf[t]))
		t++;
	/* the text test read up to and including the first unprintable byte */
	if (!ptr_first && (t < len ? t + 1 : t) > *decided)
		*decided = t < len ? t + 1 : t;
	if (!ptr_first && t >= 3 && (t == len || buf[t] == '\0'))
	{
		if (sample != NULL)
		{
			size_t		n = t < MCXT_SAMPLE_MAX - 1 ? t : MCXT_SAMPLE_MAX - 1;

			memcpy(sample, buf, n);
			sample[n] = '\0';
		}
		an_normalise(buf, t, fam);
		return true;
	}
	/* binary: a signature of the first words, and hex bytes as the sample */
	{
		size_t		flen = 0;
		size_t		nw = len / 8 < 4 ? len / 8 : 4;

		fam[0] = '\0';
		an_append(fam, MCXT_FAMILY_MAX, &flen, "hex:", 4);
		for (size_t k = 0; k < nw; k++)
		{
			uint64_t	v;
			const char *s;

			memcpy(&v, buf + 8 * k, 8);
			if (v == 0)
				s = "0";
			else if (v >= 4096 && mcxt_walk_is_mapped(w, v))
				s = "%p";
			else
				s = "%x";
			if (k > 0)
				an_append(fam, MCXT_FAMILY_MAX, &flen, ",", 1);
			an_append(fam, MCXT_FAMILY_MAX, &flen, s, strlen(s));
		}
		if (8 * nw > *decided)
			*decided = 8 * nw;
		if (nw == 0)
		{
			*decided = len;
			for (size_t k = 0; k < len; k++)
			{
				char		hx[3];

				snprintf(hx, sizeof(hx), "%02x", buf[k]);
				an_append(fam, MCXT_FAMILY_MAX, &flen, hx, 2);
			}
		}
		if (sample != NULL)
		{
			for (size_t k = 0; k < len && slen + 2 < MCXT_SAMPLE_MAX && k < 32; k++)
				slen += (size_t) snprintf(sample + slen, MCXT_SAMPLE_MAX - slen, "%02x", buf[k]);
			sample[slen] = '\0';
		}
	}
	return false;
}

bool
mcxt_family_of(mcxt_walk *w, const unsigned char *buf, size_t len, char *fam, char *sample)
{
	size_t		decided;

	return an_family(w, buf, len, fam, sample, &decided);
}

/* ---- the group table ---------------------------------------------------- */

typedef struct an_groups
{
	mcxt_suspect *items;
	size_t		n;
	size_t		cap;
	uint32_t   *slots;			/* index + 1, 0 = empty */
	size_t		nslots;			/* power of two */
	bool		capped;
	bool		oom;
} an_groups;

static uint64_t
an_hash(int32_t ctx, uint64_t size, const char *fam)
{
	uint64_t	h = UINT64_C(1469598103934665603) ^ (uint64_t) (uint32_t) ctx ^ (size << 32);

	for (const unsigned char *p = (const unsigned char *) fam; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	h ^= h >> 29;
	return h;
}

static bool
an_rehash(an_groups *g)
{
	size_t		ns = g->nslots ? g->nslots * 2 : 1024;
	uint32_t   *slots;

	/* at most half full, whatever the table held before */
	while (ns < 2 * (g->n + 1))
		ns *= 2;
	slots = calloc(ns, sizeof(uint32_t));

	if (slots == NULL)
		return false;
	for (size_t i = 0; i < g->n; i++)
	{
		size_t		s = an_hash(g->items[i].ctx, g->items[i].chunk_size, g->items[i].family) & (ns - 1);

		while (slots[s] != 0)
			s = (s + 1) & (ns - 1);
		slots[s] = (uint32_t) i + 1;
	}
	free(g->slots);
	g->slots = slots;
	g->nslots = ns;
	return true;
}

/* Find or add the group; NULL when out of memory. */
static mcxt_suspect *
an_group(an_groups *g, int32_t ctx, uint64_t size, uint64_t space, const char *fam, bool add)
{
	size_t		s;

	if (g->nslots == 0 && !an_rehash(g))
		return NULL;
	s = an_hash(ctx, size, fam) & (g->nslots - 1);
	while (g->slots[s] != 0)
	{
		mcxt_suspect *it = &g->items[g->slots[s] - 1];

		if (it->ctx == ctx && it->chunk_size == size && strcmp(it->family, fam) == 0)
			return it;
		s = (s + 1) & (g->nslots - 1);
	}
	if (!add)
		return NULL;
	if (g->n >= MCXT_MAX_GROUPS && strcmp(fam, "(other)") != 0)
	{
		g->capped = true;
		return an_group(g, ctx, size, space, "(other)", true);
	}
	if (g->n == g->cap)
	{
		size_t		nc = g->cap ? g->cap * 2 : 256;
		mcxt_suspect *bigger = realloc(g->items, nc * sizeof(*bigger));

		if (bigger == NULL)
			return NULL;
		g->items = bigger;
		g->cap = nc;
	}
	{
		mcxt_suspect *it = &g->items[g->n];

		memset(it, 0, sizeof(*it));
		it->seq = (uint32_t) g->n;
		it->ctx = ctx;
		it->chunk_size = size;
		it->chunk_space = space;
		snprintf(it->family, sizeof(it->family), "%s", fam);
		it->last_block = -1;
		it->unreferenced = -1;
		g->slots[s] = (uint32_t) g->n + 1;
		g->n++;
		if (g->n * 2 > g->nslots && !an_rehash(g))
			g->oom = true;
		return it;
	}
}

/* Misra-Gries over 4 counters: the dominant stride, exact when at most 4 occur. */
static void
an_stride(mcxt_suspect *it, uint64_t stride)
{
	int			empty = -1;

	for (int k = 0; k < 4; k++)
	{
		if (it->mg_count[k] > 0 && it->mg_stride[k] == stride)
		{
			it->mg_count[k]++;
			return;
		}
		if (it->mg_count[k] == 0 && empty < 0)
			empty = k;
	}
	if (empty >= 0)
	{
		it->mg_stride[empty] = stride;
		it->mg_count[empty] = 1;
		return;
	}
	for (int k = 0; k < 4; k++)
		it->mg_count[k]--;
}

/*
 * Pass 1 state.  Besides the groups, it records the group of every live
 * chunk in walk order (gid, 4 bytes a chunk) and where each block's chunks
 * start in it, so that pass 2 (the reference scan's candidates, in address
 * order) never reads or classifies a chunk's content again.
 */
typedef struct an_pass1
{
	an_groups	g;
	mcxt_suspects *s;
	uint32_t   *gid;			/* group (seq) of the i-th live chunk walked */
	size_t		ngid;
	size_t		capgid;
	uint32_t   *blk_first;		/* per block: its first index into gid */
	uint32_t   *blk_n;			/* per block: its live chunks */
	bool		gid_ok;			/* gid holds every live chunk */
	/* the previous classified chunk: a run of like chunks is classified once */
	bool		memo_ok;
	int32_t		memo_ctx;
	uint64_t	memo_size;
	size_t		memo_len;		/* content bytes looked at */
	size_t		memo_decided;	/* leading bytes its family depends on */
	uint32_t	memo_group;
	unsigned char memo[ANALYZE_PEEK];
} an_pass1;

/*
 * The first bytes of a chunk's content, up to ANALYZE_PEEK: in place in the
 * image when it can, else copied into buf.  *got: how many.
 */
static const unsigned char *
an_content(mcxt_walk *w, const mcxt_chunk *c, unsigned char *buf, size_t *got)
{
	size_t		want = c->size < ANALYZE_PEEK ? (size_t) c->size : ANALYZE_PEEK;
	const unsigned char *p = mcxt_walk_peek(w, c->ptr, want);

	if (p != NULL)
	{
		*got = want;
		return p;
	}
	*got = mcxt_walk_read(w, c->ptr, buf, want);
	return buf;
}

/* Read the content of a chunk and classify it. */
static bool
an_classify(mcxt_walk *w, const mcxt_chunk *c, char *fam, char *sample)
{
	unsigned char buf[ANALYZE_PEEK];
	size_t		got;
	const unsigned char *p = an_content(w, c, buf, &got);

	return mcxt_family_of(w, p, got, fam, sample);
}

/* Remember the group of live chunk c (no more records once out of memory). */
static void
an_record(an_pass1 *p, const mcxt_chunk *c, uint32_t seq)
{
	if (!p->gid_ok)
		return;
	if (p->ngid == p->capgid)
	{
		size_t		nc = p->capgid ? p->capgid * 2 : 65536;
		uint32_t   *bigger = nc <= UINT32_MAX ? realloc(p->gid, nc * sizeof(uint32_t)) : NULL;

		if (bigger == NULL)
		{
			p->gid_ok = false;
			return;
		}
		p->gid = bigger;
		p->capgid = nc;
	}
	if (p->blk_n[c->block]++ == 0)
		p->blk_first[c->block] = (uint32_t) p->ngid;
	p->gid[p->ngid++] = seq;
}

static bool
an_pass1_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	an_pass1   *p = arg;
	unsigned char buf[ANALYZE_PEEK];
	size_t		got;
	const unsigned char *bytes;
	mcxt_suspect *it;

	if (c->free)
		return true;
	bytes = an_content(w, c, buf, &got);
	if (p->memo_ok && c->ctx == p->memo_ctx && c->size == p->memo_size &&
		got == p->memo_len && memcmp(bytes, p->memo, p->memo_decided) == 0)
		it = &p->g.items[p->memo_group];
	else
	{
		char		fam[MCXT_FAMILY_MAX];
		char		sample[MCXT_SAMPLE_MAX];
		size_t		decided;
		bool		text = an_family(w, bytes, got, fam, NULL, &decided);

		it = an_group(&p->g, c->ctx, c->size, c->space, fam, true);
		if (it == NULL)
		{
			p->g.oom = true;
			return false;
		}
		if (it->count == 0)
		{
			/* the sample is made once per group */
			an_family(w, bytes, got, fam, sample, &decided);
			it->is_text = text && strcmp(it->family, "(other)") != 0;
			snprintf(it->sample, sizeof(it->sample), "%s", sample);
			it->sample_addr = c->ptr;
		}
		p->memo_ok = true;
		p->memo_ctx = c->ctx;
		p->memo_size = c->size;
		p->memo_len = got;
		p->memo_decided = decided;
		p->memo_group = it->seq;
		memcpy(p->memo, bytes, decided);
	}
	an_record(p, c, it->seq);
	it->count++;
	if (it->last_block != c->block)
	{
		it->blocks++;
		it->last_block = c->block;
	}
	else
		an_stride(it, c->ptr - it->last_ptr);
	it->last_ptr = c->ptr;
	p->s->live_chunks++;
	p->s->live_bytes += c->space;
	return true;
}

static int
an_cmp_suspect(const void *a, const void *b)
{
	const mcxt_suspect *x = a;
	const mcxt_suspect *y = b;

	if (x->total_bytes != y->total_bytes)
		return x->total_bytes > y->total_bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->ctx != y->ctx)
		return x->ctx < y->ctx ? -1 : 1;
	if (x->chunk_size != y->chunk_size)
		return x->chunk_size < y->chunk_size ? -1 : 1;
	return strcmp(x->family, y->family);
}

/* ---- the reference scan ------------------------------------------------- */

/*
 * A candidate is one word: its user pointer's offset from base (the lowest
 * block) above its group's rank (16 bits), so ascending candidates are
 * ascending pointers.  Offsets need 48 bits: blocks spread wider than that
 * (no real address space is) get no reference scan.
 */
#define AN_RANK_BITS		16
#define AN_OFFSET_MAX		(UINT64_MAX >> AN_RANK_BITS)

typedef struct an_refs
{
	uint64_t   *cand;			/* (ptr - base) << AN_RANK_BITS | rank, ascending */
	uint64_t	base;
	uint8_t    *seen;			/* referenced bits */
	size_t		n;
	size_t		cap;
	uint64_t	lo;
	uint64_t	hi;
	unsigned	shift;
	uint32_t   *bucket;			/* first candidate with ptr >= lo + (b << shift) */
	size_t		nbuckets;
	const mcxt_suspect *items;
	bool		unsorted;
	bool		too_wide;
	bool		oom;
	an_groups  *g;
	size_t		top;
	/* pass 1's record: the rank (or UINT16_MAX: not a top group) of each live chunk */
	uint16_t   *grank;
	const an_pass1 *p1;
	int32_t		cur_block;
	size_t		pos;			/* next record of cur_block */
	size_t		end;			/* end of cur_block's records */
} an_refs;

static inline uint64_t
an_cand_ptr(const an_refs *r, size_t k)
{
	return r->base + (r->cand[k] >> AN_RANK_BITS);
}

static inline size_t
an_cand_rank(const an_refs *r, size_t k)
{
	return (size_t) (r->cand[k] & ((1u << AN_RANK_BITS) - 1));
}

/* Is any of the top groups in this context with this chunk size? (skips classifying) */
static bool
an_top_has(const an_refs *r, int32_t ctx, uint64_t size)
{
	for (size_t i = 0; i < r->top; i++)
		if (r->items[i].ctx == ctx && r->items[i].chunk_size == size)
			return true;
	return false;
}

/*
 * The rank of live chunk c among the groups, from pass 1's record when it
 * has one (the chunks of a block come in the same order in both passes),
 * else by classifying it again (pass 1 ran out of memory, or a live
 * process changed in between).  -1: in no group.
 */
static long
an_rank_of(mcxt_walk *w, an_refs *r, const mcxt_chunk *c)
{
	char		fam[MCXT_FAMILY_MAX];
	mcxt_suspect *it;

	if (r->grank != NULL)
	{
		if (c->block != r->cur_block)
		{
			r->cur_block = c->block;
			r->pos = r->p1->blk_first[c->block];
			r->end = r->pos + r->p1->blk_n[c->block];
		}
		if (r->pos < r->end)
			return r->grank[r->pos++];
	}
	if (r->top <= 64 && !an_top_has(r, c->ctx, c->size))
		return -1;
	an_classify(w, c, fam, NULL);
	it = an_group(r->g, c->ctx, c->size, c->space, fam, false);
	if (it == NULL && r->g->capped)
		it = an_group(r->g, c->ctx, c->size, c->space, "(other)", false);
	return it != NULL ? (long) (it - r->g->items) : -1;
}

static bool
an_pass2_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	an_refs    *r = arg;
	long		idx;

	if (c->free)
		return true;
	idx = an_rank_of(w, r, c);
	if (idx < 0 || (size_t) idx >= r->top)
		return true;
	if (c->ptr < r->base || c->ptr - r->base > AN_OFFSET_MAX)
	{
		r->too_wide = true;
		return false;
	}
	if (r->n == r->cap)
	{
		size_t		nc = r->cap ? r->cap * 2 : 1024;
		uint64_t   *bigger = realloc(r->cand, nc * sizeof(uint64_t));

		if (bigger == NULL)
		{
			r->oom = true;
			return false;
		}
		r->cand = bigger;
		r->cap = nc;
	}
	if (r->n > 0 && c->ptr <= an_cand_ptr(r, r->n - 1))
		r->unsorted = true;
	r->cand[r->n++] = (c->ptr - r->base) << AN_RANK_BITS | (uint64_t) idx;
	return true;
}

/*
 * Turn pass 1's record (group numbers in creation order) into ranks among
 * the top groups, 2 bytes a chunk instead of 4, size the candidate array
 * exactly and find the lowest block (the candidates' base).  Without a
 * complete record, pass 2 classifies.
 */
static void
an_refs_prepare(mcxt_walk *w, an_refs *r, an_pass1 *p1)
{
	uint16_t   *remap = NULL;
	size_t		want = 0;

	if (p1->gid_ok && p1->g.n <= UINT32_MAX &&
		(remap = malloc((p1->g.n ? p1->g.n : 1) * sizeof(uint16_t))) != NULL &&
		(r->grank = malloc((p1->ngid ? p1->ngid : 1) * sizeof(uint16_t))) != NULL)
	{
		for (size_t i = 0; i < p1->g.n; i++)
			remap[p1->g.items[i].seq] = i < r->top ? (uint16_t) i : UINT16_MAX;
		for (size_t k = 0; k < p1->ngid; k++)
			r->grank[k] = remap[p1->gid[k]];
		r->p1 = p1;
		r->cur_block = -1;
	}
	free(remap);
	free(p1->gid);
	p1->gid = NULL;
	p1->capgid = 0;
	for (size_t i = 0; i < r->top; i++)
		want += r->g->items[i].count;
	if (want > 0 && (r->cand = malloc(want * sizeof(uint64_t))) != NULL)
		r->cap = want;
	r->base = UINT64_MAX;
	for (size_t b = 0; b < w->nblocks; b++)
		if (w->blocks[b].addr < r->base)
			r->base = w->blocks[b].addr;
}

static bool
an_build_buckets(an_refs *r)
{
	uint64_t	span;

	r->lo = an_cand_ptr(r, 0);
	r->hi = an_cand_ptr(r, r->n - 1) + r->items[an_cand_rank(r, r->n - 1)].chunk_size;
	span = r->hi - r->lo;
	/* about one bucket per two candidates: a word in range searches a handful */
	r->shift = 3;
	while ((span >> r->shift) + 1 > r->n / 2 + 1024)
		r->shift++;
	r->nbuckets = (size_t) (span >> r->shift) + 1;
	r->bucket = malloc((r->nbuckets + 1) * sizeof(uint32_t));
	if (r->bucket == NULL)
		return false;
	{
		size_t		k = 0;

		for (size_t b = 0; b <= r->nbuckets; b++)
		{
			uint64_t	start = r->lo + ((uint64_t) b << r->shift);

			while (k < r->n && an_cand_ptr(r, k) < start)
				k++;
			r->bucket[b] = (uint32_t) k;
		}
	}
	return true;
}

/* A word v found at address loc: mark the candidate it points into. */
static inline void
an_ref_word(an_refs *r, uint64_t v, uint64_t loc)
{
	size_t		b;
	size_t		lo;
	size_t		hi;

	if (v < r->lo || v >= r->hi)
		return;
	b = (size_t) ((v - r->lo) >> r->shift);
	lo = r->bucket[b] > 0 ? r->bucket[b] - 1 : 0;
	hi = r->bucket[b + 1];
	/* the last candidate in [lo, hi) with ptr <= v */
	while (hi - lo > 1)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (an_cand_ptr(r, mid) <= v)
			lo = mid;
		else
			hi = mid;
	}
	if (an_cand_ptr(r, lo) > v)
		return;
	{
		uint64_t	start = an_cand_ptr(r, lo);
		uint64_t	end = start + r->items[an_cand_rank(r, lo)].chunk_size;

		if (v >= end)
			return;
		if (loc >= start && loc < end)
			return;				/* a pointer into its own chunk */
		r->seen[lo >> 3] |= (uint8_t) (1u << (lo & 7));
	}
}

static void
an_scan_words(an_refs *r, const unsigned char *p, size_t n, uint64_t addr)
{
	for (size_t k = 0; k + 8 <= n; k += 8)
	{
		uint64_t	v;

		memcpy(&v, p + k, 8);
		an_ref_word(r, v, addr + k);
	}
}

static uint64_t
an_scan_memory(mcxt_walk *w, an_refs *r)
{
	unsigned char *buf = NULL;
	uint64_t	scanned = 0;

	for (size_t i = 0; i < w->nregions; i++)
	{
		const mcxt_region *rg = &w->regions[i];
		uint64_t	a = (rg->start + 7) & ~(uint64_t) 7;

		if (!rg->writable)
			continue;
		if (rg->data != NULL)
		{
			an_scan_words(r, (const unsigned char *) rg->data + (a - rg->start),
						  (size_t) (rg->end - a), a);
			scanned += rg->end - a;
			continue;
		}
		if (buf == NULL && (buf = malloc(ANALYZE_SCAN_BUF)) == NULL)
		{
			r->oom = true;
			break;
		}
		while (a < rg->end)
		{
			size_t		want = rg->end - a < ANALYZE_SCAN_BUF ? (size_t) (rg->end - a) : ANALYZE_SCAN_BUF;
			size_t		got = w->reader.read(w->reader.arg, a, buf, want);

			if (got > want)
				got = 0;
			an_scan_words(r, buf, got & ~(size_t) 7, a);
			scanned += got;
			if (got < want)
			{
				/* a hole (e.g. pages a core left out): skip to the next page */
				a = ((a + got) | 4095) + 1;
				continue;
			}
			a += got;
		}
	}
	free(buf);
	return scanned;
}

static void
an_reference_scan(mcxt_walk *w, mcxt_suspects *s, an_pass1 *p1, size_t top)
{
	an_refs		r;
	an_groups  *g = &p1->g;

	memset(&r, 0, sizeof(r));
	r.items = g->items;
	r.g = g;
	r.top = top;
	if (w->nregions == 0)
	{
		mcxt_walk_warn(w, "no memory regions known: no reference scan");
		return;
	}
	an_refs_prepare(w, &r, p1);
	mcxt_walk_chunks(w, -1, true, an_pass2_chunk, &r);
	free(r.grank);
	r.grank = NULL;
	if (r.oom || r.unsorted || r.too_wide)
	{
		mcxt_walk_warn(w, "%s: no reference scan",
					   r.oom ? "out of memory" :
					   r.too_wide ? "blocks spread over more than 2^48 bytes" :
					   "chunks overlap or blocks are out of order");
		goto done;
	}
	if (r.n == 0)
		goto fill;
	r.seen = calloc(r.n / 8 + 1, 1);
	if (r.seen == NULL || !an_build_buckets(&r))
	{
		mcxt_walk_warn(w, "out of memory: no reference scan");
		goto done;
	}
	s->scanned_bytes = an_scan_memory(w, &r);
	if (r.oom)
	{
		mcxt_walk_warn(w, "out of memory: no reference scan");
		goto done;
	}
fill:
	for (size_t i = 0; i < top; i++)
		g->items[i].unreferenced = 0;
	for (size_t k = 0; k < r.n; k++)
		if (!(r.seen[k >> 3] & (1u << (k & 7))))
			g->items[an_cand_rank(&r, k)].unreferenced++;
	s->nscanned = top;
done:
	free(r.grank);
	free(r.cand);
	free(r.seen);
	free(r.bucket);
}

mcxt_suspects *
mcxt_suspects_find(mcxt_walk *w, const mcxt_suspects_opts *opts)
{
	mcxt_suspects *s = calloc(1, sizeof(*s));
	an_pass1	p;
	size_t		top = opts && opts->scan_top ? opts->scan_top : 20;

	if (s == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.blk_first = calloc(w->nblocks + 1, sizeof(uint32_t));
	p.blk_n = calloc(w->nblocks + 1, sizeof(uint32_t));
	p.gid_ok = p.blk_first != NULL && p.blk_n != NULL;
	mcxt_walk_chunks(w, -1, false, an_pass1_chunk, &p);
	if (p.g.oom)
	{
		mcxt_walk_warn(w, "out of memory while grouping chunks: suspects are partial");
		p.gid_ok = false;
	}
	for (size_t i = 0; i < p.g.n; i++)
	{
		mcxt_suspect *it = &p.g.items[i];
		const mcxt_ctx_info *c = &w->ctx[it->ctx];
		uint64_t	used = c->total_bytes - (c->free_bytes < c->total_bytes ? c->free_bytes : c->total_bytes);
		uint64_t	best = 0;

		it->total_bytes = it->count * it->chunk_space;
		it->share = used ? (double) it->total_bytes / (double) used : 0.0;
		for (int k = 0; k < 4; k++)
			if (it->mg_count[k] > best)
			{
				best = it->mg_count[k];
				it->stride = it->mg_stride[k];
			}
		it->stride_count = best;
	}
	mcxt_sort(p.g.items, p.g.n, sizeof(mcxt_suspect), an_cmp_suspect);
	/* the hash slots point at pre-sort positions: rebuild */
	free(p.g.slots);
	p.g.slots = NULL;
	p.g.nslots = 0;
	s->groups_capped = p.g.capped;
	if (top > p.g.n)
		top = p.g.n;
	if (top > 65535)
		top = 65535;
	if (!(opts && opts->no_ref_scan) && top > 0)
	{
		if (an_rehash(&p.g))
			an_reference_scan(w, s, &p, top);
		else
			mcxt_walk_warn(w, "out of memory: no reference scan");
	}
	free(p.gid);
	free(p.blk_first);
	free(p.blk_n);
	free(p.g.slots);
	s->items = p.g.items;
	s->n = p.g.n;
	return s;
}

void
mcxt_suspects_free(mcxt_suspects *s)
{
	if (s == NULL)
		return;
	free(s->items);
	free(s);
}

/* ---- chunk decode ------------------------------------------------------- */

typedef struct an_decode
{
	uint64_t	addr;
	mcxt_decoded *out;
	bool		found;
	bool		want_next;
	bool		have_last;
	mcxt_chunk	last;
} an_decode;

static bool
an_decode_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	an_decode  *d = arg;

	(void) w;
	if (d->want_next)
	{
		d->out->has_next = true;
		d->out->next = *c;
		return false;
	}
	if (d->addr >= c->hdr && d->addr < c->ptr + c->size)
	{
		d->found = true;
		d->out->has_chunk = true;
		d->out->chunk = *c;
		d->out->kind = d->addr < c->ptr ? MCXT_ADDR_CHUNK_HEADER : MCXT_ADDR_CHUNK;
		d->out->offset = d->addr >= c->ptr ? d->addr - c->ptr : 0;
		if (d->have_last)
		{
			d->out->has_prev = true;
			d->out->prev = d->last;
		}
		d->want_next = true;
		return true;
	}
	d->last = *c;
	d->have_last = true;
	return c->ptr + c->size <= d->addr;
}

bool
mcxt_decode_addr(mcxt_walk *w, uint64_t addr, mcxt_decoded *out)
{
	const mcxt_layout *L = w->layout;
	int32_t		b;

	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->ctx = -1;
	out->block = -1;
	for (size_t i = 0; i < w->nctx; i++)
	{
		if (addr >= w->ctx[i].addr && addr - w->ctx[i].addr < L->ctx_size)
		{
			out->kind = MCXT_ADDR_CONTEXT;
			out->ctx = (int32_t) i;
			return true;
		}
	}
	b = mcxt_walk_find_block(w, addr);
	if (b < 0)
		return false;
	out->block = b;
	out->ctx = w->blocks[b].ctx;
	if (addr < w->blocks[b].addr + w->blocks[b].hdr_size)
		out->kind = MCXT_ADDR_BLOCK_HEADER;
	else if (addr >= w->blocks[b].freeptr)
		out->kind = MCXT_ADDR_BLOCK_FREE;
	else
	{
		an_decode	d;

		memset(&d, 0, sizeof(d));
		d.addr = addr;
		d.out = out;
		mcxt_walk_block_chunks(w, b, an_decode_chunk, &d);
		if (!d.found)
			out->kind = MCXT_ADDR_BLOCK_UNWALKED;
	}
	return true;
}

/* ---- diff ------------------------------------------------------------------- */

typedef struct an_ckey
{
	const char *path;
	const mcxt_ctx_info *c;
} an_ckey;

static int
an_cmp_ckey(const void *a, const void *b)
{
	return strcmp(((const an_ckey *) a)->path, ((const an_ckey *) b)->path);
}

typedef struct an_fkey
{
	const char *path;
	uint64_t	size;
	const char *family;
	uint64_t	count;
	uint64_t	bytes;
} an_fkey;

static int
an_cmp_fkey(const void *a, const void *b)
{
	const an_fkey *x = a;
	const an_fkey *y = b;
	int			c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->family, y->family);
}

static an_ckey *
an_ctx_keys(const mcxt_walk *w)
{
	an_ckey    *k = malloc((w->nctx + 1) * sizeof(*k));

	if (k == NULL)
		return NULL;
	for (size_t i = 0; i < w->nctx; i++)
	{
		k[i].path = w->ctx[i].path ? w->ctx[i].path : "";
		k[i].c = &w->ctx[i];
	}
	mcxt_sort(k, w->nctx, sizeof(*k), an_cmp_ckey);
	return k;
}

static an_fkey *
an_fam_keys(const mcxt_walk *w, const mcxt_suspects *s)
{
	an_fkey    *k = malloc((s->n + 1) * sizeof(*k));

	if (k == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
	{
		const mcxt_suspect *it = &s->items[i];

		k[i].path = w->ctx[it->ctx].path ? w->ctx[it->ctx].path : "";
		k[i].size = it->chunk_size;
		k[i].family = it->family;
		k[i].count = it->count;
		k[i].bytes = it->total_bytes;
	}
	mcxt_sort(k, s->n, sizeof(*k), an_cmp_fkey);
	return k;
}

static int
an_cmp_dctx(const void *a, const void *b)
{
	const mcxt_diff_ctx *x = a;
	const mcxt_diff_ctx *y = b;

	if (x->d_total != y->d_total)
		return x->d_total > y->d_total ? -1 : 1;
	if (x->d_used != y->d_used)
		return x->d_used > y->d_used ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int
an_cmp_dfam(const void *a, const void *b)
{
	const mcxt_diff_family *x = a;
	const mcxt_diff_family *y = b;

	if (x->d_bytes != y->d_bytes)
		return x->d_bytes > y->d_bytes ? -1 : 1;
	if (x->d_count != y->d_count)
		return x->d_count > y->d_count ? -1 : 1;
	return strcmp(x->family, y->family);
}

static void
an_diff_contexts(mcxt_diff *d, const an_ckey *ka, size_t na, const an_ckey *kb, size_t nb)
{
	size_t		i = 0;
	size_t		j = 0;

	while (i < na || j < nb)
	{
		const char *path;
		mcxt_diff_ctx e;
		int			c;

		if (i < na && j < nb)
			c = strcmp(ka[i].path, kb[j].path);
		else
			c = i < na ? -1 : 1;
		path = c <= 0 ? ka[i].path : kb[j].path;
		memset(&e, 0, sizeof(e));
		e.path = path;
		for (; c <= 0 && i < na && strcmp(ka[i].path, path) == 0; i++)
		{
			e.a_n++;
			e.a_total += ka[i].c->total_bytes;
			e.a_used += ka[i].c->total_bytes - ka[i].c->free_bytes;
			e.a_nblocks += ka[i].c->nblocks;
		}
		for (; c >= 0 && j < nb && strcmp(kb[j].path, path) == 0; j++)
		{
			e.b_n++;
			e.b_total += kb[j].c->total_bytes;
			e.b_used += kb[j].c->total_bytes - kb[j].c->free_bytes;
			e.b_nblocks += kb[j].c->nblocks;
		}
		e.d_total = (int64_t) (e.b_total - e.a_total);
		e.d_used = (int64_t) (e.b_used - e.a_used);
		if (e.d_total != 0 || e.d_used != 0 || e.a_n != e.b_n || e.a_nblocks != e.b_nblocks)
			d->ctx[d->nctx++] = e;
	}
}

static void
an_diff_families(mcxt_diff *d, const an_fkey *ka, size_t na, const an_fkey *kb, size_t nb)
{
	size_t		i = 0;
	size_t		j = 0;

	while (i < na || j < nb)
	{
		const an_fkey *key;
		mcxt_diff_family e;
		int			c;

		if (i < na && j < nb)
			c = an_cmp_fkey(&ka[i], &kb[j]);
		else
			c = i < na ? -1 : 1;
		key = c <= 0 ? &ka[i] : &kb[j];
		memset(&e, 0, sizeof(e));
		e.context_path = key->path;
		e.chunk_size = key->size;
		e.family = key->family;
		for (; c <= 0 && i < na && an_cmp_fkey(&ka[i], key) == 0; i++)
		{
			e.a_count += ka[i].count;
			e.a_bytes += ka[i].bytes;
		}
		for (; c >= 0 && j < nb && an_cmp_fkey(&kb[j], key) == 0; j++)
		{
			e.b_count += kb[j].count;
			e.b_bytes += kb[j].bytes;
		}
		e.d_count = (int64_t) (e.b_count - e.a_count);
		e.d_bytes = (int64_t) (e.b_bytes - e.a_bytes);
		if (e.d_count != 0)
			d->fam[d->nfam++] = e;
	}
}

mcxt_diff *
mcxt_diff_compute(const mcxt_walk *a, const mcxt_suspects *sa,
				  const mcxt_walk *b, const mcxt_suspects *sb)
{
	mcxt_diff  *d = calloc(1, sizeof(*d));
	an_ckey    *ka = an_ctx_keys(a);
	an_ckey    *kb = an_ctx_keys(b);
	an_fkey    *fa = an_fam_keys(a, sa);
	an_fkey    *fb = an_fam_keys(b, sb);

	if (d == NULL || ka == NULL || kb == NULL || fa == NULL || fb == NULL)
		goto fail;
	d->ctx = calloc(a->nctx + b->nctx + 1, sizeof(*d->ctx));
	d->fam = calloc(sa->n + sb->n + 1, sizeof(*d->fam));
	if (d->ctx == NULL || d->fam == NULL)
		goto fail;
	an_diff_contexts(d, ka, a->nctx, kb, b->nctx);
	an_diff_families(d, fa, sa->n, fb, sb->n);
	mcxt_sort(d->ctx, d->nctx, sizeof(*d->ctx), an_cmp_dctx);
	mcxt_sort(d->fam, d->nfam, sizeof(*d->fam), an_cmp_dfam);
	mcxt_walk_grand_total(a, -1, &d->a_total);
	mcxt_walk_grand_total(b, -1, &d->b_total);
	free(ka);
	free(kb);
	free(fa);
	free(fb);
	return d;
fail:
	free(ka);
	free(kb);
	free(fa);
	free(fb);
	mcxt_diff_free(d);
	return NULL;
}

void
mcxt_diff_free(mcxt_diff *d)
{
	if (d == NULL)
		return;
	free(d->ctx);
	free(d->fam);
	free(d);
}
