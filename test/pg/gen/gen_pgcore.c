/*
 * gen_pgcore.c
 *	  Write a small ELF core of a "PostgreSQL" or "Greenplum" backend whose
 *	  heap holds memory contexts laid out byte for byte as one version's
 *	  structs, plus the companion executable the core names, plus what the
 *	  tool must report about it.
 *
 * Why: PostgreSQL 16, 17, 18 and Greenplum 6, 7 (and builds with
 * --enable-cassert) have no Debian 12 package, so the tool's descriptors for
 * them are checked on images made here (issue 6, test 5).  The generator
 * plays the allocator: it "mallocs" in a fake heap, creates AllocSet,
 * Generation, Slab and Bump contexts the way each version's *ContextCreate
 * does (keeper block after the header, dlists, freelists, external chunks,
 * aligned-redirect chunks, Greenplum 6's gp_malloc size words and shared
 * chunk headers), and keeps its own books of every block and chunk it made.
 * The expected statistics are computed from those books with the formula of
 * each type's stats function, never by reading the image back and never with
 * the tool's code, so the tool and the generator can only agree if the
 * tool's descriptors and walker read the structs as laid out here.  The
 * layout facts used here are the same source facts as in
 * tools/mcxt/layout_pg16.c and layout_gp.c (which cite them), written down
 * independently in this file.
 *
 * Outputs, in DIR:
 *   core            ET_CORE: PT_NOTE (NT_PRSTATUS, NT_PRPSINFO, NT_AUXV with
 *                   AT_ENTRY, NT_FILE naming DIR/postgres), PT_LOADs of the
 *                   executable's data page and of the heap; the executable's
 *                   text/rodata page is left out (as gcore does), so names
 *                   must be read from the file.
 *   postgres        a minimal ET_DYN: .rodata with the version string and the
 *                   context names, a writable page holding TopMemoryContext,
 *                   .dynsym/.dynstr exporting it.
 *   expected.log    the lines pg_log_backend_memory_contexts would log
 *                   ("level: N; name: stats[: ident]", the "N more child
 *                   contexts" summary, "Grand total: ...").
 *   expected.facts  key/value lines: the layout, the grand totals, the
 *                   planted leak (context, chunk size, family, count,
 *                   stride), named counters per context.
 *
 * Usage: gen_pgcore VERSION DIR, VERSION one of pg15-cassert, pg16,
 * pg16-cassert, pg17, pg17-cassert, pg18, pg18-cassert, gp6, gp6-cassert,
 * gp7, gp7-cassert.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen_pgcore.h"

#define MAXALIGN(x)		(((x) + 7) & ~(uint64_t) 7)

/* Where things are in the fake process. */
#define EXE_BIAS		UINT64_C(0x555555400000)
#define EXE_TEXT_SIZE	0x3000	/* ELF header, .rodata (names, version) */
#define EXE_DATA_VADDR	0x3000	/* one writable page */
#define EXE_DATA_SIZE	0x1000
#define EXE_ENTRY		0x100
#define TOPMCXT_VADDR	(EXE_DATA_VADDR + 0x40)	/* the TopMemoryContext variable */
#define HEAP_BASE		UINT64_C(0x555556000000)
#define HEAP_SIZE		(4u << 20)

#define NLEAK			500		/* psprintf("base/%u") chunks in TopMemoryContext */
#define LEAK_DB			16384
#define NINDEX			120		/* "index info" children of CacheMemoryContext */
#define NBUMP			200		/* chunks in the Bump context (17+) */

enum family
{
	FAM_PG16,					/* 16, 17, 18: 8-byte MemoryChunk */
	FAM_PG15,					/* 10-15: AllocChunkData {size, [req], aset} */
	FAM_GP6,					/* 9.4 + Greenplum: {sharedHeader, size, [req]} */
	FAM_GP7						/* 12 + Greenplum accounting */
};

typedef struct genver
{
	const char *key;
	const char *layout;			/* descriptor name, for expected.facts */
	enum family fam;
	int			major;			/* 15..18, or 6/7 for Greenplum */
	bool		cassert;
	const char *version;		/* the executable's version string */
	uint32_t	tag_aset;
	uint32_t	tag_gen;
	uint32_t	tag_slab;
	uint32_t	tag_bump;
} genver;

/*
 * NodeTags: PostgreSQL 15 T_AllocSetContext 223 (offsetof/compile against
 * Debian's PostgreSQL 15 headers, research pgcore.md); 16: 450-452 and 17:
 * 469-472 (libpg_query 16-latest / 17-latest-dev nodetags.h); 18: 474-477
 * (gen_node_support.pl on the 18.3 tree); Greenplum 6: 601 (nodes.h
 * T_MemoryContext = 600); Greenplum 7: 586, Generation 588, Slab 587 (nodes.h, T_CdbMotionPath =
 * 580).
 */
static const genver versions[] = {
	{"pg15-cassert", "pg15-cassert", FAM_PG15, 15, true,
	"PostgreSQL 15.8 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", 223, 0, 0, 0},
	{"pg16", "pg16", FAM_PG16, 16, false,
	"PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", 450, 451, 452, 0},
	{"pg16-cassert", "pg16_cassert", FAM_PG16, 16, true,
	"PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", 450, 451, 452, 0},
	{"pg17", "pg17", FAM_PG16, 17, false,
	"PostgreSQL 17.2 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", 469, 470, 471, 472},
	{"pg17-cassert", "pg17_cassert", FAM_PG16, 17, true,
	"PostgreSQL 17.2 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", 469, 470, 471, 472},
	{"pg18", "pg18", FAM_PG16, 18, false,
	"PostgreSQL 18.1 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", 474, 475, 476, 477},
	{"pg18-cassert", "pg18_cassert", FAM_PG16, 18, true,
	"PostgreSQL 18.1 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", 474, 475, 476, 477},
	{"gp6", "gp6", FAM_GP6, 6, false,
	"PostgreSQL 9.4.26 (Greenplum Database 6.24.3 build commit:585e934) on x86_64-unknown-linux-gnu, compiled by gcc (GCC) 6.4.0, 64-bit compiled on Feb 10 2023", 601, 0, 0, 0},
	{"gp6-cassert", "gp6_cassert", FAM_GP6, 6, true,
	"PostgreSQL 9.4.26 (Greenplum Database 6.24.3 build commit:585e934) on x86_64-unknown-linux-gnu, compiled by gcc (GCC) 6.4.0, 64-bit compiled on Feb 10 2023", 601, 0, 0, 0},
	{"gp7", "gp7", FAM_GP7, 7, false,
	"PostgreSQL 12.12 (Greenplum Database 7.0.0 build commit:2e58915) on x86_64-pc-linux-gnu, compiled by gcc (GCC) 11.3.1, 64-bit compiled on Sep 29 2023", 586, 588, 587, 0},
	{"gp7-cassert", "gp7_cassert", FAM_GP7, 7, true,
	"PostgreSQL 12.12 (Greenplum Database 7.0.0 build commit:2e58915) on x86_64-pc-linux-gnu, compiled by gcc (GCC) 11.3.1, 64-bit compiled on Sep 29 2023", 586, 588, 587, 0},
};

/* ---- the fake process ----------------------------------------------------- */

static const genver *V;
static unsigned char *heap;		/* HEAP_SIZE bytes at HEAP_BASE */
static uint64_t heap_top;		/* next free address */
static unsigned char exe_img[EXE_TEXT_SIZE + EXE_DATA_SIZE];
static uint32_t rodata_top = 0x200;
static char errbuf[256];

static void
fail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static unsigned char *
at(uint64_t addr, uint64_t len)
{
	if (addr >= HEAP_BASE && addr + len <= HEAP_BASE + HEAP_SIZE)
		return heap + (addr - HEAP_BASE);
	if (addr >= EXE_BIAS && addr + len <= EXE_BIAS + sizeof(exe_img))
		return exe_img + (addr - EXE_BIAS);
	fail("gen_pgcore: internal error: address 0x%llx outside the image", (unsigned long long) addr);
	return NULL;
}

static void
w64(uint64_t addr, uint64_t v)
{
	unsigned char *p = at(addr, 8);

	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char) (v >> (8 * i));
}

static void
w32(uint64_t addr, uint32_t v)
{
	unsigned char *p = at(addr, 4);

	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char) (v >> (8 * i));
}

static void
w8(uint64_t addr, unsigned v)
{
	*at(addr, 1) = (unsigned char) v;
}

/* A string literal of the executable's .rodata; returns its address. */
static uint64_t
rostr(const char *s)
{
	size_t		n = strlen(s) + 1;
	uint64_t	a;

	if (rodata_top + n > EXE_TEXT_SIZE)
		fail("gen_pgcore: .rodata full");
	a = EXE_BIAS + rodata_top;
	memcpy(exe_img + rodata_top, s, n);
	rodata_top += (uint32_t) n;
	return a;
}

/*
 * malloc: 16-byte aligned, a glibc-like size word (size | PREV_INUSE) just
 * before, never freed.
 */
static uint64_t
gmalloc(uint64_t size)
{
	uint64_t	p = ((heap_top + 8 + 15) & ~(uint64_t) 15);
	uint64_t	csz = (size + 8 + 15) & ~(uint64_t) 15;

	if (p + size > HEAP_BASE + HEAP_SIZE)
		fail("gen_pgcore: heap full");
	w64(p - 8, csz | 1);
	heap_top = p + size;
	return p;
}

/*
 * Greenplum's gp_malloc (gp_alloc.h): a VmemHeader {[checksum 0x7f7f7f7f in
 * assert builds], size} before the user pointer, and in assert builds a
 * footer checksum 0x5f5f5f5f after it.
 */
static uint64_t
gp_malloc(uint64_t size)
{
	uint64_t	hdr = V->cassert ? 16 : 8;
	uint64_t	raw = gmalloc(hdr + size + (V->cassert ? 8 : 0));
	uint64_t	user = raw + hdr;

	if (V->cassert)
	{
		w64(raw, 0x7f7f7f7f);
		w64(user + size, 0x5f5f5f5f);
	}
	w64(user - 8, size);
	return user;
}

static uint64_t
block_malloc(uint64_t size)
{
	return (V->fam == FAM_GP6 || V->fam == FAM_GP7) ? gp_malloc(size) : gmalloc(size);
}

