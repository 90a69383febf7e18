/*
 * test_stats.c
 *	  The statistics outputs: PostgreSQL's MemoryContextStats text, compared
 *	  line by line with lines built here from hand-computed numbers, and the
 *	  JSON dump, parsed back with a small JSON parser of our own and checked
 *	  for structure (keys, types, levels, breadth-first paths) and numbers.
 *
 * The hand computation is test/unit/asetsim.h (the documented block rules
 * applied to the layout constants of src/chunk.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "../testhelper.h"
#include "../unit/asetsim.h"

#include <mcxt/palloc.h>
#include <unistd.h>


static const char *
stats_text(mcxt_context_t *ctx, int max_level, int max_children)
{
	FILE	   *f = tmpfile();

	if (f == NULL)
		return "";
	mcxt_stats_print(ctx, max_level, max_children, f);
	return th_slurp(f);
}

/* Run fn with file descriptor fd (1 or 2) redirected to a temporary file. */
static const char *
capture_fd(int fd, void (*fn) (mcxt_context_t *), mcxt_context_t *ctx)
{
	FILE	   *f = tmpfile();
	int			saved;

	if (f == NULL)
		return "";
	fflush(fd == 1 ? stdout : stderr);
	saved = dup(fd);
	dup2(fileno(f), fd);
	fn(ctx);
	fflush(fd == 1 ? stdout : stderr);
	dup2(saved, fd);
	close(saved);
	return th_slurp(f);
}

/* Append one expected stats line. */
static size_t
put_line(char *buf, size_t off, size_t len, int indent, const char *name,
		 const mcxt_counters_t *c, const char *ident_shown)
{
	for (int i = 0; i < indent; i++)
		off += (size_t) snprintf(buf + off, len - off, "  ");
	off += (size_t) snprintf(buf + off, len - off,
							 "%s: %zu total in %zu blocks; %zu free (%zu chunks); %zu used%s%s\n",
							 name, c->totalspace, c->nblocks, c->freespace, c->freechunks,
							 c->totalspace - c->freespace,
							 ident_shown ? ": " : "", ident_shown ? ident_shown : "");
	return off;
}

static size_t
put_more(char *buf, size_t off, size_t len, int indent, int n, const mcxt_counters_t *c)
{
	for (int i = 0; i < indent; i++)
		off += (size_t) snprintf(buf + off, len - off, "  ");
	off += (size_t) snprintf(buf + off, len - off,
							 "%d more child contexts containing %zu total in %zu blocks; %zu free (%zu chunks); %zu used\n",
							 n, c->totalspace, c->nblocks, c->freespace, c->freechunks,
							 c->totalspace - c->freespace);
	return off;
}

static size_t
put_grand(char *buf, size_t off, size_t len, const mcxt_counters_t *c)
{
	off += (size_t) snprintf(buf + off, len - off,
							 "Grand total: %zu bytes in %zu blocks; %zu free (%zu chunks); %zu used\n",
							 c->totalspace, c->nblocks, c->freespace, c->freechunks,
							 c->totalspace - c->freespace);
	return off;
}

static void
add_counters(mcxt_counters_t *sum, const mcxt_counters_t *c)
{
	sum->nblocks += c->nblocks;
	sum->freechunks += c->freechunks;
	sum->totalspace += c->totalspace;
	sum->freespace += c->freespace;
}

static mcxt_counters_t
simc(const asetsim *s)
{
	mcxt_counters_t c;

	sim_counters(s, &c);
	return c;
}

static mcxt_counters_t
own(mcxt_context_t *ctx)
{
	mcxt_counters_t c;

	mcxt_mem_consumed(ctx, false, &c);
	return c;
}

/* ---- the main scenario --------------------------------------------------- */

/*
 * StatsRoot (DEFAULT, a root)
 *   ChildA (SMALL, ident "id-a")       created first
 *     GrandA (SMALL)
 *   ChildB (START_SMALL)               created second: listed first
 *     GrandChild (SMALL)
 */
typedef struct scenario
{
	mcxt_context_t *root, *a, *b, *g, *ga;
	asetsim		sroot, sa, sb, sg, sga;
} scenario;

static scenario sc;

