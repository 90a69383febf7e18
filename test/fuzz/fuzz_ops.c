/*
 * fuzz_ops.c
 *	  A fuzz target that reads its input as a program of context operations
 *	  and runs it against libmcxt and a simple model side by side.
 *
 * Every byte sequence is a valid program: an opcode byte picks create,
 * alloc, free, realloc, reset, reset-only, reset-children, delete,
 * reparent, check or limit, and the following bytes its operands (which
 * context, which chunk, what size).  Limits are subtree limits
 * (mcxt_set_limit) with a soft limit the program crosses and a hard limit
 * it never reaches, so every block, creation, reparent and delete charges
 * them and mcxt_check verifies that each holds exactly its subtree.  The model tracks which contexts and chunks are
 * alive; every chunk is filled with a pattern derived from its own seed and
 * verified when it is freed, reallocated or reset away, and at the end.  A
 * mismatch, a failed mcxt_check, a library error, or a block left after
 * cleanup aborts, which is what the fuzzer looks for.
 *
 * Built with clang -fsanitize=fuzzer this is a libFuzzer target; built
 * without MCXT_LIBFUZZER it is a replay program (main below) that runs
 * every file named on its command line, or every file in a directory, so
 * `make check` replays the committed corpus with gcc.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcxt.h>

#define MAX_CTX		24
#define MAX_CHUNK	256

typedef struct model_ctx
{
	mcxt_context_t *ctx;
	int			parent;			/* index, -1 for the top */
	bool		alive;
} model_ctx;

typedef struct model_chunk
{
	unsigned char *p;
	size_t		size;
	int			ctx;
	uint8_t		seed;
	bool		alive;
} model_chunk;

static model_ctx ctxs[MAX_CTX];
static model_chunk chunks[MAX_CHUNK];
static uint64_t soft_calls;

static void
soft_cb(mcxt_context_t *ctx, size_t held, size_t soft, void *arg)
{
	(void) ctx;
	(void) arg;
	if (held <= soft)
		abort();				/* a crossing below the soft limit */
	soft_calls++;
}

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_ops: %s\n", what);
	abort();
}

static void
on_error(mcxt_error_t code, mcxt_context_t *ctx, const char *message)
{
	(void) ctx;
	fprintf(stderr, "fuzz_ops: unexpected library error %d: %s\n", (int) code, message);
	abort();
}

/*
 * The pattern of a chunk: byte i is seed + 31 i, which repeats every 256
 * bytes, so fill and verify work in 256-byte blocks (a per-byte loop would
 * spend the fuzzer's time in its own comparison hooks).
 */
static unsigned char patterns[256][256];

static void
init_patterns(void)
{
	for (int s = 0; s < 256; s++)
		for (int i = 0; i < 256; i++)
			patterns[s][i] = (unsigned char) (s + i * 31);
}

static void
fill(model_chunk *c)
{
	for (size_t off = 0; off < c->size; off += 256)
		memcpy(c->p + off, patterns[c->seed], c->size - off < 256 ? c->size - off : 256);
}

static void
verify(const model_chunk *c, size_t upto)
{
	size_t		n = upto < c->size ? upto : c->size;

	for (size_t off = 0; off < n; off += 256)
		if (memcmp(c->p + off, patterns[c->seed], n - off < 256 ? n - off : 256) != 0)
			fuzz_fail("chunk contents changed under us");
}

/* A byte stream reader that yields zeros past the end. */
typedef struct reader
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
} reader;

static unsigned
next_byte(reader *r)
{
	return r->pos < r->len ? r->data[r->pos++] : 0;
}

static size_t
next_size(reader *r)
{
	unsigned	kind = next_byte(r);
	unsigned	v = next_byte(r) | (next_byte(r) << 8);

	if (kind < 200)
		return v % 300;			/* small, the common case */
	if (kind < 250)
		return v % 9000;		/* around the chunk limits */
	return 8192 + (size_t) (v % 4096) * 8;	/* large: a block of its own */
}

static bool
in_subtree(int idx, int root)
{
	for (int i = idx; i >= 0; i = ctxs[i].parent)
		if (i == root)
			return true;
	return false;
}