/* ---- the generator's books ------------------------------------------------ */

enum ctype
{
	CT_ASET,
	CT_GEN,
	CT_SLAB,
	CT_BUMP
};

#define MAXBLK 64

typedef struct gblock
{
	uint64_t	addr;
	uint64_t	size;			/* endptr - addr */
	uint64_t	freeptr;
	uint32_t	nchunks;		/* Generation */
	uint32_t	nfree;			/* Generation, Slab */
} gblock;

typedef struct gctx
{
	uint64_t	addr;
	enum ctype	type;
	const char *name;
	char	   *ident;
	int			parent;
	int			children[NINDEX + 16];	/* creation order */
	int			nchildren;
	/* blocks in list order (head first) */
	gblock		blk[MAXBLK];
	int			nblk;
	/* AllocSet */
	uint64_t	fl_head[11];
	uint64_t	fl_count[11];
	uint64_t	init_size;
	uint64_t	max_size;
	uint64_t	next_size;
	uint64_t	chunk_limit;
	uint64_t	shared_header;	/* Greenplum 6 */
	uint64_t	keeper;			/* the block made with the context, or 0 */
	/* Slab */
	uint64_t	full_chunk;
	uint64_t	block_size;
	uint64_t	per_block;
	int			nempty;
	/* Greenplum 6 lifetime counters, own blocks only (subtree sums at the end) */
	uint64_t	bytes_alloc;
	uint64_t	bytes_freed;
	/* Greenplum 7 accounting */
	uint64_t	local_allocated;
	uint64_t	mem_allocated;
	/* Greenplum 7's (PostgreSQL 12's) Generation and Slab */
	uint64_t	cur_block;		/* GenerationContext.block */
	uint64_t	header_size;	/* SlabContext.headerSize */
} gctx;

static gctx *ctxs;
static int	nctx;

uint64_t	gen_palloc(int ci, uint64_t size);
static uint64_t block_of(gctx *c, uint64_t addr);

/* Sizes and offsets of this version (see the header comments of layout_*.c). */
static uint64_t
chunk_hdr(void)
{
	switch (V->fam)
	{
		case FAM_PG16:
			return V->cassert ? 16 : 8;
		default:
			return V->cassert ? 24 : 16;
	}
}

static uint64_t
aset_ctx_size(void)
{
	switch (V->fam)
	{
		case FAM_PG16:
			return V->major == 16 ? 224 : 200;
		case FAM_PG15:
			return 224;
		case FAM_GP7:
			return 256;
		case FAM_GP6:
			return V->cassert ? 320 : 312;
	}
	return 0;
}

static uint64_t
aset_blk_hdr(void)
{
	return V->fam == FAM_GP6 ? 32 : 40;
}

/* bytes AllocSetStats counts for the context itself */
static uint64_t
aset_stats_hdr(void)
{
	return V->fam == FAM_GP6 ? 0 : aset_ctx_size();
}

/* MemoryContextData field offsets */
static unsigned gp6d(void)
{
	return V->cassert ? 8 : 0;
}
#define OFF_PARENT		(V->fam == FAM_GP6 ? 88 + gp6d() : 24)
#define OFF_FIRSTCHILD	(V->fam == FAM_GP6 ? 96 + gp6d() : 32)
#define OFF_PREVCHILD	40		/* not in Greenplum 6 */
#define OFF_NEXTCHILD	(V->fam == FAM_GP6 ? 104 + gp6d() : 48)
#define OFF_NAME		(V->fam == FAM_GP6 ? 112 + gp6d() : 56)
#define OFF_IDENT		64		/* not in Greenplum 6 */
#define OFF_ASET_BLOCKS	(V->fam == FAM_GP6 ? 160 + gp6d() : 80)
#define OFF_ASET_FL		(V->fam == FAM_GP6 ? 168 + gp6d() : 88)

static uint64_t
fake_methods(void)
{
	/* the methods table lives in the executable; any address in it will do */
	return EXE_BIAS + 0x180;
}

/* ---- contexts: the common header ------------------------------------------- */

static void
ctx_header(gctx *c, uint32_t tag)
{
	uint64_t	a = c->addr;

	w32(a, tag);
	if (V->fam == FAM_GP6)
	{
		for (int i = 0; i < (V->cassert ? 11 : 10); i++)
			w64(a + 8 + 8 * i, fake_methods() + 8 * i);
		w8(a + 120 + gp6d(), 1);	/* isReset */
	}
	else
	{
		w8(a + 4, 1);			/* isReset */
		w64(a + 16, fake_methods());
	}
}

/*
 * Name: a literal of the executable (PostgreSQL: names must be compile-time
 * constants) or, in Greenplum 6, a copy right after the node.
 */
static void
ctx_name(gctx *c, uint64_t node_size)
{
	if (V->fam == FAM_GP6)
	{
		uint64_t	n = c->addr + node_size;

		memcpy(at(n, strlen(c->name) + 1), c->name, strlen(c->name) + 1);
		w64(c->addr + OFF_NAME, n);
	}
	else
		w64(c->addr + OFF_NAME, rostr(c->name));
}

/* Link c as the newest child of its parent (MemoryContextCreate). */
static void
ctx_link(int ci)
{
	gctx	   *c = &ctxs[ci];
	gctx	   *p;
	uint64_t	old;

	if (c->parent < 0)
		return;
	p = &ctxs[c->parent];
	old = 0;
	{
		unsigned char *q = at(p->addr + OFF_FIRSTCHILD, 8);

		for (int i = 7; i >= 0; i--)
			old = (old << 8) | q[i];
	}
	w64(c->addr + OFF_PARENT, p->addr);
	w64(c->addr + OFF_NEXTCHILD, old);
	if (old && V->fam != FAM_GP6)
		w64(old + OFF_PREVCHILD, c->addr);
	w64(p->addr + OFF_FIRSTCHILD, c->addr);
	p->children[p->nchildren++] = ci;
}

static int
new_ctx(enum ctype t, int parent, const char *name)
{
	gctx	   *c;

	if (parent >= 0 && ctxs[parent].nchildren >= NINDEX + 16)
		fail("gen_pgcore: too many children");
	c = &ctxs[nctx];
	memset(c, 0, sizeof(*c));
	c->type = t;
	c->parent = parent;
	c->name = name;
	return nctx++;
}

/* ---- AllocSet ------------------------------------------------------------- */

static int
free_index(uint64_t size)
{
	int			i = 0;

	while ((UINT64_C(8) << i) < size)
		i++;
	return i;
}

/* write a chunk header for a chunk at ch (header start) in block blk */
static void
aset_chunk_header(gctx *c, uint64_t ch, uint64_t blk, uint64_t chunk_size, uint64_t req,
				  bool external, int fidx)
{
	unsigned	bits = V->major == 16 ? 3 : 4;

	switch (V->fam)
	{
		case FAM_PG16:
			{
				uint64_t	h;
				uint64_t	m = ch + (V->cassert ? 8 : 0);

				if (external)
					h = (UINT64_C(0xB1A8DB858EB6EFBA) >> (bits + 1) << (bits + 1)) |
						(UINT64_C(1) << bits) | 3;
				else
					h = ((ch - blk) << 34) | ((uint64_t) fidx << (bits + 1)) | 3;
				w64(m, h);
				if (V->cassert)
					w64(ch, req);
				break;
			}
		case FAM_PG15:
		case FAM_GP7:
			w64(ch, chunk_size);
			if (V->cassert)
				w64(ch + 8, req);
			w64(ch + chunk_hdr() - 8, c->addr);
			break;
		case FAM_GP6:
			w64(ch, c->shared_header);
			w64(ch + 8, chunk_size);
			if (V->cassert)
				w64(ch + 16, req);
			break;
	}
}

/* where a free chunk's freelist link is, and what marks it free */
static void
aset_push_free(gctx *c, uint64_t ch, int fidx)
{
	uint64_t	link = (V->fam == FAM_PG16) ? ch + chunk_hdr()
		: (V->fam == FAM_GP6) ? ch : ch + chunk_hdr() - 8;

	w64(link, c->fl_head[fidx]);
	c->fl_head[fidx] = ch;
	c->fl_count[fidx]++;
	if (V->cassert)
		w64(V->fam == FAM_GP6 ? ch + 16 : (V->fam == FAM_PG16 ? ch : ch + 8),
			V->fam == FAM_PG16 ? UINT64_MAX : 0);
	w64(c->addr + OFF_ASET_FL + 8 * fidx, c->fl_head[fidx]);
}

static void
aset_write_blocks(gctx *c)
{
	for (int i = 0; i < c->nblk; i++)
	{
		gblock	   *b = &c->blk[i];

		w64(b->addr, c->addr);
		w64(b->addr + 8, i > 0 ? c->blk[i - 1].addr : 0);
		w64(b->addr + 16, i + 1 < c->nblk ? c->blk[i + 1].addr : 0);
		w64(b->addr + 24, b->freeptr);
		if (V->fam != FAM_GP6)
			w64(b->addr + 32, b->addr + b->size);
	}
	w64(c->addr + OFF_ASET_BLOCKS, c->nblk ? c->blk[0].addr : 0);
}

static void
blk_insert(gctx *c, int pos, gblock b)
{
	if (c->nblk >= MAXBLK)
		fail("gen_pgcore: too many blocks");
	memmove(&c->blk[pos + 1], &c->blk[pos], (size_t) (c->nblk - pos) * sizeof(gblock));
	c->blk[pos] = b;
	c->nblk++;
}