static void
scenario_build(void)
{
	void	   *x;

	sc.root = mcxt_aset_create(NULL, "StatsRoot", ALLOCSET_DEFAULT_SIZES);
	sc.a = mcxt_aset_create(sc.root, "ChildA", ALLOCSET_SMALL_SIZES);
	sc.b = mcxt_aset_create(sc.root, "ChildB", ALLOCSET_START_SMALL_SIZES);
	sc.g = mcxt_aset_create(sc.b, "GrandChild", ALLOCSET_SMALL_SIZES);
	sc.ga = mcxt_aset_create(sc.a, "GrandA", ALLOCSET_SMALL_SIZES);
	mcxt_set_ident(sc.a, "id-a");
	sim_init(&sc.sroot, ALLOCSET_DEFAULT_SIZES);
	sim_init(&sc.sa, ALLOCSET_SMALL_SIZES);
	sim_init(&sc.sb, ALLOCSET_START_SMALL_SIZES);
	sim_init(&sc.sg, ALLOCSET_SMALL_SIZES);
	sim_init(&sc.sga, ALLOCSET_SMALL_SIZES);

	/* root: three 100-byte chunks, one freed, and one large chunk */
	mcxt_alloc(sc.root, 100);
	x = mcxt_alloc(sc.root, 100);
	mcxt_alloc(sc.root, 100);
	mcxt_free(x);
	mcxt_alloc(sc.root, 20000);
	sim_alloc(&sc.sroot, 100);
	sim_alloc(&sc.sroot, 100);
	sim_alloc(&sc.sroot, 100);
	sim_free(&sc.sroot, 100);
	sim_alloc(&sc.sroot, 20000);
	/* ChildA: one byte */
	mcxt_alloc(sc.a, 1);
	sim_alloc(&sc.sa, 1);
	/* ChildB: 3000 bytes does not fit the keeper: carve it, take a block */
	mcxt_alloc(sc.b, 3000);
	sim_alloc(&sc.sb, 3000);
	/* GrandA: fill the keeper and go on into new blocks */
	for (int i = 0; i < 40; i++)
	{
		mcxt_alloc(sc.ga, 200);
		sim_alloc(&sc.sga, 200);
	}
}

static void
test_stats_text(void)
{
	static char want[8192];
	size_t		off = 0;
	mcxt_counters_t c, total = {0, 0, 0, 0};

	scenario_build();
	c = simc(&sc.sroot);
	off = put_line(want, off, sizeof(want), 0, "StatsRoot", &c, NULL);
	add_counters(&total, &c);
	c = simc(&sc.sb);
	off = put_line(want, off, sizeof(want), 1, "ChildB", &c, NULL);
	add_counters(&total, &c);
	c = simc(&sc.sg);
	off = put_line(want, off, sizeof(want), 2, "GrandChild", &c, NULL);
	add_counters(&total, &c);
	c = simc(&sc.sa);
	off = put_line(want, off, sizeof(want), 1, "ChildA", &c, "id-a");
	add_counters(&total, &c);
	c = simc(&sc.sga);
	off = put_line(want, off, sizeof(want), 2, "GrandA", &c, NULL);
	add_counters(&total, &c);
	off = put_grand(want, off, sizeof(want), &total);
	(void) off;

	/* the model sanity: ChildB took a second block, GrandA several */
	CHECK_EQ(sc.sb.nblocks, 2);
	CHECK(sc.sga.nblocks > 3);
	CHECK(sc.sb.freelist[0] + sc.sb.freelist[1] + sc.sb.freelist[2] + sc.sb.freelist[3] +
		  sc.sb.freelist[4] + sc.sb.freelist[5] + sc.sb.freelist[6] > 0);

	CHECK_STR(stats_text(sc.root, 100, 100), want);
	CHECK_STR(capture_fd(2, mcxt_stats, sc.root), want);
	CHECK_EQ(mcxt_check(sc.root), 0);
}

static void
stats_detail_stdout(mcxt_context_t *ctx)
{
	MemoryContextStatsDetail(ctx, 100, 100, false);
}

static void
stats_detail_stderr(mcxt_context_t *ctx)
{
	MemoryContextStatsDetail(ctx, 100, 100, true);
}

static void
stats_pg(mcxt_context_t *ctx)
{
	MemoryContextStats(ctx);
}