/* Forget (after verifying) every chunk of the contexts in root's subtree. */
static void
drop_chunks(int root, bool include_root)
{
	for (int i = 0; i < MAX_CHUNK; i++)
	{
		if (!chunks[i].alive)
			continue;
		if (in_subtree(chunks[i].ctx, root) && (include_root || chunks[i].ctx != root))
		{
			verify(&chunks[i], chunks[i].size);
			chunks[i].alive = false;
		}
	}
}

static void
drop_contexts(int root, bool include_root)
{
	for (int i = 0; i < MAX_CTX; i++)
		if (ctxs[i].alive && in_subtree(i, root) && (include_root || i != root))
			ctxs[i].alive = false;
}

static int
pick_ctx(reader *r)
{
	int			start = (int) (next_byte(r) % MAX_CTX);

	for (int k = 0; k < MAX_CTX; k++)
	{
		int			i = (start + k) % MAX_CTX;

		if (ctxs[i].alive)
			return i;
	}
	return 0;					/* slot 0, the root of everything, never dies */
}

static int
pick_chunk(reader *r)
{
	int			start = (int) (next_byte(r) % MAX_CHUNK);

	for (int k = 0; k < MAX_CHUNK; k++)
	{
		int			i = (start + k) % MAX_CHUNK;

		if (chunks[i].alive)
			return i;
	}
	return -1;
}

static int
free_slot_ctx(void)
{
	for (int i = 1; i < MAX_CTX; i++)
		if (!ctxs[i].alive)
			return i;
	return -1;
}