static void
aset_params(gctx *c)
{
	uint64_t	a = c->addr;

	if (V->fam == FAM_GP6)
	{
		uint64_t	d = gp6d();

		w64(a + 256 + d, c->init_size);
		w64(a + 264 + d, c->max_size);
		w64(a + 272 + d, c->next_size);
		w64(a + 280 + d, c->chunk_limit);
		w64(a + 296 + d, c->shared_header);
	}
	else if (V->fam == FAM_PG16 && V->major >= 17)
	{
		w32(a + 176, (uint32_t) c->init_size);
		w32(a + 180, (uint32_t) c->max_size);
		w32(a + 184, (uint32_t) c->next_size);
		w32(a + 188, (uint32_t) c->chunk_limit);
		w32(a + 192, (uint32_t) -1);
	}
	else
	{
		w64(a + 176, c->init_size);
		w64(a + 184, c->max_size);
		w64(a + 192, c->next_size);
		w64(a + 200, c->chunk_limit);
		w64(a + 208, c->keeper);
		w32(a + 216, (uint32_t) -1);
	}
	if (V->fam == FAM_GP7)
	{
		w64(a + 8, c->mem_allocated);
		w64(a + 224, c->addr);	/* accountingParent: itself */
		w64(a + 232, c->local_allocated);
		w64(a + 240, c->local_allocated);
		w64(a + 248, c->local_allocated + 4096);
	}
	else if (V->fam != FAM_GP6)
		w64(a + 8, c->mem_allocated);
}

static int
aset_create(int parent, const char *name, uint64_t init, uint64_t max)
{
	int			ci = new_ctx(CT_ASET, parent, name);
	gctx	   *c = &ctxs[ci];
	uint64_t	hdr = aset_ctx_size();

	c->init_size = init;
	c->max_size = max;
	c->next_size = init;
	/* allocChunkLimit: halve 8192 while limit + chdr > (max - blkhdr) / 4 */
	c->chunk_limit = 8192;
	while (c->chunk_limit + chunk_hdr() > (max - aset_blk_hdr()) / 4)
		c->chunk_limit >>= 1;
	if (V->fam == FAM_GP6)
	{
		/* MemoryContextCreate: the node (and its name) in TopMemoryContext */
		uint64_t	need = hdr + strlen(name) + 1;

		c->addr = parent >= 0 ? gen_palloc(0, need) : gmalloc(need);
		memset(at(c->addr, hdr), 0, hdr);
		/* a SharedChunkHeader {context, memoryAccountId, balance, prev, next} */
		c->shared_header = gmalloc(40);
		w64(c->shared_header, c->addr);
		w64(c->shared_header + 8, 10 + (uint64_t) ci);
		ctx_header(c, V->tag_aset);
		ctx_name(c, hdr);
	}
	else
	{
		/* header and keeper block in one malloc */
		uint64_t	first = hdr + aset_blk_hdr() + chunk_hdr();
		gblock		b = {0};

		if (first < init)
			first = init;
		c->addr = block_malloc(first);
		memset(at(c->addr, first), 0, first);
		b.addr = c->addr + hdr;
		b.size = first - hdr;
		b.freeptr = b.addr + aset_blk_hdr();
		blk_insert(c, 0, b);
		c->keeper = b.addr;
		c->mem_allocated = first;
		ctx_header(c, V->tag_aset);
		ctx_name(c, 0);
	}
	ctx_link(ci);
	aset_write_blocks(c);
	aset_params(c);
	return ci;
}

/* AllocSetAlloc; returns the user pointer. */
uint64_t
gen_palloc(int ci, uint64_t size)
{
	gctx	   *c = &ctxs[ci];
	uint64_t	chdr = chunk_hdr();
	uint64_t	ch;
	int			fidx;
	uint64_t	csize;
	gblock	   *b;

	if (size > c->chunk_limit)
	{
		/* a dedicated block, second in the list */
		gblock		nb = {0};

		csize = (V->fam == FAM_PG16 && V->cassert) ? MAXALIGN(size + 1) : MAXALIGN(size);
		nb.size = csize + aset_blk_hdr() + chdr;
		nb.addr = block_malloc(nb.size);
		nb.freeptr = nb.addr + nb.size;
		blk_insert(c, c->nblk > 0 ? 1 : 0, nb);
		c->mem_allocated += nb.size;
		c->bytes_alloc += nb.size;
		c->local_allocated += csize;
		ch = nb.addr + aset_blk_hdr();
		aset_chunk_header(c, ch, nb.addr, csize, size, true, -1);
		aset_write_blocks(c);
		aset_params(c);
		return ch + chdr;
	}
	fidx = free_index(size);
	csize = UINT64_C(8) << fidx;
	c->local_allocated += csize;
	if (c->fl_head[fidx])
	{
		/* reuse from the freelist: its link is read back from our own image */
		uint64_t	link = (V->fam == FAM_PG16) ? c->fl_head[fidx] + chdr
			: (V->fam == FAM_GP6) ? c->fl_head[fidx] : c->fl_head[fidx] + chdr - 8;
		uint64_t	next = 0;
		unsigned char *q = at(link, 8);

		for (int i = 7; i >= 0; i--)
			next = (next << 8) | q[i];
		ch = c->fl_head[fidx];
		c->fl_head[fidx] = next;
		c->fl_count[fidx]--;
		w64(c->addr + OFF_ASET_FL + 8 * fidx, next);
		aset_chunk_header(c, ch, block_of(c, ch), csize, size, false, fidx);
		return ch + chdr;
	}
	b = c->nblk ? &c->blk[0] : NULL;
	if (b == NULL || b->addr + b->size - b->freeptr < csize + chdr)
	{
		gblock		nb = {0};

		/* carve what is left of the active block into freelist chunks */
		while (b && b->addr + b->size - b->freeptr >= 8 + chdr)
		{
			uint64_t	avail = b->addr + b->size - b->freeptr - chdr;
			int			a = free_index(avail);

			if ((UINT64_C(8) << a) != avail)
				a--;
			ch = b->freeptr;
			b->freeptr += (UINT64_C(8) << a) + chdr;
			aset_chunk_header(c, ch, b->addr, UINT64_C(8) << a, 0, false, a);
			aset_push_free(c, ch, a);
		}
		nb.size = c->next_size;
		c->next_size = c->next_size * 2 > c->max_size ? c->max_size : c->next_size * 2;
		while (nb.size < csize + aset_blk_hdr() + chdr)
			nb.size *= 2;
		nb.addr = block_malloc(nb.size);
		nb.freeptr = nb.addr + aset_blk_hdr();
		blk_insert(c, 0, nb);
		c->mem_allocated += nb.size;
		c->bytes_alloc += nb.size;
		b = &c->blk[0];
	}
	ch = b->freeptr;
	b->freeptr += csize + chdr;
	aset_chunk_header(c, ch, b->addr, csize, size, false, fidx);
	aset_write_blocks(c);
	aset_params(c);
	return ch + chdr;
}

static uint64_t
block_of(gctx *c, uint64_t addr)
{
	for (int i = 0; i < c->nblk; i++)
		if (addr >= c->blk[i].addr && addr < c->blk[i].addr + c->blk[i].size)
			return c->blk[i].addr;
	fail("gen_pgcore: chunk outside its context");
	return 0;
}

/* AllocSetFree of a small chunk */
static void
gen_pfree(int ci, uint64_t ptr)
{
	gctx	   *c = &ctxs[ci];
	uint64_t	ch = ptr - chunk_hdr();
	int			fidx = -1;

	if (V->fam == FAM_PG16)
	{
		unsigned	bits = V->major == 16 ? 3 : 4;
		uint64_t	h = 0;
		unsigned char *q = at(ch + (V->cassert ? 8 : 0), 8);

		for (int i = 7; i >= 0; i--)
			h = (h << 8) | q[i];
		fidx = (int) ((h >> (bits + 1)) & 0x3FFFFFFF);
	}
	else
	{
		uint64_t	s = 0;
		unsigned char *q = at(V->fam == FAM_GP6 ? ch + 8 : ch, 8);

		for (int i = 7; i >= 0; i--)
			s = (s << 8) | q[i];
		fidx = free_index(s);
	}
	c->local_allocated -= UINT64_C(8) << fidx;
	aset_push_free(c, ch, fidx);
	aset_params(c);
}

static void
aset_counters(const gctx *c, gen_counters *k)
{
	uint64_t	chdr = chunk_hdr();

	k->total = aset_stats_hdr();
	for (int i = 0; i < c->nblk; i++)
	{
		k->total += c->blk[i].size;
		k->free += c->blk[i].addr + c->blk[i].size - c->blk[i].freeptr;
	}
	k->nblocks = (uint64_t) c->nblk;
	for (int i = 0; i < 11; i++)
	{
		k->free += c->fl_count[i] * ((UINT64_C(8) << i) + chdr);
		k->free_chunks += c->fl_count[i];
	}
}

/* ---- dlists ---------------------------------------------------------------- */

/* Write a circular dlist: head node at head, members' nodes at nodes[0..n). */
static void
dlist_write(uint64_t head, const uint64_t *nodes, int n)
{
	if (n == 0)
	{
		w64(head, head);
		w64(head + 8, head);
		return;
	}
	w64(head + 8, nodes[0]);
	w64(head, nodes[n - 1]);
	for (int i = 0; i < n; i++)
	{
		w64(nodes[i], i > 0 ? nodes[i - 1] : head);
		w64(nodes[i] + 8, i + 1 < n ? nodes[i + 1] : head);
	}
}

/* ---- Generation (16+) -------------------------------------------------------- */

static uint64_t
gen_ctx_size(void)
{
	if (V->fam == FAM_GP7)
		return 112;				/* PostgreSQL 12's GenerationContext, see below */
	return V->major == 16 ? 152 : 128;
}

static void
gen_write(gctx *c)
{
	uint64_t	nodes[MAXBLK];
	uint64_t	head = c->addr + (V->major == 16 ? 136 : 112);

	for (int i = 0; i < c->nblk; i++)
	{
		gblock	   *b = &c->blk[i];

		nodes[i] = b->addr;
		w64(b->addr + 16, c->addr);
		w64(b->addr + 24, b->size);
		w32(b->addr + 32, b->nchunks);
		w32(b->addr + 36, b->nfree);
		w64(b->addr + 40, b->freeptr);
		w64(b->addr + 48, b->addr + b->size);
	}
	dlist_write(head, nodes, c->nblk);
	if (V->major == 16)
	{
		w64(c->addr + 80, c->init_size);
		w64(c->addr + 88, c->max_size);
		w64(c->addr + 96, c->next_size);
		w64(c->addr + 104, c->chunk_limit);
		w64(c->addr + 112, c->blk[0].addr);
		w64(c->addr + 128, c->keeper);
	}
	else
	{
		w32(c->addr + 80, (uint32_t) c->init_size);
		w32(c->addr + 84, (uint32_t) c->max_size);
		w32(c->addr + 88, (uint32_t) c->next_size);
		w32(c->addr + 92, (uint32_t) c->chunk_limit);
		w64(c->addr + 96, c->blk[0].addr);
	}
	w64(c->addr + 8, c->mem_allocated);
}

