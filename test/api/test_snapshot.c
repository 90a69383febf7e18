/*
 * test_snapshot.c
 *	  Snapshots and the diff between two: a program with a planted slow
 *	  leak (one context that keeps a known number of chunks of a known size
 *	  per round, among contexts that allocate and free, reset, or hold
 *	  steady) must see exactly that context grow, by exactly that much, in
 *	  the text, the JSON and the entries; contexts created and deleted in
 *	  between are reported as new and removed; the JSON is well formed (it
 *	  is parsed with test/cli/json_check.c); taking a snapshot changes
 *	  nothing it measures; bad arguments are misuse errors.
 *
 * Built twice: against the plain library (no sites: the sites part stays
 * empty) and against the MCXT_SITES library, where the diff must also name
 * the leaking line with exactly its growth in chunks, bytes and space.
 */
#define _POSIX_C_SOURCE 200809L
#include "../testhelper.h"

#include <pthread.h>
#include <stdint.h>

#include "chunk.h"				/* MCXT_ASET_BLOCKHDRSZ */

/* The JSON validator of the CLI tests, as a function. */
int			json_check_main(int argc, char **argv);
#define main json_check_main
#include "../cli/json_check.c"
#undef main

/* Every bytes/chunk figure below: a 100-byte request is a 128-byte chunk plus its 8-byte header. */
#define LEAK_SIZE		100
#define LEAK_FOOTPRINT	136
#define LEAK_PER_ROUND	37

static int	leak_line;			/* the line of the leaking allocation, for sites builds */

typedef struct server
{
	mcxt_context_t *root;
	mcxt_context_t *leaky;		/* keeps LEAK_PER_ROUND chunks per round */
	mcxt_context_t *steady;		/* allocates and frees everything each round */
	mcxt_context_t *per_row;	/* reset after every row */
	mcxt_context_t *gen;		/* Generation: a queue that drains */
	mcxt_context_t *slab;		/* Slab: a fixed set of nodes */
	mcxt_context_t *bump;		/* Bump: built once */
	void	   *nodes[50];
} server;

static void
server_start(server *sv)
{
	sv->root = mcxt_aset_create(mcxt_top(), "Server", MCXT_DEFAULT_SIZES);
	sv->leaky = mcxt_aset_create(sv->root, "Leaky", MCXT_DEFAULT_SIZES);
	sv->steady = mcxt_aset_create(sv->root, "Steady", MCXT_DEFAULT_SIZES);
	sv->per_row = mcxt_aset_create(sv->steady, "PerRow", MCXT_SMALL_SIZES);
	sv->gen = mcxt_generation_create(sv->root, "Queue", MCXT_DEFAULT_SIZES);
	sv->slab = mcxt_slab_create(sv->root, "Nodes", 8192, 48);
	sv->bump = mcxt_bump_create(sv->root, "Plan", MCXT_DEFAULT_SIZES);
	for (int i = 0; i < 50; i++)
		sv->nodes[i] = mcxt_alloc(sv->slab, 48);
	for (int i = 0; i < 100; i++)
		(void) mcxt_alloc(sv->bump, 24 + (size_t) i);
}

/* One "hour" of work: only the leak keeps anything. */
static void
server_round(server *sv)
{
	void	   *held[300];
	void	   *queue[64];

	for (int i = 0; i < 300; i++)
		held[i] = mcxt_alloc(sv->steady, 16 + (size_t) (i * 7) % 900);
	for (int i = 0; i < 300; i++)
		mcxt_free(held[i]);
	for (int row = 0; row < 20; row++)
	{
		for (int i = 0; i < 40; i++)
			(void) mcxt_alloc(sv->per_row, 32 + (size_t) i);
		mcxt_reset(sv->per_row);
	}
	for (int i = 0; i < 64; i++)
		queue[i] = mcxt_alloc(sv->gen, 200);
	for (int i = 0; i < 64; i++)
		mcxt_free(queue[i]);
	for (int i = 0; i < LEAK_PER_ROUND; i++)
	{
		leak_line = __LINE__ + 1;
		(void) mcxt_alloc(sv->leaky, LEAK_SIZE);
	}
}

static uint64_t
used_of(const mcxt_snapshot_entry_t *e)
{
	return e->counters.totalspace - e->counters.freespace;
}