static int
free_slot_chunk(void)
{
	for (int i = 0; i < MAX_CHUNK; i++)
		if (!chunks[i].alive)
			return i;
	return -1;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	reader		r = {data, len, 0};
	mcxt_block_stats_t bs;
	uint8_t		seed = 1;

	if (patterns[1][0] == 0)
		init_patterns();
	mcxt_set_error_handler(on_error);
	memset(ctxs, 0, sizeof(ctxs));
	memset(chunks, 0, sizeof(chunks));
	ctxs[0].ctx = mcxt_aset_create(mcxt_top(), "fuzz root", MCXT_DEFAULT_SIZES);
	ctxs[0].parent = -1;
	ctxs[0].alive = true;

	while (r.pos < r.len)
	{
		unsigned	op = next_byte(&r) % 12;

		switch (op)
		{
			case 0:				/* create */
				{
					int			slot = free_slot_ctx();
					int			parent = pick_ctx(&r);
					unsigned	kind = next_byte(&r) % 3;

					if (slot < 0)
						break;
					ctxs[slot].ctx = kind == 0
						? mcxt_aset_create(ctxs[parent].ctx, "fuzz", MCXT_DEFAULT_SIZES)
						: kind == 1
						? mcxt_aset_create(ctxs[parent].ctx, "fuzz", MCXT_SMALL_SIZES)
						: mcxt_aset_create(ctxs[parent].ctx, "fuzz", 2048, 2048, 16384);
					ctxs[slot].parent = parent;
					ctxs[slot].alive = true;
					break;
				}
			case 1:				/* alloc */
			case 2:
				{
					int			slot = free_slot_chunk();
					int			c = pick_ctx(&r);
					size_t		size = next_size(&r);

					if (slot < 0)
						break;
					chunks[slot].p = mcxt_alloc(ctxs[c].ctx, size);
					chunks[slot].size = size;
					chunks[slot].ctx = c;
					chunks[slot].seed = seed++;
					chunks[slot].alive = true;
					if (mcxt_chunk_context(chunks[slot].p) != ctxs[c].ctx)
						fuzz_fail("chunk reports the wrong context");
					fill(&chunks[slot]);
					break;
				}
			case 3:				/* free */
				{
					int			i = pick_chunk(&r);

					if (i < 0)
						break;
					verify(&chunks[i], chunks[i].size);
					mcxt_free(chunks[i].p);
					chunks[i].alive = false;
					break;
				}
			case 4:				/* realloc: contents up to the smaller size survive */
				{
					int			i = pick_chunk(&r);
					size_t		size = next_size(&r);

					if (i < 0)
						break;
					chunks[i].p = mcxt_realloc(chunks[i].p, size);
					verify(&chunks[i], size);
					chunks[i].size = size;
					fill(&chunks[i]);
					break;
				}
			case 5:				/* reset: chunks and children go */
				{
					int			c = pick_ctx(&r);

					drop_chunks(c, true);
					drop_contexts(c, false);
					mcxt_reset(ctxs[c].ctx);
					break;
				}
			case 6:				/* reset only the context itself */
				{
					int			c = pick_ctx(&r);

					for (int i = 0; i < MAX_CHUNK; i++)
						if (chunks[i].alive && chunks[i].ctx == c)
						{
							verify(&chunks[i], chunks[i].size);
							chunks[i].alive = false;
						}
					mcxt_reset_only(ctxs[c].ctx);
					break;
				}
			case 7:				/* reset the descendants, keep them */
				{
					int			c = pick_ctx(&r);

					drop_chunks(c, false);
					mcxt_reset_children(ctxs[c].ctx);
					break;
				}
			case 8:				/* delete (never slot 0) */
				{
					int			c = pick_ctx(&r);

					if (c == 0)
						break;
					drop_chunks(c, true);
					drop_contexts(c, true);
					mcxt_delete(ctxs[c].ctx);
					break;
				}
			case 9:				/* reparent, when that makes no cycle */
				{
					int			a = pick_ctx(&r);
					int			b = pick_ctx(&r);

					if (a == 0 || in_subtree(b, a))
						break;
					mcxt_set_parent(ctxs[a].ctx, ctxs[b].ctx);
					ctxs[a].parent = b;
					break;
				}
			case 10:			/* the library agrees with itself */
				{
					mcxt_accounting_t acc;

					if (mcxt_check(ctxs[0].ctx) != 0)
						fuzz_fail("mcxt_check found problems");
					mcxt_get_accounting(ctxs[0].ctx, true, &acc);
					if (acc.bytes_alloc - acc.bytes_freed != acc.mem_allocated ||
						acc.mem_allocated != mcxt_mem_allocated(ctxs[0].ctx, true))
						fuzz_fail("accounting does not add up");
					break;
				}
			case 11:			/* set, change or remove a subtree limit */
				{
					int			c = pick_ctx(&r);
					unsigned	b = next_byte(&r);
					mcxt_limit_info_t li;

					if (b < 64)
						(void) mcxt_set_limit(ctxs[c].ctx, 0, 0, NULL, NULL);
					else if (!mcxt_set_limit(ctxs[c].ctx, (size_t) 1 << 30,
											 (size_t) (b & 63) * 8192, soft_cb, NULL))
						fuzz_fail("a 1 GB limit refused");
					if (mcxt_get_limit(ctxs[c].ctx, &li) != (b >= 64) ||
						li.held != mcxt_mem_allocated(ctxs[c].ctx, true))
						fuzz_fail("the limit does not hold its subtree");
					break;
				}
		}
	}

	for (int i = 0; i < MAX_CHUNK; i++)
		if (chunks[i].alive)
			verify(&chunks[i], chunks[i].size);
	if (mcxt_check(ctxs[0].ctx) != 0)
		fuzz_fail("mcxt_check found problems at the end");
	mcxt_delete(ctxs[0].ctx);
	mcxt_thread_cleanup();
	mcxt_block_stats(&bs);
	if (bs.live_blocks != 0)
		fuzz_fail("blocks left after cleanup");
	return 0;
}

#ifndef MCXT_LIBFUZZER
/* Replay: run each file given, or each file in each directory given. */
static int
replay_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL)
	{
		perror(path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t) n : 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		fprintf(stderr, "%s: cannot read\n", path);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t) n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int			nfiles = 0;
	int			errors = 0;

	for (int i = 1; i < argc; i++)
	{
		DIR		   *d = opendir(argv[i]);

		if (d == NULL)
		{
			errors += replay_file(argv[i]);
			nfiles++;
			continue;
		}
		for (struct dirent *e; (e = readdir(d)) != NULL;)
		{
			char		path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			errors += replay_file(path);
			nfiles++;
		}
		closedir(d);
	}
	printf("%d passed, %d failed\n", nfiles - errors, errors);
	return errors != 0 || nfiles == 0;
}
#endif