static int
gen_create(int parent, const char *name, uint64_t init, uint64_t max)
{
	int			ci = new_ctx(CT_GEN, parent, name);
	gctx	   *c = &ctxs[ci];
	uint64_t	first = gen_ctx_size() + 56 + chunk_hdr();
	gblock		b = {0};

	if (first < init)
		first = init;
	c->init_size = init;
	c->max_size = max;
	c->next_size = init;
	c->chunk_limit = max / 8 < 8192 ? max / 8 : 8192;
	c->addr = gmalloc(first);
	memset(at(c->addr, first), 0, first);
	b.addr = c->addr + gen_ctx_size();
	b.size = first - gen_ctx_size();
	b.freeptr = b.addr + 56;
	b.nchunks = b.nfree = 0;
	blk_insert(c, 0, b);
	c->keeper = b.addr;
	c->mem_allocated = first;
	ctx_header(c, V->tag_gen);
	ctx_name(c, 0);
	ctx_link(ci);
	gen_write(c);
	return ci;
}

/* GenerationAlloc of a small chunk; free: pfree it at once (nfree++) */
static uint64_t
gen_alloc(int ci, uint64_t size, bool free_it)
{
	gctx	   *c = &ctxs[ci];
	uint64_t	chdr = chunk_hdr();
	uint64_t	csize = V->cassert ? MAXALIGN(size + 1) : MAXALIGN(size);
	unsigned	bits = V->major == 16 ? 3 : 4;
	gblock	   *b = &c->blk[0];
	uint64_t	ch;

	if (b->addr + b->size - b->freeptr < csize + chdr)
	{
		gblock		nb = {0};

		nb.size = c->next_size;
		c->next_size = c->next_size * 2 > c->max_size ? c->max_size : c->next_size * 2;
		while (nb.size < csize + chdr + 56)
			nb.size *= 2;
		nb.addr = gmalloc(nb.size);
		nb.freeptr = nb.addr + 56;
		nb.nchunks = nb.nfree = 0;
		blk_insert(c, 0, nb);
		c->mem_allocated += nb.size;
		b = &c->blk[0];
	}
	ch = b->freeptr;
	b->freeptr += csize + chdr;
	b->nchunks++;
	w64(ch + (V->cassert ? 8 : 0), ((ch - b->addr) << 34) | (csize << (bits + 1)) | 4);
	if (V->cassert)
		w64(ch, free_it ? UINT64_MAX : size);
	if (free_it)
		b->nfree++;
	gen_write(c);
	return ch + chdr;
}

/* ---- Slab (16+) -------------------------------------------------------------- */

static int
slab_create(int parent, const char *name, uint64_t block_size, uint64_t chunk_size,
			int nfull, int partial_used, int nempty)
{
	int			ci = new_ctx(CT_SLAB, parent, name);
	gctx	   *c = &ctxs[ci];
	bool		wide = V->major == 16;
	uint64_t	ctxsz = wide ? (V->cassert ? 200 : 192) : (V->cassert ? 192 : 176);
	uint64_t	hdrsz;
	uint64_t	empty_at = wide ? (V->cassert ? 128 : 120) : (V->cassert ? 120 : 104);
	uint64_t	lists_at = wide ? (V->cassert ? 152 : 144) : (V->cassert ? 144 : 128);
	uint64_t	nodes[3][MAXBLK];
	int			nn[3] = {0, 0, 0};
	uint64_t	enodes[MAXBLK];
	int			ne = 0;
	unsigned	bits = V->major == 16 ? 3 : 4;

	/*
	 * 18's SlabContextCreate (and 17's comment) reserve a sentinel byte in
	 * checking builds; 16's is not in our copy: taken the same (the tool
	 * reads fullChunkSize from the context either way).
	 */
	c->full_chunk = chunk_hdr() + (V->cassert ? MAXALIGN(chunk_size + 1) : MAXALIGN(chunk_size));
	c->per_block = (block_size - 48) / c->full_chunk;
	c->block_size = block_size;
	hdrsz = ctxsz + (V->cassert ? c->per_block : 0);
	c->addr = gmalloc(hdrsz);
	memset(at(c->addr, hdrsz), 0, hdrsz);
	ctx_header(c, V->tag_slab);
	ctx_name(c, 0);
	ctx_link(ci);
	if (wide)
	{
		w64(c->addr + 80, chunk_size);
		w64(c->addr + 88, c->full_chunk);
		w64(c->addr + 96, block_size);
		w32(c->addr + 104, (uint32_t) c->per_block);
	}
	else
	{
		w32(c->addr + 80, (uint32_t) chunk_size);
		w32(c->addr + 84, (uint32_t) c->full_chunk);
		w32(c->addr + 88, (uint32_t) block_size);
		w32(c->addr + 92, (uint32_t) c->per_block);
	}
	if (V->cassert)
		w64(c->addr + (wide ? 112 : 104), c->addr + ctxsz);	/* isChunkFree */
	/* full blocks in blocklist[0], the partial one in [1], empties in emptyblocks */
	for (int i = 0; i < nfull + 1 + nempty; i++)
	{
		gblock		b = {0};
		int			used = i < nfull ? (int) c->per_block : i == nfull ? partial_used : 0;
		int			list = i < nfull ? 0 : 1;

		b.addr = gmalloc(block_size);
		memset(at(b.addr, block_size), 0, block_size);
		b.size = block_size;
		b.nfree = (uint32_t) (c->per_block - (uint64_t) used);
		b.freeptr = b.addr + 48 + (uint64_t) used * c->full_chunk;
		w64(b.addr, c->addr);
		w32(b.addr + 8, b.nfree);
		w32(b.addr + 12, b.nfree);	/* nunused: nothing freed back yet */
		w64(b.addr + 16, 0);		/* freehead */
		w64(b.addr + 24, used < (int) c->per_block ? b.freeptr : 0);
		for (int k = 0; k < used; k++)
		{
			uint64_t	ch = b.addr + 48 + (uint64_t) k * c->full_chunk;

			w64(ch + (V->cassert ? 8 : 0),
				((ch - b.addr) << 34) | (MAXALIGN(chunk_size) << (bits + 1)) | 5);
			if (V->cassert)
				w64(ch, chunk_size);
		}
		if (i < nfull + 1)
		{
			nodes[list][nn[list]++] = b.addr + 32;
			blk_insert(c, c->nblk, b);
		}
		else
		{
			enodes[ne++] = b.addr + 32;
			c->nempty++;
		}
	}
	for (int l = 0; l < 3; l++)
		dlist_write(c->addr + lists_at + 16 * (uint64_t) l, nodes[l], nn[l]);
	dlist_write(c->addr + empty_at, enodes, ne);
	w32(c->addr + empty_at + 16, (uint32_t) ne);
	w64(c->addr + 8, hdrsz + (uint64_t) (nfull + 1 + nempty) * block_size);
	return ci;
}

/* ---- Generation and Slab of Greenplum 7 (PostgreSQL 12's) ------------------------ */

/*
 * Greenplum 7's generation.c and slab.c are PostgreSQL 12's, after its
 * 80-byte MemoryContextData (greenplum-db/gpdb-archive @2e58915), and
 * malloc their context and blocks.  GenerationContext {header, blockSize
 * @80, block @88, dlist_head blocks @96}, 112 bytes; GenerationBlock
 * {node, blksize @16, nchunks @24, nfree @28, freeptr @32, endptr @40}, 48
 * bytes; GenerationChunk {size, [requested_size,] block, context}.
 * mem_allocated counts the blocks, not the context header.
 */
#define GP7_GEN_BLKHDR	48

static void
gp7_gen_write(gctx *c)
{
	uint64_t	nodes[MAXBLK];

	for (int i = 0; i < c->nblk; i++)
	{
		gblock	   *b = &c->blk[i];

		nodes[i] = b->addr;
		w64(b->addr + 16, b->size);
		w32(b->addr + 24, b->nchunks);
		w32(b->addr + 28, b->nfree);
		w64(b->addr + 32, b->freeptr);
		w64(b->addr + 40, b->addr + b->size);
	}
	dlist_write(c->addr + 96, nodes, c->nblk);
	w64(c->addr + 80, c->block_size);
	w64(c->addr + 88, c->cur_block);
	w64(c->addr + 8, c->mem_allocated);
}

static int
gp7_gen_create(int parent, const char *name, uint64_t block_size)
{
	int			ci = new_ctx(CT_GEN, parent, name);
	gctx	   *c = &ctxs[ci];

	c->block_size = block_size;
	c->addr = gmalloc(112);
	memset(at(c->addr, 112), 0, 112);
	ctx_header(c, V->tag_gen);
	ctx_name(c, 0);
	ctx_link(ci);
	gp7_gen_write(c);
	return ci;
}

/*
 * GenerationAlloc: a chunk over blockSize / 8 in a full block of its own,
 * else in the current block or a new blockSize one; both pushed at the
 * head of the list.  free: pfree it at once (never the whole block).
 */