static void
test_stats_spellings(void)
{
	static char want[8192];

	snprintf(want, sizeof(want), "%s", stats_text(sc.root, 100, 100));
	CHECK(strncmp(want, "StatsRoot: ", 11) == 0);
	CHECK_STR(capture_fd(1, stats_detail_stdout, sc.root), want);
	CHECK_STR(capture_fd(2, stats_detail_stderr, sc.root), want);
	CHECK_STR(capture_fd(2, stats_pg, sc.root), want);
	/* a subtree prints with its own root at level 0 */
	{
		static char sub[1024];
		mcxt_counters_t c = simc(&sc.sb);
		mcxt_counters_t g = simc(&sc.sg);
		mcxt_counters_t t = {0, 0, 0, 0};
		size_t		off = 0;

		add_counters(&t, &c);
		add_counters(&t, &g);
		off = put_line(sub, off, sizeof(sub), 0, "ChildB", &c, NULL);
		off = put_line(sub, off, sizeof(sub), 1, "GrandChild", &g, NULL);
		put_grand(sub, off, sizeof(sub), &t);
		CHECK_STR(stats_text(sc.b, 100, 100), sub);
	}
}

/* max_children and max_level summaries */
static void
test_stats_limits(void)
{
	mcxt_context_t *r = mcxt_aset_create(NULL, "LimRoot", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *kids[5];
	static char want[8192];
	size_t		off = 0;
	mcxt_counters_t c, total = {0, 0, 0, 0}, more = {0, 0, 0, 0};

	for (int i = 0; i < 5; i++)
	{
		kids[i] = mcxt_aset_create(r, "Kid", ALLOCSET_SMALL_SIZES);
		for (int j = 0; j <= i * 3; j++)
			mcxt_alloc(kids[i], (size_t) (50 + 100 * i));
	}
	c = own(r);
	add_counters(&total, &c);
	off = put_line(want, off, sizeof(want), 0, "LimRoot", &c, NULL);
	/* newest first: kids[4], kids[3] shown, the other three summed */
	for (int i = 4; i >= 0; i--)
	{
		c = own(kids[i]);
		add_counters(&total, &c);
		if (i >= 3)
			off = put_line(want, off, sizeof(want), 1, "Kid", &c, NULL);
		else
			add_counters(&more, &c);
	}
	off = put_more(want, off, sizeof(want), 1, 3, &more);
	put_grand(want, off, sizeof(want), &total);
	CHECK_STR(stats_text(r, 100, 2), want);

	/* exactly max_children children: no summary line */
	mcxt_delete(kids[0]);
	mcxt_delete(kids[1]);
	{
		const char *got = stats_text(r, 100, 3);

		CHECK(strstr(got, "more child contexts") == NULL);
		CHECK(strstr(got, "Grand total: ") != NULL);
	}

	/*
	 * max_level counts the printed levels, the dumped context's included
	 * (PostgreSQL 17's MemoryContextStatsDetail): with 2, the children of a
	 * level-1 context are summed in one line indented as level 2.
	 */
	{
		mcxt_context_t *x = kids[2];
		mcxt_context_t *y = mcxt_aset_create(x, "Y", ALLOCSET_SMALL_SIZES);
		mcxt_context_t *z = mcxt_aset_create(x, "Z", ALLOCSET_SMALL_SIZES);
		mcxt_counters_t sub = {0, 0, 0, 0};

		mcxt_alloc(y, 5000);
		mcxt_alloc(z, 10);
		off = 0;
		memset(&total, 0, sizeof(total));
		c = own(r);
		add_counters(&total, &c);
		off = put_line(want, off, sizeof(want), 0, "LimRoot", &c, NULL);
		for (int i = 4; i >= 2; i--)
		{
			c = own(kids[i]);
			add_counters(&total, &c);
			off = put_line(want, off, sizeof(want), 1, "Kid", &c, NULL);
			if (i == 2)
			{
				c = own(z);
				add_counters(&sub, &c);
				c = own(y);
				add_counters(&sub, &c);
				add_counters(&total, &sub);
				off = put_more(want, off, sizeof(want), 2, 2, &sub);
			}
		}
		put_grand(want, off, sizeof(want), &total);
		CHECK_STR(stats_text(r, 2, 100), want);

		/*
		 * max_level 1: everything below the root in one line.  Whether N
		 * counts direct children or every descendant differs between
		 * PostgreSQL releases, so only the sums are compared.
		 */
		{
			const char *got = stats_text(r, 1, 100);
			char		tail[512];
			mcxt_counters_t all;
			mcxt_counters_t rc = own(r);
			const char *nl = strchr(got, '\n');

			mcxt_mem_consumed(r, true, &all);
			all.nblocks -= rc.nblocks;
			all.freechunks -= rc.freechunks;
			all.totalspace -= rc.totalspace;
			all.freespace -= rc.freespace;
			snprintf(tail, sizeof(tail),
					 " more child contexts containing %zu total in %zu blocks; %zu free (%zu chunks); %zu used\n",
					 all.totalspace, all.nblocks, all.freespace, all.freechunks,
					 all.totalspace - all.freespace);
			CHECK(nl != NULL && strncmp(nl + 1, "  ", 2) == 0 && nl[3] >= '1' && nl[3] <= '9');
			CHECK(strstr(got, tail) != NULL);
			CHECK(strstr(got, "Kid:") == NULL);
			CHECK(strstr(got, "Grand total: ") != NULL);
		}
	}
	mcxt_delete(r);
}

/* MemoryContextStats prints at most 100 children of one parent. */
static void
test_stats_hundred_children(void)
{
	mcxt_context_t *r = mcxt_aset_create(NULL, "Many", ALLOCSET_SMALL_SIZES);
	mcxt_counters_t more = {0, 0, 0, 0};
	const char *got;
	char		line[256];
	int			nkids = 0;

	for (int i = 0; i < 130; i++)
	{
		mcxt_context_t *k = mcxt_aset_create(r, "K", ALLOCSET_SMALL_SIZES);

		mcxt_alloc(k, (size_t) (i * 10));
		if (i < 30)				/* the oldest 30 are listed last: summed */
		{
			mcxt_counters_t c = own(k);

			add_counters(&more, &c);
		}
	}
	got = stats_text(r, 100, 100);
	for (const char *p = got; (p = strstr(p, "\n  K: ")) != NULL; p++)
		nkids++;
	CHECK_EQ(nkids, 100);
	put_more(line, 0, sizeof(line), 1, 30, &more);
	CHECK_MSG(strstr(got, line) != NULL, "no line \"%s\"", line);
	mcxt_delete(r);
}

/* Identifiers: clipped at 100 bytes on a UTF-8 boundary, controls shown as spaces. */
static void
check_ident_shown(const char *ident, const char *shown)
{
	mcxt_context_t *ctx = mcxt_aset_create(NULL, "IdentCtx", ALLOCSET_SMALL_SIZES);
	static char want[1024];
	mcxt_counters_t c;
	size_t		off;

	mcxt_set_ident(ctx, ident);
	c = own(ctx);
	off = put_line(want, 0, sizeof(want), 0, "IdentCtx", &c, shown);
	put_grand(want, off, sizeof(want), &c);
	CHECK_STR(stats_text(ctx, 100, 100), want);
	mcxt_delete(ctx);
}

static void
test_stats_ident(void)
{
	static char id[256], shown[256];

	check_ident_shown("plain ident", "plain ident");
	check_ident_shown("tab\there\nnewline\rcr\x01", "tab here newline cr ");
	check_ident_shown("", "");
	/* exactly 100 bytes: shown whole */
	memset(id, 'a', 100);
	id[100] = '\0';
	check_ident_shown(id, id);
	/* 101 bytes: 100 and "..." */
	memset(id, 'b', 101);
	id[101] = '\0';
	memset(shown, 'b', 100);
	strcpy(shown + 100, "...");
	check_ident_shown(id, shown);
	/* a 2-byte character straddling byte 100 is dropped whole */
	memset(id, 'c', 99);
	strcpy(id + 99, "\xc3\xa9xyz");
	memset(shown, 'c', 99);
	strcpy(shown + 99, "...");
	check_ident_shown(id, shown);
	/* a 3-byte character ending exactly at byte 100 is kept */
	memset(id, 'd', 97);
	strcpy(id + 97, "\xe2\x82\xac" "tail");
	memset(shown, 'd', 97);
	strcpy(shown + 97, "\xe2\x82\xac...");
	check_ident_shown(id, shown);
}

/* ---- a small JSON parser ------------------------------------------------- */

typedef enum
{
	J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ
} jtype;

typedef struct jnode
{
	jtype		type;
	const char *key;			/* member name when inside an object */
	const char *str;			/* J_STR */
	double		num;			/* J_NUM */
	bool		is_int;			/* J_NUM without fraction or exponent */
	unsigned long long inum;
	int			child;			/* first element / member, -1 */
	int			next;			/* next sibling, -1 */
	int			count;
} jnode;

#define J_MAXNODES 4096
static jnode jn[J_MAXNODES];
static int	jn_used;
static char jstrpool[64 * 1024];
static size_t jstr_used;
static const char *jp;
static const char *jerr;

static void
j_ws(void)
{
	while (*jp == ' ' || *jp == '\t' || *jp == '\n' || *jp == '\r')
		jp++;
}

static int	j_value(void);

static const char *
j_string(void)
{
	char	   *out = jstrpool + jstr_used;
	size_t		n = 0;

	if (*jp != '"')
	{
		jerr = "expected string";
		return NULL;
	}
	jp++;
	while (*jp != '"')
	{
		unsigned char ch = (unsigned char) *jp;

		if (ch == '\0' || ch < 0x20)
		{
			jerr = "raw control character or end in string";
			return NULL;
		}
		if (jstr_used + n + 8 >= sizeof(jstrpool))
		{
			jerr = "string pool full";
			return NULL;
		}
		if (ch == '\\')
		{
			jp++;
			switch (*jp)
			{
				case '"': out[n++] = '"'; break;
				case '\\': out[n++] = '\\'; break;
				case '/': out[n++] = '/'; break;
				case 'b': out[n++] = '\b'; break;
				case 'f': out[n++] = '\f'; break;
				case 'n': out[n++] = '\n'; break;
				case 'r': out[n++] = '\r'; break;
				case 't': out[n++] = '\t'; break;
				case 'u':
					{
						unsigned	cp = 0;

						for (int i = 1; i <= 4; i++)
						{
							char		h = jp[i];

							cp <<= 4;
							if (h >= '0' && h <= '9') cp |= (unsigned) (h - '0');
							else if (h >= 'a' && h <= 'f') cp |= (unsigned) (h - 'a' + 10);
							else if (h >= 'A' && h <= 'F') cp |= (unsigned) (h - 'A' + 10);
							else
							{
								jerr = "bad \\u escape";
								return NULL;
							}
						}
						jp += 4;
						if (cp < 0x80)
							out[n++] = (char) cp;
						else if (cp < 0x800)
						{
							out[n++] = (char) (0xC0 | (cp >> 6));
							out[n++] = (char) (0x80 | (cp & 0x3F));
						}
						else
						{
							out[n++] = (char) (0xE0 | (cp >> 12));
							out[n++] = (char) (0x80 | ((cp >> 6) & 0x3F));
							out[n++] = (char) (0x80 | (cp & 0x3F));
						}
						break;
					}
				default:
					jerr = "bad escape";
					return NULL;
			}
			jp++;
		}
		else
			out[n++] = *jp++;
	}
	jp++;
	out[n++] = '\0';
	jstr_used += n;
	return out;
}

static int
j_new(jtype t)
{
	if (jn_used >= J_MAXNODES)
	{
		jerr = "too many nodes";
		return -1;
	}
	memset(&jn[jn_used], 0, sizeof(jnode));
	jn[jn_used].type = t;
	jn[jn_used].child = -1;
	jn[jn_used].next = -1;
	return jn_used++;
}

static int
j_number(void)
{
	const char *start = jp;
	int			n = j_new(J_NUM);
	bool		is_int = true;

	if (n < 0)
		return -1;
	if (*jp == '-')
		jp++;
	if (!(*jp >= '0' && *jp <= '9'))
	{
		jerr = "bad number";
		return -1;
	}
	if (*jp == '0' && jp[1] >= '0' && jp[1] <= '9')
	{
		jerr = "leading zero";
		return -1;
	}
	while (*jp >= '0' && *jp <= '9')
		jp++;
	if (*jp == '.' || *jp == 'e' || *jp == 'E')
	{
		is_int = false;
		if (*jp == '.')
			jp++;
		while ((*jp >= '0' && *jp <= '9') || *jp == 'e' || *jp == 'E' || *jp == '+' || *jp == '-')
			jp++;
	}
	jn[n].is_int = is_int && *start != '-';
	jn[n].num = strtod(start, NULL);
	jn[n].inum = strtoull(start, NULL, 10);
	return n;
}

static int
j_container(char close, jtype t)
{
	int			n = j_new(t);
	int			last = -1;

	if (n < 0)
		return -1;
	jp++;
	j_ws();
	if (*jp == close)
	{
		jp++;
		return n;
	}
	for (;;)
	{
		const char *key = NULL;
		int			v;

		j_ws();
		if (t == J_OBJ)
		{
			key = j_string();
			if (key == NULL)
				return -1;
			j_ws();
			if (*jp != ':')
			{
				jerr = "expected ':'";
				return -1;
			}
			jp++;
		}
		v = j_value();
		if (v < 0)
			return -1;
		jn[v].key = key;
		if (last < 0)
			jn[n].child = v;
		else
			jn[last].next = v;
		last = v;
		jn[n].count++;
		j_ws();
		if (*jp == ',')
		{
			jp++;
			continue;
		}
		if (*jp == close)
		{
			jp++;
			return n;
		}
		jerr = "expected ',' or close";
		return -1;
	}
}

static int
j_value(void)
{
	j_ws();
	switch (*jp)
	{
		case '{':
			return j_container('}', J_OBJ);
		case '[':
			return j_container(']', J_ARR);
		case '"':
			{
				const char *s = j_string();
				int			n;

				if (s == NULL)
					return -1;
				n = j_new(J_STR);
				if (n >= 0)
					jn[n].str = s;
				return n;
			}
		case 'n':
			if (strncmp(jp, "null", 4) == 0)
			{
				jp += 4;
				return j_new(J_NULL);
			}
			break;
		case 't':
			if (strncmp(jp, "true", 4) == 0)
			{
				jp += 4;
				return j_new(J_BOOL);
			}
			break;
		case 'f':
			if (strncmp(jp, "false", 5) == 0)
			{
				jp += 5;
				return j_new(J_BOOL);
			}
			break;
		default:
			if (*jp == '-' || (*jp >= '0' && *jp <= '9'))
				return j_number();
	}
	jerr = "unexpected character";
	return -1;
}

/* Parse a whole document; -1 and jerr on error. */
static int
j_parse(const char *text)
{
	int			root;

	jn_used = 0;
	jstr_used = 0;
	jerr = NULL;
	jp = text;
	root = j_value();
	if (root < 0)
		return -1;
	j_ws();
	if (*jp != '\0')
	{
		jerr = "trailing garbage";
		return -1;
	}
	return root;
}

static int
j_get(int obj, const char *key)
{
	for (int c = jn[obj].child; c >= 0; c = jn[c].next)
		if (strcmp(jn[c].key, key) == 0)
			return c;
	return -1;
}

static bool
j_is_uint(int n)
{
	return n >= 0 && jn[n].type == J_NUM && jn[n].is_int;
}

static const char *
stats_json(mcxt_context_t *ctx, int *rc)
{
	FILE	   *f = tmpfile();

	if (f == NULL)
		return "";
	*rc = mcxt_stats_json(ctx, f);
	return th_slurp(f);
}

/* What the JSON must say about one context. */
typedef struct jexpect
{
	mcxt_context_t *ctx;
	const char *name;
	const char *parent;
	int			level;
	int			id;				/* breadth-first */
	int			parent_id;
	bool		seen;
} jexpect;

static const char *const context_keys[] = {
	"name", "ident", "type", "level", "parent", "path", "total_bytes", "total_nblocks",
	"free_bytes", "free_chunks", "used_bytes", "mem_allocated", "bytes_alloc",
	"bytes_freed", "max_bytes_held"
};

#define NKEYS (sizeof(context_keys) / sizeof(context_keys[0]))

static unsigned long long
jnum(int obj, const char *key)
{
	int			n = j_get(obj, key);

	return j_is_uint(n) ? jn[n].inum : ~0ULL;
}

static void
test_stats_json(void)
{
	jexpect		ex[] = {
		{sc.root, "StatsRoot", NULL, 0, 1, 0, false},
		{sc.b, "ChildB", "StatsRoot", 1, 2, 1, false},
		{sc.a, "ChildA", "StatsRoot", 1, 3, 1, false},
		{sc.g, "GrandChild", "ChildB", 2, 4, 2, false},
		{sc.ga, "GrandA", "ChildA", 2, 5, 3, false},
	};
	const int	nex = (int) (sizeof(ex) / sizeof(ex[0]));
	int			rc = 99;
	const char *text = stats_json(sc.root, &rc);
	int			root;
	int			ctxs;
	int			gt;
	mcxt_counters_t sum = {0, 0, 0, 0};

	CHECK_EQ(rc, 0);
	root = j_parse(text);
	if (!CHECK_MSG(root >= 0, "JSON does not parse: %s at offset %td", jerr ? jerr : "?",
				   jp - text))
	{
		fprintf(stderr, "%s\n", text);
		return;
	}
	REQUIRE(jn[root].type == J_OBJ);
	CHECK_EQ(jn[root].count, 2);
	ctxs = j_get(root, "contexts");
	gt = j_get(root, "grand_total");
	REQUIRE(ctxs >= 0 && jn[ctxs].type == J_ARR);
	REQUIRE(gt >= 0 && jn[gt].type == J_OBJ);
	CHECK_EQ(jn[ctxs].count, nex);

	for (int e = jn[ctxs].child; e >= 0; e = jn[e].next)
	{
		int			name = j_get(e, "name");
		int			path = j_get(e, "path");
		jexpect    *x = NULL;
		mcxt_counters_t c;
		mcxt_accounting_t a;
		int			plen = 0;
		int			pid[8];

		REQUIRE(jn[e].type == J_OBJ);
		CHECK_EQ(jn[e].count, NKEYS);
		for (size_t k = 0; k < NKEYS; k++)
			CHECK_MSG(j_get(e, context_keys[k]) >= 0, "context object lacks \"%s\"", context_keys[k]);
		REQUIRE(name >= 0 && jn[name].type == J_STR);
		for (int i = 0; i < nex; i++)
			if (strcmp(ex[i].name, jn[name].str) == 0)
				x = &ex[i];
		if (!CHECK_MSG(x != NULL, "unexpected context \"%s\"", jn[name].str))
			continue;
		th_set_note("context %s", x->name);
		CHECK(!x->seen);
		x->seen = true;
		/* ident */
		{
			int			id = j_get(e, "ident");

			if (x->ctx == sc.a)
				CHECK(id >= 0 && jn[id].type == J_STR && strcmp(jn[id].str, "id-a") == 0);
			else
				CHECK(id >= 0 && jn[id].type == J_NULL);
		}
		CHECK(j_get(e, "type") >= 0 && jn[j_get(e, "type")].type == J_STR &&
			  strcmp(jn[j_get(e, "type")].str, "AllocSet") == 0);
		CHECK_EQ(jnum(e, "level"), (unsigned) x->level);
		{
			int			p = j_get(e, "parent");

			if (x->parent == NULL)
				CHECK(p >= 0 && jn[p].type == J_NULL);
			else
				CHECK(p >= 0 && jn[p].type == J_STR && strcmp(jn[p].str, x->parent) == 0);
		}
		/* path: breadth-first ids from the dumped context (1) down to this one */
		REQUIRE(path >= 0 && jn[path].type == J_ARR);
		for (int i = jn[path].child; i >= 0 && plen < 8; i = jn[i].next)
		{
			CHECK(j_is_uint(i));
			pid[plen++] = (int) jn[i].inum;
		}
		CHECK_EQ(plen, x->level + 1);
		if (plen == x->level + 1)
		{
			CHECK_EQ(pid[0], 1);
			CHECK_EQ(pid[plen - 1], x->id);
			if (plen >= 2)
				CHECK_EQ(pid[plen - 2], x->parent_id);
		}
		/* numbers */
		mcxt_mem_consumed(x->ctx, false, &c);
		mcxt_get_accounting(x->ctx, false, &a);
		CHECK_EQ(jnum(e, "total_bytes"), c.totalspace);
		CHECK_EQ(jnum(e, "total_nblocks"), c.nblocks);
		CHECK_EQ(jnum(e, "free_bytes"), c.freespace);
		CHECK_EQ(jnum(e, "free_chunks"), c.freechunks);
		CHECK_EQ(jnum(e, "used_bytes"), c.totalspace - c.freespace);
		CHECK_EQ(jnum(e, "mem_allocated"), a.mem_allocated);
		CHECK_EQ(jnum(e, "bytes_alloc"), a.bytes_alloc);
		CHECK_EQ(jnum(e, "bytes_freed"), a.bytes_freed);
		CHECK_EQ(jnum(e, "max_bytes_held"), a.max_bytes_held);
		/* and the hand-computed values */
		{
			const asetsim *s = x->ctx == sc.root ? &sc.sroot : x->ctx == sc.a ? &sc.sa :
				x->ctx == sc.b ? &sc.sb : x->ctx == sc.g ? &sc.sg : &sc.sga;

			CHECK_EQ(jnum(e, "total_bytes"), s->total);
			CHECK_EQ(jnum(e, "free_bytes"), sim_freespace(s));
		}
		add_counters(&sum, &c);
	}
	th_note[0] = '\0';
	for (int i = 0; i < nex; i++)
		CHECK_MSG(ex[i].seen, "context %s missing from JSON", ex[i].name);
	CHECK_EQ(jn[gt].count, 5);
	CHECK_EQ(jnum(gt, "total_bytes"), sum.totalspace);
	CHECK_EQ(jnum(gt, "total_nblocks"), sum.nblocks);
	CHECK_EQ(jnum(gt, "free_bytes"), sum.freespace);
	CHECK_EQ(jnum(gt, "free_chunks"), sum.freechunks);
	CHECK_EQ(jnum(gt, "used_bytes"), sum.totalspace - sum.freespace);
}

/* Strings that need escaping come back intact; a failing stream gives -1. */
static void
test_stats_json_escaping(void)
{
	static const char ident[] = "say \"hi\" \\ back/slash \xc3\xa9";
	mcxt_context_t *ctx = mcxt_aset_create(NULL, "Esc\"aped", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *child = mcxt_aset_create(ctx, "Ctl", ALLOCSET_SMALL_SIZES);
	int			rc = 99;
	const char *text;
	int			root;

	mcxt_set_ident(ctx, ident);
	mcxt_set_ident(child, "line1\nline2\ttab");
	text = stats_json(ctx, &rc);
	CHECK_EQ(rc, 0);
	root = j_parse(text);
	if (CHECK_MSG(root >= 0, "JSON does not parse: %s", jerr ? jerr : "?"))
	{
		int			ctxs = j_get(root, "contexts");
		int			found = 0;

		REQUIRE(ctxs >= 0);
		for (int e = jn[ctxs].child; e >= 0; e = jn[e].next)
		{
			int			name = j_get(e, "name");
			int			id = j_get(e, "ident");

			REQUIRE(name >= 0 && id >= 0 && jn[id].type == J_STR);
			if (strcmp(jn[name].str, "Esc\"aped") == 0)
			{
				CHECK_STR(jn[id].str, ident);
				found++;
			}
			else if (strcmp(jn[name].str, "Ctl") == 0)
			{
				/* either escaped faithfully or shown with spaces as in the text */
				CHECK(strcmp(jn[id].str, "line1\nline2\ttab") == 0 ||
					  strcmp(jn[id].str, "line1 line2 tab") == 0);
				CHECK(strcmp(jn[j_get(e, "parent")].str, "Esc\"aped") == 0);
				found++;
			}
		}
		CHECK_EQ(found, 2);
	}
	else
		fprintf(stderr, "%s\n", text);
	{
		FILE	   *ro = fopen("/dev/null", "r");

		if (CHECK(ro != NULL))
		{
			CHECK_EQ(mcxt_stats_json(ctx, ro), -1);
			fclose(ro);
		}
	}
	mcxt_delete(ctx);
}

int
main(void)
{
	th_catch_errors();
	RUN(test_stats_text);
	RUN(test_stats_spellings);
	RUN(test_stats_json);
	RUN(test_stats_limits);
	RUN(test_stats_hundred_children);
	RUN(test_stats_ident);
	RUN(test_stats_json_escaping);
	mcxt_delete(sc.root);
	mcxt_thread_cleanup();
	return th_report();
}