/* Lines of text that start with "  " up to a "sites:" line (the per-context or per-site lines). */
static int
count_item_lines(const char *text)
{
	int			n = 0;

	for (const char *p = text; p != NULL && *p != '\0';)
	{
		if (strncmp(p, "sites:\n", 7) == 0)
			break;
		if (p[0] == ' ' && p[1] == ' ')
			n++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return n;
}

static int
count_of_str(const char *hay, const char *needle)
{
	int			n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static bool
json_ok(const char *text)
{
	s = text;
	len = strlen(text);
	pos = 0;
	if (!value(0))
		return false;
	ws();
	return pos == len;
}

static void
test_planted_leak(void)
{
	server		srv;
	mcxt_snapshot_t *a;
	mcxt_snapshot_t *b;
	char	   *text;
	char	   *json;
	char		want[256];
	const mcxt_snapshot_entry_t *la;
	const mcxt_snapshot_entry_t *lb;
	const int	rounds = 5;
	uint64_t	growth;

	th_catch_errors();
	server_start(&srv);
	server_round(&srv);			/* warm up: freelists and free blocks settle */
	a = mcxt_snapshot(mcxt_top());
	for (int r = 0; r < rounds; r++)
		server_round(&srv);
	b = mcxt_snapshot(mcxt_top());

	/* the entries: the leak, and nothing else, grew by exactly what it kept */
	la = mcxt_snapshot_find(a, "TopMemoryContext/Server/Leaky");
	lb = mcxt_snapshot_find(b, "TopMemoryContext/Server/Leaky");
	REQUIRE(la != NULL && lb != NULL);
	/* used bytes: the chunks, and the header of every block the leak added */
	growth = (uint64_t) rounds * LEAK_PER_ROUND * LEAK_FOOTPRINT +
		(lb->counters.nblocks - la->counters.nblocks) * MCXT_ASET_BLOCKHDRSZ;
	CHECK(lb->counters.nblocks > la->counters.nblocks);
	CHECK_EQ(used_of(lb) - used_of(la), growth);
	CHECK_STR(lb->type, "AllocSet");
	CHECK_EQ(lb->level, 2);
	CHECK_EQ(mcxt_snapshot_count(b), 8);
	CHECK(mcxt_snapshot_find(b, "TopMemoryContext/Server/Steady/PerRow") != NULL);
	CHECK_STR(mcxt_snapshot_find(b, "TopMemoryContext/Server/Queue")->type, "Generation");
	CHECK_STR(mcxt_snapshot_find(b, "TopMemoryContext/Server/Nodes")->type, "Slab");
	CHECK_STR(mcxt_snapshot_find(b, "TopMemoryContext/Server/Plan")->type, "Bump");
	for (size_t i = 0; i < mcxt_snapshot_count(b); i++)
	{
		const mcxt_snapshot_entry_t *eb = mcxt_snapshot_entry(b, i);
		const mcxt_snapshot_entry_t *ea = mcxt_snapshot_find(a, eb->path);

		REQUIRE(ea != NULL);
		if (eb == lb)
			continue;
		CHECK_MSG(used_of(ea) == used_of(eb) && ea->counters.totalspace == eb->counters.totalspace,
				  "%s changed: used %ju -> %ju", eb->path, (uintmax_t) used_of(ea),
				  (uintmax_t) used_of(eb));
	}

	/* the text: one context line, naming the leak with its growth */
	text = mcxt_snapshot_diff_string(a, b, 0);
	REQUIRE(text != NULL);
	snprintf(want, sizeof(want), "  +%ju used, ", (uintmax_t) growth);
	CHECK_MSG(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
	CHECK_MSG(strstr(text, ": TopMemoryContext/Server/Leaky\n") != NULL, "leak not named:\n%s", text);
	CHECK_MSG(count_item_lines(text) == 1, "more than the leak reported:\n%s", text);
	CHECK(strstr(text, "contexts: 1 grown, 0 shrunk, 0 new, 0 removed\n") != NULL);
	snprintf(want, sizeof(want), "used +%ju bytes (", (uintmax_t) growth);
	CHECK_MSG(strstr(text, want) != NULL, "total growth missing:\n%s", text);
	free(text);

	/* the JSON: well formed, one context, the right numbers */
	json = mcxt_snapshot_diff_string(a, b, MCXT_DIFF_JSON);
	REQUIRE(json != NULL);
	CHECK_MSG(json_ok(json), "invalid JSON at byte %zu:\n%s", pos, json);
	snprintf(want, sizeof(want),
			 "{\"path\":\"TopMemoryContext/Server/Leaky\",\"type\":\"AllocSet\",\"level\":2,"
			 "\"status\":\"grown\",\"contexts\":1,\"contexts_delta\":0,");
	CHECK_MSG(strstr(json, want) != NULL, "no leak entry in:\n%s", json);
	snprintf(want, sizeof(want), "\"used_bytes\":%ju,\"used_bytes_delta\":%ju,",
			 (uintmax_t) used_of(lb), (uintmax_t) growth);
	CHECK_MSG(strstr(json, want) != NULL, "no \"%s\" in:\n%s", want, json);
	{
		int			nctx = 0;

		for (const char *p = json; (p = strstr(p, "{\"path\":")) != NULL; p++)
			nctx++;
		CHECK_EQ(nctx, 1);
	}
	if (mcxt_snapshot_site_count(b) == 0)
		CHECK(strstr(json, "\"sites\":[]") != NULL);
	free(json);

	/* with MCXT_DIFF_ALL every path is listed, the leak first */
	text = mcxt_snapshot_diff_string(a, b, MCXT_DIFF_ALL);
	REQUIRE(text != NULL);
	CHECK_EQ(count_item_lines(text), 8);
	{
		const char *first = strstr(text, "\n  ");
		const char *eol = first ? strchr(first + 1, '\n') : NULL;

		CHECK_MSG(first != NULL && eol != NULL &&
				  strncmp(eol - strlen("Server/Leaky"), "Server/Leaky", 12) == 0,
				  "the leak is not first:\n%s", text);
	}
	free(text);
	json = mcxt_snapshot_diff_string(a, b, MCXT_DIFF_ALL | MCXT_DIFF_JSON);
	REQUIRE(json != NULL);
	CHECK(json_ok(json));
	CHECK(strstr(json, "\"status\":\"unchanged\"") != NULL);
	free(json);

	/* a NULL baseline: everything is new */
	text = mcxt_snapshot_diff_string(NULL, b, 0);
	REQUIRE(text != NULL);
	CHECK(strstr(text, "contexts: 0 grown, 0 shrunk, 8 new, 0 removed\n") != NULL);
	free(text);

	mcxt_snapshot_free(a);
	mcxt_snapshot_free(b);
	mcxt_delete(srv.root);
}

/* Contexts that appear, go away, or pile up under one name. */
static void
test_new_and_removed(void)
{
	mcxt_context_t *root;
	mcxt_context_t *doomed;
	mcxt_context_t *born;
	mcxt_snapshot_t *a;
	mcxt_snapshot_t *b;
	char	   *text;
	char	   *json;
	char		want[256];
	size_t		born_total;
	size_t		doomed_total;

	th_catch_errors();
	root = mcxt_aset_create(mcxt_top(), "Root", MCXT_DEFAULT_SIZES);
	doomed = mcxt_aset_create(root, "Doomed", MCXT_SMALL_SIZES);
	(void) mcxt_alloc(doomed, 500);
	(void) mcxt_aset_create(root, "Portal", MCXT_SMALL_SIZES);
	(void) mcxt_aset_create(root, "odd/name%", MCXT_SMALL_SIZES);
	(void) mcxt_aset_create(mcxt_aset_create(root, "", MCXT_SMALL_SIZES), "", MCXT_SMALL_SIZES);
	a = mcxt_snapshot(root);
	doomed_total = mcxt_mem_allocated(doomed, false);
	mcxt_delete(doomed);
	born = mcxt_aset_create(root, "Born", MCXT_DEFAULT_SIZES);
	(void) mcxt_alloc(born, 3000);
	born_total = mcxt_mem_allocated(born, false);
	(void) mcxt_aset_create(root, "Portal", MCXT_SMALL_SIZES);
	(void) mcxt_aset_create(root, "Portal", MCXT_SMALL_SIZES);
	b = mcxt_snapshot(root);

	CHECK(mcxt_snapshot_find(a, "Root/odd%2Fname%25") != NULL);
	CHECK(mcxt_snapshot_find(a, "Root/") != NULL);
	CHECK(mcxt_snapshot_find(a, "Root//") != NULL);
	CHECK_EQ(mcxt_snapshot_find(a, "Root//")->level, 2);
	CHECK_EQ(mcxt_snapshot_find(a, "Root/Portal")->ncontexts, 1);
	CHECK_EQ(mcxt_snapshot_find(b, "Root/Portal")->ncontexts, 3);
	CHECK(mcxt_snapshot_find(b, "Root/Doomed") == NULL);
	CHECK(mcxt_snapshot_find(a, "Root/Born") == NULL);
	CHECK_EQ(mcxt_snapshot_find(a, "Root")->level, 0);

	text = mcxt_snapshot_diff_string(a, b, 0);
	REQUIRE(text != NULL);
	CHECK_MSG(strstr(text, "contexts: 1 grown, 0 shrunk, 1 new, 1 removed\n") != NULL, "%s", text);
	snprintf(want, sizeof(want), "%zu: Root/Born (new)\n", born_total);
	CHECK_MSG(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
	snprintf(want, sizeof(want), "  -%ju used, -%zu total in -1 blocks; was ",
			 (uintmax_t) used_of(mcxt_snapshot_find(a, "Root/Doomed")), doomed_total);
	CHECK_MSG(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
	CHECK(strstr(text, ": Root/Doomed (removed)\n") != NULL);
	CHECK_MSG(strstr(text, ": Root/Portal (3 contexts, was 1)\n") != NULL, "%s", text);
	/* largest growth first: Born (3000+ bytes) before Portal, removals last */
	CHECK(strstr(text, "Root/Born") < strstr(text, "Root/Portal"));
	CHECK(strstr(text, "Root/Portal") < strstr(text, "Root/Doomed"));
	free(text);

	json = mcxt_snapshot_diff_string(a, b, MCXT_DIFF_JSON);
	REQUIRE(json != NULL);
	CHECK_MSG(json_ok(json), "invalid JSON at byte %zu:\n%s", pos, json);
	CHECK(strstr(json, "\"path\":\"Root/Born\",\"type\":\"AllocSet\",\"level\":1,\"status\":\"new\","
				 "\"contexts\":1,\"contexts_delta\":1,") != NULL);
	CHECK(strstr(json, "\"path\":\"Root/Doomed\",\"type\":\"AllocSet\",\"level\":1,\"status\":\"removed\","
				 "\"contexts\":0,\"contexts_delta\":-1,") != NULL);
	CHECK(strstr(json, "\"status\":\"grown\",\"contexts\":3,\"contexts_delta\":2,") != NULL);
	snprintf(want, sizeof(want), "\"total_bytes\":0,\"total_bytes_delta\":-%zu,", doomed_total);
	CHECK_MSG(strstr(json, want) != NULL, "no \"%s\" in:\n%s", want, json);
	CHECK(strstr(json, "\"root\":\"Root\"") != NULL);
	free(json);

	mcxt_snapshot_free(a);
	mcxt_snapshot_free(b);
	mcxt_delete(root);
}

/* Taking a snapshot and a diff allocates nothing from contexts or the block source. */
static void
test_does_not_perturb(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Measured", MCXT_DEFAULT_SIZES);
	mcxt_block_stats_t before,
				after;
	mcxt_accounting_t acc_before,
				acc_after;
	mcxt_snapshot_t *a;
	mcxt_snapshot_t *b;
	char	   *text;

	th_catch_errors();
	for (int i = 0; i < 100; i++)
		(void) mcxt_alloc(ctx, 64);
	mcxt_block_stats(&before);
	mcxt_get_accounting(mcxt_top(), true, &acc_before);
	a = mcxt_snapshot(mcxt_top());
	b = mcxt_snapshot(mcxt_top());
	text = mcxt_snapshot_diff_string(a, b, MCXT_DIFF_ALL);
	mcxt_block_stats(&after);
	mcxt_get_accounting(mcxt_top(), true, &acc_after);
	CHECK_EQ(after.live_blocks, before.live_blocks);
	CHECK_EQ(after.live_bytes, before.live_bytes);
	CHECK_EQ(acc_after.bytes_alloc, acc_before.bytes_alloc);
	CHECK_EQ(acc_after.mem_allocated, acc_before.mem_allocated);
	REQUIRE(text != NULL);
	/* nothing changed between the two */
	CHECK_MSG(strstr(text, "contexts: 0 grown, 0 shrunk, 0 new, 0 removed\n") != NULL, "%s", text);
	free(text);
	mcxt_snapshot_free(a);
	mcxt_snapshot_free(b);
	mcxt_delete(ctx);
}

/* The diff on a FILE: the same bytes as the string. */
static void
test_diff_to_file(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "F", MCXT_DEFAULT_SIZES);
	mcxt_snapshot_t *a;
	mcxt_snapshot_t *b;
	char	   *text;
	char		buf[8192];
	size_t		n;
	FILE	   *f = tmpfile();

	th_catch_errors();
	REQUIRE(f != NULL);
	a = mcxt_snapshot(ctx);
	(void) mcxt_alloc(ctx, 5000);
	b = mcxt_snapshot(ctx);
	CHECK_EQ(mcxt_snapshot_diff(a, b, 0, f), 0);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	text = mcxt_snapshot_diff_string(a, b, 0);
	REQUIRE(text != NULL);
	CHECK_STR(buf, text);
	CHECK(strstr(text, "memory growth from snapshot ") == text);
	free(text);
	mcxt_snapshot_free(a);
	mcxt_snapshot_free(b);
	mcxt_delete(ctx);
}

static void
test_bad_arguments(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Args", MCXT_DEFAULT_SIZES);
	mcxt_snapshot_t *volatile snap = mcxt_snapshot(ctx);

	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot(NULL));
	CHECK(strstr(th_err_msg, "mcxt_snapshot called with an invalid") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot_diff(snap, NULL, 0, stderr));
	CHECK(strstr(th_err_msg, "mcxt_snapshot_diff called with an invalid (freed?) snapshot") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot_diff(snap, snap, 0x100, stderr));
	CHECK(strstr(th_err_msg, "unknown flags 0x100") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot_diff_string(NULL, NULL, 0));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot_entry(snap, 1));
	CHECK(strstr(th_err_msg, "index 1 out of range (1 entries)") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot_find(snap, NULL));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot_site(snap, 0));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_snapshot_count(NULL));
	EXPECT_NO_ERROR(mcxt_snapshot_free(NULL));
	CHECK_EQ(mcxt_snapshot_count(snap), 1);
	mcxt_snapshot_free(snap);
	mcxt_delete(ctx);
}