static uint64_t
gp7_gen_alloc(int ci, uint64_t size, bool free_it)
{
	gctx	   *c = &ctxs[ci];
	uint64_t	chdr = V->cassert ? 32 : 24;
	uint64_t	csize = MAXALIGN(size);
	gblock	   *b = NULL;
	uint64_t	ch;

	if (csize > c->block_size / 8)
	{
		gblock		nb = {0};

		nb.size = csize + GP7_GEN_BLKHDR + chdr;
		nb.addr = gmalloc(nb.size);
		nb.freeptr = nb.addr + nb.size;
		nb.nchunks = 1;
		blk_insert(c, 0, nb);
		c->mem_allocated += nb.size;
		b = &c->blk[0];
		ch = b->addr + GP7_GEN_BLKHDR;
		free_it = false;		/* its block would go with it */
	}
	else
	{
		for (int i = 0; i < c->nblk; i++)
			if (c->blk[i].addr == c->cur_block)
				b = &c->blk[i];
		if (b == NULL || b->addr + b->size - b->freeptr < chdr + csize)
		{
			gblock		nb = {0};

			nb.size = c->block_size;
			nb.addr = gmalloc(nb.size);
			nb.freeptr = nb.addr + GP7_GEN_BLKHDR;
			blk_insert(c, 0, nb);
			c->mem_allocated += nb.size;
			c->cur_block = nb.addr;
			b = &c->blk[0];
		}
		ch = b->freeptr;
		b->freeptr += chdr + csize;
		b->nchunks++;
	}
	w64(ch, csize);
	if (V->cassert)
		w64(ch + 8, free_it ? 0 : size);
	w64(ch + chdr - 16, b->addr);
	w64(ch + chdr - 8, free_it ? 0 : c->addr);
	memset(at(ch + chdr, csize), 'G', size);
	if (free_it)
		b->nfree++;
	gp7_gen_write(c);
	return ch + chdr;
}

/*
 * SlabContextCreate and SlabAlloc: SlabContext {header, chunkSize @80,
 * fullChunkSize @88, blockSize @96, headerSize @104, chunksPerBlock @112,
 * minFreeChunks @116, nblocks @120, [freechunks @128,] freelist[cpb + 1]
 * @128 (@136)}, one malloc of headerSize (with a bool per slot in checking
 * builds); SlabBlock {node, nfree @16, firstFreeChunk @20}, 24 bytes; slots
 * {block, slab} + MAXALIGN(chunkSize), a free one holding the index of the
 * next.  nfull full blocks on freelist[0] and one with partial_used slots
 * used on freelist[free]; mem_allocated counts the blocks only.
 */
static int
gp7_slab_create(int parent, const char *name, uint64_t block_size, uint64_t chunk_size,
				int nfull, int partial_used)
{
	int			ci = new_ctx(CT_SLAB, parent, name);
	gctx	   *c = &ctxs[ci];
	uint64_t	lists_at = V->cassert ? 136 : 128;
	uint64_t	nodes[MAXBLK];
	int			partial_free;

	c->full_chunk = 16 + MAXALIGN(chunk_size);
	c->per_block = (block_size - 24) / c->full_chunk;
	c->block_size = block_size;
	c->header_size = lists_at + 16 * (c->per_block + 1) + (V->cassert ? c->per_block : 0);
	partial_free = (int) c->per_block - partial_used;
	if (nfull + 1 > MAXBLK || partial_free <= 0 || partial_used <= 0)
		fail("gen_pgcore: bad slab shape");
	c->addr = gmalloc(c->header_size);
	memset(at(c->addr, c->header_size), 0, c->header_size);
	ctx_header(c, V->tag_slab);
	ctx_name(c, 0);
	ctx_link(ci);
	w64(c->addr + 80, chunk_size);
	w64(c->addr + 88, c->full_chunk);
	w64(c->addr + 96, block_size);
	w64(c->addr + 104, c->header_size);
	w32(c->addr + 112, (uint32_t) c->per_block);
	w32(c->addr + 116, (uint32_t) partial_free);	/* minFreeChunks */
	w32(c->addr + 120, (uint32_t) (nfull + 1));
	if (V->cassert)
		w64(c->addr + 128, c->addr + lists_at + 16 * (c->per_block + 1));
	for (int i = 0; i < nfull + 1; i++)
	{
		gblock		b = {0};
		int			used = i < nfull ? (int) c->per_block : partial_used;

		b.addr = gmalloc(block_size);
		memset(at(b.addr, block_size), 0, block_size);
		b.size = block_size;
		b.nfree = (uint32_t) (c->per_block - (uint64_t) used);
		w32(b.addr + 16, b.nfree);
		w32(b.addr + 20, (uint32_t) used);	/* firstFreeChunk */
		for (int k = 0; k < (int) c->per_block; k++)
		{
			uint64_t	ch = b.addr + 24 + (uint64_t) k * c->full_chunk;

			if (k < used)
			{
				w64(ch, b.addr);
				w64(ch + 8, c->addr);
				memset(at(ch + 16, chunk_size), 'S', chunk_size);
			}
			else
				w32(ch + 16, (uint32_t) (k + 1));
		}
		blk_insert(c, c->nblk, b);
		c->mem_allocated += block_size;
	}
	/* freelist[k]: the blocks with k free slots, dlist_init'ed when empty */
	for (uint64_t k = 0; k <= c->per_block; k++)
	{
		int			n = 0;

		for (int i = 0; i < c->nblk; i++)
			if (c->blk[i].nfree == k)
				nodes[n++] = c->blk[i].addr;
		dlist_write(c->addr + lists_at + 16 * k, nodes, n);
	}
	w64(c->addr + 8, c->mem_allocated);
	return ci;
}

/* ---- Bump (17+) --------------------------------------------------------------- */

static void
bump_write(gctx *c)
{
	uint64_t	nodes[MAXBLK];
	unsigned	fp = V->cassert ? 24 : 16;

	for (int i = 0; i < c->nblk; i++)
	{
		nodes[i] = c->blk[i].addr;
		if (V->cassert)
			w64(c->blk[i].addr + 16, c->addr);
		w64(c->blk[i].addr + fp, c->blk[i].freeptr);
		w64(c->blk[i].addr + fp + 8, c->blk[i].addr + c->blk[i].size);
	}
	dlist_write(c->addr + 96, nodes, c->nblk);
	w32(c->addr + 80, (uint32_t) c->init_size);
	w32(c->addr + 84, (uint32_t) c->max_size);
	w32(c->addr + 88, (uint32_t) c->next_size);
	w32(c->addr + 92, (uint32_t) c->chunk_limit);
	w64(c->addr + 8, c->mem_allocated);
}

static int
bump_create(int parent, const char *name, uint64_t init, uint64_t max)
{
	int			ci = new_ctx(CT_BUMP, parent, name);
	gctx	   *c = &ctxs[ci];
	uint64_t	bh = V->cassert ? 40 : 32;
	uint64_t	first = 112 + bh + (V->cassert ? 16 : 0);
	gblock		b = {0};

	if (first < init)
		first = init;
	c->init_size = init;
	c->max_size = max;
	c->next_size = init;
	c->chunk_limit = max / 8 < 8192 ? max / 8 : 8192;
	c->addr = gmalloc(first);
	memset(at(c->addr, first), 0, first);
	b.addr = c->addr + 112;
	b.size = first - 112;
	b.freeptr = b.addr + bh;
	blk_insert(c, 0, b);
	c->mem_allocated = first;
	ctx_header(c, V->tag_bump);
	ctx_name(c, 0);
	ctx_link(ci);
	bump_write(c);
	return ci;
}

static void
bump_alloc(int ci, uint64_t size)
{
	gctx	   *c = &ctxs[ci];
	uint64_t	bh = V->cassert ? 40 : 32;
	uint64_t	chdr = V->cassert ? 16 : 0;
	uint64_t	csize = V->cassert ? MAXALIGN(size + 1) : MAXALIGN(size);
	gblock	   *b = &c->blk[0];
	uint64_t	ch;

	if (b->addr + b->size - b->freeptr < csize + chdr)
	{
		gblock		nb = {0};

		nb.size = c->next_size;
		c->next_size = c->next_size * 2 > c->max_size ? c->max_size : c->next_size * 2;
		while (nb.size < csize + chdr + bh)
			nb.size *= 2;
		nb.addr = gmalloc(nb.size);
		nb.freeptr = nb.addr + bh;
		blk_insert(c, 0, nb);
		c->mem_allocated += nb.size;
		b = &c->blk[0];
	}
	ch = b->freeptr;
	b->freeptr += csize + chdr;
	if (V->cassert)
	{
		w64(ch, size);
		w64(ch + 8, ((ch - b->addr) << 34) | (csize << 5) | 7);
	}
	memset(at(ch + chdr, csize), 'T', size);
	bump_write(c);
}

/* ---- counters ------------------------------------------------------------------ */

static void
counters_of(const gctx *c, gen_counters *k)
{
	memset(k, 0, sizeof(*k));
	switch (c->type)
	{
		case CT_ASET:
			aset_counters(c, k);
			break;
		case CT_GEN:
			/* GenerationStats */
			k->total = gen_ctx_size();
			for (int i = 0; i < c->nblk; i++)
			{
				k->total += c->blk[i].size;
				k->free += c->blk[i].addr + c->blk[i].size - c->blk[i].freeptr;
				k->free_chunks += c->blk[i].nfree;
				k->nchunks += c->blk[i].nchunks;
			}
			k->nblocks = (uint64_t) c->nblk;
			break;
		case CT_SLAB:
			if (V->fam == FAM_GP7)
			{
				/* PostgreSQL 12's SlabStats: headerSize + the blocks on the lists */
				k->total = c->header_size;
				for (int i = 0; i < c->nblk; i++)
				{
					k->total += c->block_size;
					k->free += c->full_chunk * c->blk[i].nfree;
					k->free_chunks += c->blk[i].nfree;
				}
				k->nblocks = (uint64_t) c->nblk;
				break;
			}
			/* SlabStats (16+) */
			{
				bool		wide = V->major == 16;
				uint64_t	ctxsz = wide ? (V->cassert ? 200 : 192) : (V->cassert ? 192 : 176);

				k->total = ctxsz + (V->cassert ? c->per_block : 0) +
					(uint64_t) c->nempty * c->block_size;
				for (int i = 0; i < c->nblk; i++)
				{
					k->total += c->block_size;
					k->free += c->full_chunk * c->blk[i].nfree;
					k->free_chunks += c->blk[i].nfree;
				}
				k->nblocks = (uint64_t) c->nblk;
				k->nempty = (uint64_t) c->nempty;
			}
			break;
		case CT_BUMP:
			/* BumpStats: no header, no chunk counts */
			for (int i = 0; i < c->nblk; i++)
			{
				k->total += c->blk[i].size;
				k->free += c->blk[i].addr + c->blk[i].size - c->blk[i].freeptr;
			}
			k->nblocks = (uint64_t) c->nblk;
			break;
	}
}

/* ---- building the tree ------------------------------------------------------------ */

static uint64_t
gen_strdup(int ci, const char *s)
{
	uint64_t	p = gen_palloc(ci, strlen(s) + 1);

	memcpy(at(p, strlen(s) + 1), s, strlen(s) + 1);
	return p;
}

static void
set_ident(int ci, const char *s)
{
	if (V->fam == FAM_GP6)
		return;					/* no ident in 9.4 */
	ctxs[ci].ident = strdup(s);
	w64(ctxs[ci].addr + OFF_IDENT, gen_strdup(ci, s));
}

static void
fill(uint64_t ptr, uint64_t len, uint64_t seed)
{
	unsigned char *p = at(ptr, len);

	for (uint64_t i = 0; i < len; i++)
		p[i] = (unsigned char) ((seed * 131 + i * 7) & 0xff);
}

static void
build_tree(void)
{
	int			top;
	int			err,
				msg,
				cache,
				hash,
				plan;
	uint64_t	keep[64];
	char		buf[256];
	bool		pg16 = V->fam == FAM_PG16;

	/* TopMemoryContext: ALLOCSET_DEFAULT_SIZES (mcxt.c MemoryContextInit) */
	top = aset_create(-1, "TopMemoryContext", 8192, 8 * 1024 * 1024);
	w64(EXE_BIAS + TOPMCXT_VADDR, ctxs[top].addr);

	/* some ordinary allocations, a few freed, interleaved with the leak */
	for (int i = 0; i < 40; i++)
	{
		keep[i] = gen_palloc(top, 24 + (uint64_t) (i % 5) * 40);
		fill(keep[i], 24, (uint64_t) i);
	}
	for (int i = 0; i < 40; i += 4)
		gen_pfree(top, keep[i]);
	for (int i = 0; i < NLEAK; i++)
	{
		/* psprintf("base/%u", MyDatabaseId): a 128-byte first try that fits */
		uint64_t	p = gen_palloc(top, 128);

		snprintf(buf, sizeof(buf), "base/%u", LEAK_DB);
		memset(at(p, 128), 0, 128);
		memcpy(at(p, strlen(buf) + 1), buf, strlen(buf) + 1);
		if (i == NLEAK / 2)
			gen_palloc(top, 20000);	/* an external chunk mid-way */
	}

	/* ErrorContext: 8 KB fixed (mcxt.c), untouched */
	err = aset_create(top, "ErrorContext", 8192, 8192);
	(void) err;

	/* MessageContext with chunks, freed chunks, and an aligned allocation */
	msg = aset_create(top, "MessageContext", 8192, 8 * 1024 * 1024);
	for (int i = 0; i < 30; i++)
		keep[i] = gen_palloc(msg, 16 + (uint64_t) i * 9);
	for (int i = 1; i < 30; i += 3)
		gen_pfree(msg, keep[i]);
	if (pg16)
	{
		/*
		 * palloc_aligned(100, 64) (mcxt.c MemoryContextAllocAligned): the
		 * chunk is over-allocated and a redirect MemoryChunk (method id 6,
		 * value = alignto, block offset back to the real chunk) sits before
		 * the aligned pointer, inside the real chunk's user area.
		 */
		uint64_t	mc = chunk_hdr();
		uint64_t	unaligned = gen_palloc(msg, 100 + 64 + mc - 8);
		uint64_t	aligned = (unaligned + mc + 63) & ~(uint64_t) 63;
		uint64_t	redirect = aligned - mc;
		unsigned	bits = V->major == 16 ? 3 : 4;

		w64(redirect + (V->cassert ? 8 : 0),
			((redirect - (unaligned - mc)) << 34) | (UINT64_C(64) << (bits + 1)) | 6);
		if (V->cassert)
			w64(redirect, 100);
	}

	/* CacheMemoryContext and its many "index info" children */
	cache = aset_create(top, "CacheMemoryContext", 8192, 8 * 1024 * 1024);
	for (int i = 0; i < 50; i++)
		gen_palloc(cache, 200 + (uint64_t) (i % 7) * 100);
	for (int i = 0; i < NINDEX; i++)
	{
		/* ALLOCSET_SMALL_SIZES, MemoryContextCopyAndSetIdentifier */
		int			ix = aset_create(cache, "index info", 1024, 8192);

		snprintf(buf, sizeof(buf), "t%d_pkey", i);
		set_ident(ix, buf);
		gen_palloc(ix, 256 + (uint64_t) (i % 3) * 64);
		if (i == 0)
		{
			/* a grandchild inside the summarised children (17+ count it) */
			int			ex = aset_create(ix, "index expressions", 1024, 8192);

			gen_palloc(ex, 100);
		}
	}

	/* a hash table's context: shown by its ident */
	hash = aset_create(top, "dynahash", 8192, 8 * 1024 * 1024);
	set_ident(hash, "Portal hash");
	for (int i = 0; i < 10; i++)
		gen_palloc(hash, 64);

	/* a plan source whose ident (query text) is long and has newlines */
	plan = aset_create(cache, "CachedPlanSource", 1024, 8 * 1024 * 1024);
	set_ident(plan, "SELECT relname,\n\trelkind\tFROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
			  "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1");

	if (pg16)
	{
		int			sort = aset_create(top, "TupleSort main", 32768, 8 * 1024 * 1024);
		int			gen = gen_create(sort, "Caller tuples", 8192, 8 * 1024 * 1024);
		int			slab;

		for (int i = 0; i < 300; i++)
			gen_alloc(gen, 40 + (uint64_t) (i % 4) * 8, i % 7 == 0);
		slab = slab_create(top, "Change", 8192, 80, 2, 17, 1);
		(void) slab;
		if (V->major >= 17)
		{
			int			bump = bump_create(sort, "Tuple data", 8192, 8 * 1024 * 1024);

			for (int i = 0; i < NBUMP; i++)
				bump_alloc(bump, 30 + (uint64_t) (i % 3) * 10);
		}
	}
	else if (V->fam == FAM_GP7)
	{
		/* a tuplesort's Generation and a logical decoding Slab (both 12's) */
		int			sort = aset_create(top, "TupleSort main", 32768, 8 * 1024 * 1024);
		int			gen = gp7_gen_create(sort, "Caller tuples", 8192);

		for (int i = 0; i < 300; i++)
		{
			gp7_gen_alloc(gen, 40 + (uint64_t) (i % 4) * 8, i % 7 == 0);
			if (i == 150)
				gp7_gen_alloc(gen, 3000, false);	/* over blockSize / 8 */
		}
		gp7_slab_create(top, "Change", 8192, 80, 2, 17);
	}
}

/* ---- outputs ------------------------------------------------------------------------ */

typedef struct outbuf
{
	char	   *s;
	size_t		len;
	size_t		cap;
} outbuf;

static void
ob_printf(outbuf *o, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (o->len + (size_t) n + 1 > o->cap)
	{
		o->cap = (o->len + (size_t) n + 1) * 2;
		o->s = realloc(o->s, o->cap);
		if (o->s == NULL)
			fail("gen_pgcore: out of memory");
	}
	va_start(ap, fmt);
	vsnprintf(o->s + o->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t) n;
}

static void
stats_string(const gctx *c, const gen_counters *k, outbuf *o)
{
	switch (c->type)
	{
		case CT_ASET:
			ob_printf(o, "%llu total in %llu blocks; %llu free (%llu chunks); %llu used",
					  (unsigned long long) k->total, (unsigned long long) k->nblocks,
					  (unsigned long long) k->free, (unsigned long long) k->free_chunks,
					  (unsigned long long) (k->total - k->free));
			break;
		case CT_GEN:
			ob_printf(o, "%llu total in %llu blocks (%llu chunks); %llu free (%llu chunks); %llu used",
					  (unsigned long long) k->total, (unsigned long long) k->nblocks,
					  (unsigned long long) k->nchunks, (unsigned long long) k->free,
					  (unsigned long long) k->free_chunks,
					  (unsigned long long) (k->total - k->free));
			break;
		case CT_SLAB:
			if (V->fam == FAM_GP7)
			{
				/* PostgreSQL 12's SlabStats line: no empty blocks */
				ob_printf(o, "%llu total in %llu blocks; %llu free (%llu chunks); %llu used",
						  (unsigned long long) k->total, (unsigned long long) k->nblocks,
						  (unsigned long long) k->free, (unsigned long long) k->free_chunks,
						  (unsigned long long) (k->total - k->free));
				break;
			}
			ob_printf(o, "%llu total in %llu blocks; %llu empty blocks; %llu free (%llu chunks); %llu used",
					  (unsigned long long) k->total, (unsigned long long) k->nblocks,
					  (unsigned long long) k->nempty, (unsigned long long) k->free,
					  (unsigned long long) k->free_chunks,
					  (unsigned long long) (k->total - k->free));
			break;
		case CT_BUMP:
			ob_printf(o, "%llu total in %llu blocks; %llu free; %llu used",
					  (unsigned long long) k->total, (unsigned long long) k->nblocks,
					  (unsigned long long) k->free, (unsigned long long) (k->total - k->free));
			break;
	}
}

static void
add_counters(gen_counters *sum, const gen_counters *k)
{
	sum->total += k->total;
	sum->nblocks += k->nblocks;
	sum->free += k->free;
	sum->free_chunks += k->free_chunks;
}

/* sums the subtree's counters; returns how many contexts it has */
static int
subtree_counters(int ci, gen_counters *sum)
{
	gen_counters k;
	int			n = 1;

	counters_of(&ctxs[ci], &k);
	add_counters(sum, &k);
	for (int i = 0; i < ctxs[ci].nchildren; i++)
		n += subtree_counters(ctxs[ci].children[i], sum);
	return n;
}

/*
 * MemoryContextStatsPrint / MemoryContextStatsInternal with max_children
 * 100 (pg_log_backend_memory_contexts): children newest first, a dynahash
 * context named by its ident, idents clipped at 100 bytes with control
 * characters as spaces, the excess children summarised at the parent's
 * level (from 17 the count is of every context in their subtrees,
 * MemoryContextTraverseNext; before, of the children), levels from 1 in 18
 * (MemoryContextStatsDetail), from 0 before.
 */