/* Each thread snapshots its own tree of n contexts, many times; bad results are counted. */
typedef struct snap_thread
{
	int			ncontexts;
	int			bad;
} snap_thread;

static void *
snapshot_worker(void *arg)
{
	snap_thread *st = arg;
	mcxt_context_t *root = mcxt_aset_create(mcxt_top(), "W", MCXT_SMALL_SIZES);
	char		name[32][16];

	for (int i = 0; i < st->ncontexts; i++)
	{
		snprintf(name[i], sizeof(name[i]), "c%02d", st->ncontexts - i);
		(void) mcxt_alloc(mcxt_aset_create(root, name[i], MCXT_SMALL_SIZES), 10);
	}
	for (int k = 0; k < 200; k++)
	{
		mcxt_snapshot_t *snap = mcxt_snapshot(root);

		if (mcxt_snapshot_count(snap) != (size_t) st->ncontexts + 1)
			st->bad++;
		/* sorted by path: W, W/c01, W/c02, ... */
		for (size_t i = 1; i < mcxt_snapshot_count(snap); i++)
			if (strcmp(mcxt_snapshot_entry(snap, i - 1)->path, mcxt_snapshot_entry(snap, i)->path) >= 0)
				st->bad++;
		mcxt_snapshot_free(snap);
	}
	mcxt_delete(root);			/* before the names on this stack go */
	return NULL;
}