static void
log_context(int ci, int level, outbuf *o, gen_counters *grand)
{
	const gctx *c = &ctxs[ci];
	gen_counters k;
	const char *name = c->name;
	const char *ident = c->ident;
	int			shown = 0;
	gen_counters rest;
	int			nrest = 0;

	counters_of(c, &k);
	add_counters(grand, &k);
	if (ident && strcmp(name, "dynahash") == 0)
	{
		name = ident;
		ident = NULL;
	}
	ob_printf(o, "level: %d; %s: ", level, name);
	stats_string(c, &k, o);
	if (ident)
	{
		size_t		n = strlen(ident);

		ob_printf(o, ": ");
		for (size_t i = 0; i < n && i < 100; i++)
			ob_printf(o, "%c", (unsigned char) ident[i] < ' ' ? ' ' : ident[i]);
		if (n > 100)
			ob_printf(o, "...");
	}
	ob_printf(o, "\n");
	memset(&rest, 0, sizeof(rest));
	for (int i = c->nchildren - 1; i >= 0; i--)
	{
		if (shown < 100)
		{
			log_context(c->children[i], level + 1, o, grand);
			shown++;
		}
		else
		{
			int			n = subtree_counters(c->children[i], &rest);

			nrest += (V->fam == FAM_PG16 && V->major >= 17) ? n : 1;
		}
	}
	if (nrest > 0)
	{
		add_counters(grand, &rest);
		ob_printf(o, "level: %d; %d more child contexts containing %llu total in %llu blocks; %llu free (%llu chunks); %llu used\n",
				  level, nrest, (unsigned long long) rest.total,
				  (unsigned long long) rest.nblocks, (unsigned long long) rest.free,
				  (unsigned long long) rest.free_chunks,
				  (unsigned long long) (rest.total - rest.free));
	}
}

/* Greenplum 6: lifetime counters of a context and all its descendants */
static void
gp6_subtree_bytes(int ci, uint64_t *alloc, uint64_t *freed)
{
	*alloc += ctxs[ci].bytes_alloc;
	*freed += ctxs[ci].bytes_freed;
	for (int i = 0; i < ctxs[ci].nchildren; i++)
		gp6_subtree_bytes(ctxs[ci].children[i], alloc, freed);
}

static void
gp6_accounting(void)
{
	/* planted: a quarter of what each context ever took was given back */
	for (int ci = 0; ci < nctx; ci++)
		ctxs[ci].bytes_freed = ctxs[ci].bytes_alloc / 4;
	for (int ci = 0; ci < nctx; ci++)
	{
		uint64_t	a = 0;
		uint64_t	f = 0;
		uint64_t	d = gp6d();

		gp6_subtree_bytes(ci, &a, &f);
		w64(ctxs[ci].addr + 128 + d, a);
		w64(ctxs[ci].addr + 136 + d, f);
		w64(ctxs[ci].addr + 144 + d, a - f + 8192);
		w64(ctxs[ci].addr + 152 + d, a - f);
	}
}

/* ---- ELF writing ------------------------------------------------------------------------ */

static void
put(FILE *f, const void *p, size_t n, const char *path)
{
	if (fwrite(p, 1, n, f) != n)
		fail("gen_pgcore: writing %s: %s", path, strerror(errno));
}

static void
pad_to(FILE *f, long off, const char *path)
{
	static const unsigned char zero[4096];

	while (ftell(f) < off)
	{
		long		n = off - ftell(f);

		put(f, zero, (size_t) (n > 4096 ? 4096 : n), path);
	}
}

static void
write_exe(const char *path)
{
	FILE	   *f = fopen(path, "wb");
	Elf64_Ehdr	eh;
	Elf64_Phdr	ph[2];
	Elf64_Shdr	sh[6];
	Elf64_Sym	sym[2];
	static const char dynstr[] = "\0TopMemoryContext";
	static const char shstr[] = "\0.rodata\0.data\0.dynsym\0.dynstr\0.shstrtab";
	long		off_dynsym = EXE_TEXT_SIZE + EXE_DATA_SIZE;
	long		off_dynstr = off_dynsym + (long) sizeof(sym);
	long		off_shstr = off_dynstr + (long) sizeof(dynstr);
	long		off_sh = (off_shstr + (long) sizeof(shstr) + 7) & ~7L;

	if (f == NULL)
		fail("gen_pgcore: %s: %s", path, strerror(errno));
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = EXE_ENTRY;
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = (Elf64_Off) off_sh;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 6;
	eh.e_shstrndx = 5;
	memset(ph, 0, sizeof(ph));
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R | PF_X;
	ph[0].p_offset = 0;
	ph[0].p_vaddr = ph[0].p_paddr = 0;
	ph[0].p_filesz = ph[0].p_memsz = EXE_TEXT_SIZE;
	ph[0].p_align = 0x1000;
	ph[1].p_type = PT_LOAD;
	ph[1].p_flags = PF_R | PF_W;
	ph[1].p_offset = EXE_DATA_VADDR;
	ph[1].p_vaddr = ph[1].p_paddr = EXE_DATA_VADDR;
	ph[1].p_filesz = ph[1].p_memsz = EXE_DATA_SIZE;
	ph[1].p_align = 0x1000;
	memset(sh, 0, sizeof(sh));
	sh[1].sh_name = 1;			/* .rodata */
	sh[1].sh_type = SHT_PROGBITS;
	sh[1].sh_flags = SHF_ALLOC;
	sh[1].sh_addr = 0x200;
	sh[1].sh_offset = 0x200;
	sh[1].sh_size = EXE_TEXT_SIZE - 0x200;
	sh[2].sh_name = 9;			/* .data */
	sh[2].sh_type = SHT_PROGBITS;
	sh[2].sh_flags = SHF_ALLOC | SHF_WRITE;
	sh[2].sh_addr = EXE_DATA_VADDR;
	sh[2].sh_offset = EXE_DATA_VADDR;
	sh[2].sh_size = EXE_DATA_SIZE;
	sh[3].sh_name = 15;			/* .dynsym */
	sh[3].sh_type = SHT_DYNSYM;
	sh[3].sh_offset = (Elf64_Off) off_dynsym;
	sh[3].sh_size = sizeof(sym);
	sh[3].sh_entsize = sizeof(Elf64_Sym);
	sh[3].sh_link = 4;
	sh[3].sh_info = 1;
	sh[4].sh_name = 23;			/* .dynstr */
	sh[4].sh_type = SHT_STRTAB;
	sh[4].sh_offset = (Elf64_Off) off_dynstr;
	sh[4].sh_size = sizeof(dynstr);
	sh[5].sh_name = 31;			/* .shstrtab */
	sh[5].sh_type = SHT_STRTAB;
	sh[5].sh_offset = (Elf64_Off) off_shstr;
	sh[5].sh_size = sizeof(shstr);
	memset(sym, 0, sizeof(sym));
	sym[1].st_name = 1;
	sym[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
	sym[1].st_shndx = 2;
	sym[1].st_value = TOPMCXT_VADDR;
	sym[1].st_size = 8;
	/* the file's bytes: headers, then .rodata as built, .data all zero */
	memcpy(exe_img, &eh, sizeof(eh));
	memcpy(exe_img + sizeof(eh), ph, sizeof(ph));
	{
		unsigned char data_page[EXE_DATA_SIZE];

		memset(data_page, 0, sizeof(data_page));
		put(f, exe_img, EXE_TEXT_SIZE, path);
		put(f, data_page, sizeof(data_page), path);
	}
	put(f, sym, sizeof(sym), path);
	put(f, dynstr, sizeof(dynstr), path);
	put(f, shstr, sizeof(shstr), path);
	pad_to(f, off_sh, path);
	put(f, sh, sizeof(sh), path);
	if (fclose(f) != 0)
		fail("gen_pgcore: %s: %s", path, strerror(errno));
}

static void
note(outbuf *o, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t	namesz = (uint32_t) strlen(name) + 1;
	static const char zero[8];

	ob_printf(o, "%s", "");		/* ensure allocated */
	{
		uint32_t	hdr[3] = {namesz, descsz, type};
		size_t		need = o->len + 12 + 8 + namesz + descsz + 8;

		if (need > o->cap)
		{
			o->cap = need * 2;
			o->s = realloc(o->s, o->cap);
			if (o->s == NULL)
				fail("gen_pgcore: out of memory");
		}
		memcpy(o->s + o->len, hdr, 12);
		o->len += 12;
		memcpy(o->s + o->len, name, namesz);
		o->len += namesz;
		memcpy(o->s + o->len, zero, (4 - namesz % 4) % 4);
		o->len += (4 - namesz % 4) % 4;
		memcpy(o->s + o->len, desc, descsz);
		o->len += descsz;
		memcpy(o->s + o->len, zero, (4 - descsz % 4) % 4);
		o->len += (4 - descsz % 4) % 4;
	}
}

static void
write_core(const char *path, const char *exe_path)
{
	FILE	   *f = fopen(path, "wb");
	outbuf		notes = {0};
	unsigned char prstatus[336];
	unsigned char prpsinfo[136];
	uint64_t	auxv[4] = {AT_ENTRY, EXE_BIAS + EXE_ENTRY, AT_NULL, 0};
	outbuf		nt_file = {0};
	uint64_t	heap_len = ((heap_top - HEAP_BASE) + 0xfff) & ~(uint64_t) 0xfff;
	Elf64_Ehdr	eh;
	Elf64_Phdr	ph[3];
	long		off;

	if (f == NULL)
		fail("gen_pgcore: %s: %s", path, strerror(errno));
	memset(prstatus, 0, sizeof(prstatus));
	prstatus[32] = 0x39;		/* pr_pid 12345 */
	prstatus[33] = 0x30;
	memset(prpsinfo, 0, sizeof(prpsinfo));
	prpsinfo[24] = 0x39;
	prpsinfo[25] = 0x30;
	memcpy(prpsinfo + 40, "postgres", 8);
	snprintf((char *) prpsinfo + 56, 80, "postgres: gen %s [local] idle", V->key);
	{
		/* NT_FILE: count, page size, {start, end, page offset}..., names */
		uint64_t	hdr[2] = {2, 0x1000};
		uint64_t	ent[6] = {EXE_BIAS, EXE_BIAS + EXE_TEXT_SIZE, 0,
		EXE_BIAS + EXE_DATA_VADDR, EXE_BIAS + EXE_DATA_VADDR + EXE_DATA_SIZE, EXE_DATA_VADDR / 0x1000};

		ob_printf(&nt_file, "%s", "");
		nt_file.len = 0;
		if (nt_file.cap < 4096)
		{
			nt_file.s = realloc(nt_file.s, 4096);
			nt_file.cap = 4096;
		}
		memcpy(nt_file.s, hdr, sizeof(hdr));
		memcpy(nt_file.s + sizeof(hdr), ent, sizeof(ent));
		nt_file.len = sizeof(hdr) + sizeof(ent);
		if (nt_file.len + 2 * (strlen(exe_path) + 1) > nt_file.cap)
			fail("gen_pgcore: executable path too long");
		memcpy(nt_file.s + nt_file.len, exe_path, strlen(exe_path) + 1);
		nt_file.len += strlen(exe_path) + 1;
		memcpy(nt_file.s + nt_file.len, exe_path, strlen(exe_path) + 1);
		nt_file.len += strlen(exe_path) + 1;
	}
	note(&notes, "CORE", NT_PRSTATUS, prstatus, sizeof(prstatus));
	note(&notes, "CORE", NT_PRPSINFO, prpsinfo, sizeof(prpsinfo));
	note(&notes, "CORE", NT_AUXV, auxv, sizeof(auxv));
	note(&notes, "CORE", 0x46494c45, nt_file.s, (uint32_t) nt_file.len);

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	memset(ph, 0, sizeof(ph));
	off = (long) (sizeof(eh) + sizeof(ph));
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = (Elf64_Off) off;
	ph[0].p_filesz = notes.len;
	ph[0].p_align = 4;
	off = (off + (long) notes.len + 0xfff) & ~0xfffL;
	/* the executable's data page: TopMemoryContext's value */
	ph[1].p_type = PT_LOAD;
	ph[1].p_flags = PF_R | PF_W;
	ph[1].p_offset = (Elf64_Off) off;
	ph[1].p_vaddr = EXE_BIAS + EXE_DATA_VADDR;
	ph[1].p_filesz = ph[1].p_memsz = EXE_DATA_SIZE;
	ph[1].p_align = 0x1000;
	off += EXE_DATA_SIZE;
	ph[2].p_type = PT_LOAD;
	ph[2].p_flags = PF_R | PF_W;
	ph[2].p_offset = (Elf64_Off) off;
	ph[2].p_vaddr = HEAP_BASE;
	ph[2].p_filesz = ph[2].p_memsz = heap_len;
	ph[2].p_align = 0x1000;
	put(f, &eh, sizeof(eh), path);
	put(f, ph, sizeof(ph), path);
	put(f, notes.s, notes.len, path);
	pad_to(f, (long) ph[1].p_offset, path);
	put(f, exe_img + EXE_TEXT_SIZE, EXE_DATA_SIZE, path);
	put(f, heap, heap_len, path);
	if (fclose(f) != 0)
		fail("gen_pgcore: %s: %s", path, strerror(errno));
	free(notes.s);
	free(nt_file.s);
}

/* ---- the public entry ------------------------------------------------------------------ */

const char *
gen_pgcore_versions(size_t i)
{
	return i < sizeof(versions) / sizeof(versions[0]) ? versions[i].key : NULL;
}

int
gen_pgcore_write(const char *version, const char *dir, gen_expect *ex)
{
	char		path[PATH_MAX + 32];
	char		exe[PATH_MAX + 32];
	char		absdir[PATH_MAX];
	outbuf		log = {0};
	outbuf		facts = {0};
	gen_counters grand;
	FILE	   *f;

	V = NULL;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(versions[i].key, version) == 0)
			V = &versions[i];
	if (V == NULL)
	{
		snprintf(errbuf, sizeof(errbuf), "unknown version %s", version);
		fprintf(stderr, "gen_pgcore: %s\n", errbuf);
		return -1;
	}
	/* mkdir -p */
	snprintf(path, sizeof(path), "%s", dir);
	for (char *sl = strchr(path + 1, '/');; sl = strchr(sl + 1, '/'))
	{
		if (sl)
			*sl = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST)
			fail("gen_pgcore: %s: %s", path, strerror(errno));
		if (sl == NULL)
			break;
		*sl = '/';
	}
	if (realpath(dir, absdir) == NULL)
		fail("gen_pgcore: %s: %s", dir, strerror(errno));
	heap = calloc(1, HEAP_SIZE);
	ctxs = calloc(NINDEX + 32, sizeof(gctx));
	if (heap == NULL || ctxs == NULL)
		fail("gen_pgcore: out of memory");
	heap_top = HEAP_BASE + 0x100;
	nctx = 0;
	memset(exe_img, 0, sizeof(exe_img));
	rodata_top = 0x200;
	rostr(V->version);
	build_tree();
	for (int ci = 0; ci < nctx; ci++)
		if (ctxs[ci].type == CT_ASET)
			aset_params(&ctxs[ci]);	/* the final values of every field */
	if (V->fam == FAM_GP6)
		gp6_accounting();

	memset(&grand, 0, sizeof(grand));
	log_context(0, (V->fam == FAM_PG16 && V->major >= 18) ? 1 : 0, &log, &grand);
	ob_printf(&log, "Grand total: %llu bytes in %llu blocks; %llu free (%llu chunks); %llu used\n",
			  (unsigned long long) grand.total, (unsigned long long) grand.nblocks,
			  (unsigned long long) grand.free, (unsigned long long) grand.free_chunks,
			  (unsigned long long) (grand.total - grand.free));

	ob_printf(&facts, "version %s\nlayout %s\ncassert %d\ncontexts %d\n", V->key, V->layout,
			  V->cassert ? 1 : 0, nctx);
	ob_printf(&facts, "grand_total %llu %llu %llu %llu\n", (unsigned long long) grand.total,
			  (unsigned long long) grand.nblocks, (unsigned long long) grand.free,
			  (unsigned long long) grand.free_chunks);
	ob_printf(&facts, "leak TopMemoryContext 128 base/%%u %d %llu\n", NLEAK,
			  (unsigned long long) (128 + chunk_hdr()));
	if (V->fam == FAM_PG16 && V->major >= 17 && V->cassert)
		ob_printf(&facts, "walked_chunks Tuple data %d\n", NBUMP);	/* checking builds' Bump headers */
	if (V->fam == FAM_GP7)
	{
		/* the Generation context's chunks are walked: its live ones */
		for (int ci = 0; ci < nctx; ci++)
			if (ctxs[ci].type == CT_GEN)
			{
				uint64_t	live = 0;

				for (int i = 0; i < ctxs[ci].nblk; i++)
					live += ctxs[ci].blk[i].nchunks - ctxs[ci].blk[i].nfree;
				ob_printf(&facts, "walked_chunks %s %llu\n", ctxs[ci].name,
						  (unsigned long long) live);
			}
	}
	if (V->fam == FAM_GP6)
	{
		for (int ci = 0; ci < nctx; ci++)
		{
			uint64_t	a = 0;
			uint64_t	fr = 0;

			gp6_subtree_bytes(ci, &a, &fr);
			ob_printf(&facts, "acct 0x%llx allBytesAlloc=%llu allBytesFreed=%llu maxBytesHeld=%llu\n",
					  (unsigned long long) ctxs[ci].addr, (unsigned long long) a, (unsigned long long) fr,
					  (unsigned long long) (a - fr + 8192));
		}
	}
	if (V->fam == FAM_GP7)
		for (int ci = 0; ci < nctx; ci++)
		{
			if (ctxs[ci].type != CT_ASET)
			{
				/* Generation and Slab have the common header's counter only */
				ob_printf(&facts, "acct 0x%llx mem_allocated=%llu\n",
						  (unsigned long long) ctxs[ci].addr,
						  (unsigned long long) ctxs[ci].mem_allocated);
				ob_printf(&facts, "absent 0x%llx localAllocated currentAllocated peakAllocated\n",
						  (unsigned long long) ctxs[ci].addr);
				continue;
			}
			ob_printf(&facts, "acct 0x%llx mem_allocated=%llu localAllocated=%llu currentAllocated=%llu peakAllocated=%llu\n",
					  (unsigned long long) ctxs[ci].addr, (unsigned long long) ctxs[ci].mem_allocated,
					  (unsigned long long) ctxs[ci].local_allocated,
					  (unsigned long long) ctxs[ci].local_allocated,
					  (unsigned long long) (ctxs[ci].local_allocated + 4096));
		}

	snprintf(exe, sizeof(exe), "%s/postgres", absdir);
	write_exe(exe);
	snprintf(path, sizeof(path), "%s/core", absdir);
	write_core(path, exe);
	snprintf(path, sizeof(path), "%s/expected.log", absdir);
	if ((f = fopen(path, "w")) == NULL || fwrite(log.s, 1, log.len, f) != log.len || fclose(f) != 0)
		fail("gen_pgcore: %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/expected.facts", absdir);
	if ((f = fopen(path, "w")) == NULL || fwrite(facts.s, 1, facts.len, f) != facts.len || fclose(f) != 0)
		fail("gen_pgcore: %s: %s", path, strerror(errno));

	if (ex)
	{
		memset(ex, 0, sizeof(*ex));
		ex->log = log.s;
		ex->grand = grand;
		ex->nctx = nctx;
		ex->leak_count = NLEAK;
		ex->leak_stride = 128 + chunk_hdr();
		ex->cassert = V->cassert;
		log.s = NULL;
	}
	free(log.s);
	free(facts.s);
	for (int ci = 0; ci < nctx; ci++)
		free(ctxs[ci].ident);
	free(ctxs);
	free(heap);
	return 0;
}

#ifndef GEN_PGCORE_NO_MAIN
int
main(int argc, char **argv)
{
	if (argc != 3)
	{
		fprintf(stderr, "usage: gen_pgcore VERSION DIR\nversions:");
		for (size_t i = 0; gen_pgcore_versions(i); i++)
			fprintf(stderr, " %s", gen_pgcore_versions(i));
		fprintf(stderr, "\n");
		return 2;
	}
	return gen_pgcore_write(argv[1], argv[2], NULL) == 0 ? 0 : 2;
}
#endif