/* Snapshots taken by several threads at once do not disturb each other. */
static void
test_threads(void)
{
	pthread_t	t[3];
	snap_thread st[3] = {{5, 0}, {17, 0}, {31, 0}};

	for (int i = 0; i < 3; i++)
		REQUIRE(pthread_create(&t[i], NULL, snapshot_worker, &st[i]) == 0);
	for (int i = 0; i < 3; i++)
	{
		pthread_join(t[i], NULL);
		CHECK_EQ(st[i].bad, 0);
	}
}

static const mcxt_snapshot_site_t *
find_site(const mcxt_snapshot_t *snap, const char *func, int line)
{
	for (size_t i = 0; i < mcxt_snapshot_site_count(snap); i++)
	{
		const mcxt_snapshot_site_t *site = mcxt_snapshot_site(snap, i);

		if (strcmp(site->func, func) == 0 && site->line == line)
			return site;
	}
	return NULL;
}

/* Sites builds: the leaking line, and only it, grew, by exactly what it kept. */
static void
test_sites(void)
{
	server		srv;
	mcxt_snapshot_t *a;
	mcxt_snapshot_t *b;
	const mcxt_snapshot_site_t *sa;
	const mcxt_snapshot_site_t *sb;
	char	   *text;
	char	   *json;
	char		want[256];
	const char *part;
	const int	rounds = 3;
	const uint64_t nleak = (uint64_t) rounds * LEAK_PER_ROUND;

	th_catch_errors();
	server_start(&srv);
	server_round(&srv);
	a = mcxt_snapshot(mcxt_top());
	for (int r = 0; r < rounds; r++)
		server_round(&srv);
	b = mcxt_snapshot(mcxt_top());
	if (!mcxt_sites_enabled())
	{
		/* a plain library: no sites, and no sites part */
		CHECK_EQ(mcxt_snapshot_site_count(b), 0);
		text = mcxt_snapshot_diff_string(a, b, 0);
		CHECK(text != NULL && strstr(text, "sites:") == NULL);
		free(text);
		goto done;
	}
	sa = find_site(a, "server_round", leak_line);
	sb = find_site(b, "server_round", leak_line);
	REQUIRE(sa != NULL && sb != NULL);
	CHECK(strstr(sb->file, "test_snapshot.c") != NULL);
	CHECK_EQ(sb->chunks - sa->chunks, nleak);
	CHECK_EQ(sb->bytes - sa->bytes, nleak * LEAK_SIZE);
	CHECK_EQ(sb->space - sa->space, nleak * LEAK_FOOTPRINT);
	/* sorted by space, largest first */
	for (size_t i = 1; i < mcxt_snapshot_site_count(b); i++)
		CHECK(mcxt_snapshot_site(b, i - 1)->space >= mcxt_snapshot_site(b, i)->space);

	text = mcxt_snapshot_diff_string(a, b, 0);
	REQUIRE(text != NULL);
	part = strstr(text, "\nsites:\n");
	REQUIRE(part != NULL);
	snprintf(want, sizeof(want), "\nsites:\n  +%ju space, +%ju bytes in +%ju chunks; now %ju space, "
			 "%ju bytes in %ju chunks: ",
			 (uintmax_t) (nleak * LEAK_FOOTPRINT), (uintmax_t) (nleak * LEAK_SIZE),
			 (uintmax_t) nleak, (uintmax_t) sb->space, (uintmax_t) sb->bytes,
			 (uintmax_t) sb->chunks);
	CHECK_MSG(strstr(text, want) == part, "no \"%s\" in:\n%s", want, text);
	/* the file as the sites report prints it: without its directories */
	snprintf(want, sizeof(want), " chunks: test_snapshot.c:%d (server_round)\n", leak_line);
	CHECK_MSG(strstr(part, want) != NULL, "no \"%s\" in:\n%s", want, text);
	/* the leaking line is the only site that changed */
	CHECK_EQ(count_item_lines(part + strlen("\nsites:\n")), 1);
	free(text);

	json = mcxt_snapshot_diff_string(a, b, MCXT_DIFF_JSON);
	REQUIRE(json != NULL);
	CHECK_MSG(json_ok(json), "invalid JSON at byte %zu:\n%s", pos, json);
	snprintf(want, sizeof(want), ",\"line\":%d,\"func\":\"server_round\",\"status\":\"grown\","
			 "\"chunks\":%ju,\"chunks_delta\":%ju,\"bytes\":%ju,\"bytes_delta\":%ju,"
			 "\"space\":%ju,\"space_delta\":%ju}",
			 leak_line, (uintmax_t) sb->chunks, (uintmax_t) nleak, (uintmax_t) sb->bytes,
			 (uintmax_t) (nleak * LEAK_SIZE), (uintmax_t) sb->space,
			 (uintmax_t) (nleak * LEAK_FOOTPRINT));
	CHECK_MSG(strstr(json, want) != NULL, "no \"%s\" in:\n%s", want, json);
	CHECK_EQ(count_of_str(json, "{\"file\":"), 1);
	free(json);
done:
	mcxt_snapshot_free(a);
	mcxt_snapshot_free(b);
	mcxt_delete(srv.root);
}

int
main(void)
{
	RUN(test_planted_leak);
	RUN(test_new_and_removed);
	RUN(test_does_not_perturb);
	RUN(test_diff_to_file);
	RUN(test_bad_arguments);
	RUN(test_sites);
	RUN(test_threads);
	mcxt_thread_cleanup();
	return th_report();
}
