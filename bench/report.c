/*
 * report.c
 *	  Turn the raw lines of a benchmark run into the reports.
 *
 *	  mcxt_bench_report RAW OUTDIR
 *
 * RAW holds the lines bench/run.sh collected:
 *	  M key=value...		metadata (command, date, machine, rounds, git revision)
 *	  S alloc=NAME reason=TEXT	an allocator that was skipped (reason to the end of line)
 *	  R alloc=... wl=W1 rep=N ...	one timed repetition (see main.c)
 *	  C alloc=... wl=W1 ops=N ir=N harness_ir=N	callgrind totals of one repetition
 *	  F alloc=... wl=W1 ir=N fn=NAME	a function's self cost in that repetition
 *
 * Writes OUTDIR/results.csv (one row per allocator x workload), OUTDIR/
 * chart.dat and OUTDIR/chart.gp (for gnuplot; run.sh renders chart.png),
 * OUTDIR/results.md (the tables for docs/BENCHMARKS.md) and prints the same
 * tables as text on stdout.  Exit status 1 if a timed or callgrind run
 * reported content errors.
 *
 * What is reported, per allocator and workload:
 *	- ns/op: median thread-CPU time per operation.  W1, W2, W3, W5, W6 use
 *	  the warm repetitions (rep >= 1); W4, the leak shape, uses the cold
 *	  repetition 0 (fresh process, fresh memory), as in the reference
 *	  measurements (perf.md).  The quartiles are in the CSV.
 *	- Ir/op: callgrind instructions per operation (reduced scale, warm
 *	  repetition); the part spent in the harness's own code is in the CSV.
 *	- peak RSS: VmHWM - VmRSS over the cold repetition's timed region.
 *	- B/chunk: that peak divided by the chunks live at the peak (W1, W2,
 *	  W4); ctx B/chunk: what the context itself reports holding, per chunk.
 *	- ratios of ns/op and Ir/op to PostgreSQL 15 and to the bump floor.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXALLOC	16
#define NWL			6
#define MAXSAMPLES	256
#define MAXFN		64

static const char *const order[] = {
	"mcxt", "mcxt_gen", "mcxt_bump", "mcxt_slab", "mcxt_limit",
	"pg15", "glibc", "jemalloc", "mimalloc", "tcmalloc", "talloc", "apr", "bump", NULL
};
static const char *const colour[] = {
	"#d62728", "#ff9896", "#e377c2", "#8c564b", "#ffbb78",
	"#2ca02c", "#1f77b4", "#ff7f0e", "#bcbd22", "#17becf", "#9467bd", "#7f7f7f", "#303030"
};

static const char *const wl_unit[NWL] = {
	"ns/op", "ns/alloc", "ns/byte", "ns/chunk (cold)", "ns/context", "ns/row"
};
static const char *const wl_title[NWL] = {
	"W1 small churn (10M alloc/free over ~10k live chunks)",
	"W2 query lifecycle (100 x: 100k allocations, reset)",
	"W3 growth (realloc doubling 64 B -> 64 MiB, 8 builds)",
	"W4 leak shape (1M x alloc(128) + \"base/16392\", cold process)",
	"W5 many contexts (1M x: create, 3 allocations, delete)",
	"W6 executor trace (per-tuple reset every row, 200 queries x 5000 rows)"
};

typedef struct fncost
{
	char		name[96];
	double		ir;
} fncost;

typedef struct cell
{
	double		ns[MAXSAMPLES];
	int			nns;
	double		wall[MAXSAMPLES];
	int			nwall;
	double		rss_kb[MAXSAMPLES];		/* cold: peak - base */
	double		bpc[MAXSAMPLES];	/* cold: bytes per live chunk */
	double		ctxpc[MAXSAMPLES];	/* context bytes per live chunk */
	double		faults[MAXSAMPLES];	/* cold minor faults */
	int			ncold;
	double		stride;
	double		ir,
				harness_ir,
				cg_ops;
	int			have_cg;
	fncost		fns[MAXFN];
	int			nfns;
	int			errors;
} cell;

typedef struct alloc
{
	char		name[32];
	char		skip[256];
	cell		w[NWL];
} alloc;

static alloc allocs[MAXALLOC];
static int	nallocs;
static char meta[32][256];	/* metadata lines, truncated to 255 bytes */
static int	nmeta;
static int	any_errors;

static alloc *
find_alloc(const char *name, int create)
{
	for (int i = 0; i < nallocs; i++)
		if (strcmp(allocs[i].name, name) == 0)
			return &allocs[i];
	if (!create || nallocs == MAXALLOC)
		return NULL;
	snprintf(allocs[nallocs].name, sizeof(allocs[nallocs].name), "%s", name);
	return &allocs[nallocs++];
}

/* The value of key= in a line of space-separated key=value fields. */
static const char *
field(const char *line, const char *key, char *buf, size_t len)
{
	size_t		klen = strlen(key);
	const char *s = line;

	while ((s = strstr(s, key)) != NULL)
	{
		if ((s == line || s[-1] == ' ') && s[klen] == '=')
		{
			const char *v = s + klen + 1;
			size_t		n = strcspn(v, " \n");

			if (n >= len)
				n = len - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		s += klen;
	}
	return NULL;
}

static double
num(const char *line, const char *key)
{
	char		buf[64];

	return field(line, key, buf, sizeof(buf)) ? strtod(buf, NULL) : NAN;
}

static int
wl_index(const char *line)
{
	char		buf[8];

	if (!field(line, "wl", buf, sizeof(buf)) || buf[0] != 'W' || buf[1] < '1' || buf[1] > '6')
		return -1;
	return buf[1] - '1';
}

static void
parse_line(char *line)
{
	char		name[64];
	alloc	   *a;
	cell	   *c;
	int			w;

	line[strcspn(line, "\n")] = '\0';
	if (line[0] == 'M' && line[1] == ' ')
	{
		if (nmeta < 32)
			snprintf(meta[nmeta++], sizeof(meta[0]), "%.255s", line + 2);
		return;
	}
	if (!field(line, "alloc", name, sizeof(name)) || !(a = find_alloc(name, 1)))
		return;
	if (line[0] == 'S')
	{
		const char *r = strstr(line, "reason=");

		snprintf(a->skip, sizeof(a->skip), "%s", r ? r + 7 : "skipped");
		return;
	}
	if ((w = wl_index(line)) < 0)
		return;
	c = &a->w[w];
	if (line[0] == 'R')
	{
		double		ops = num(line, "ops"),
					cpu = num(line, "cpu_ns"),
					wall = num(line, "wall_ns");
		int			rep = (int) num(line, "rep");
		int			use = (w == 3) ? rep == 0 : rep >= 1;

		if (num(line, "errors") > 0)
			c->errors = any_errors = 1;
		if (!(ops > 0))
			return;
		if (use && c->nns < MAXSAMPLES)
		{
			c->ns[c->nns++] = cpu / ops;
			c->wall[c->nwall++] = wall / ops;
		}
		if (rep == 0 && c->ncold < MAXSAMPLES)
		{
			double		d = num(line, "hwm_kb") - num(line, "rss_base_kb");
			double		live = num(line, "live"),
						ctx = num(line, "ctx_bytes");

			if (d < 0)
				d = 0;
			c->rss_kb[c->ncold] = d;
			c->bpc[c->ncold] = live > 0 ? d * 1024.0 / live : NAN;
			c->ctxpc[c->ncold] = live > 0 && ctx > 0 ? ctx / live : NAN;
			c->faults[c->ncold] = num(line, "minflt");
			c->ncold++;
			if (w == 3)
				c->stride = num(line, "stride");
		}
	}
	else if (line[0] == 'C')
	{
		c->ir = num(line, "ir");
		c->harness_ir = num(line, "harness_ir");
		c->cg_ops = num(line, "ops");
		c->have_cg = c->cg_ops > 0 && c->ir > 0;
		if (num(line, "errors") > 0)
			c->errors = any_errors = 1;
	}
	else if (line[0] == 'F' && c->nfns < MAXFN)
	{
		const char *f = strstr(line, "fn=");

		if (f)
		{
			snprintf(c->fns[c->nfns].name, sizeof(c->fns[0].name), "%s", f + 3);
			c->fns[c->nfns].ir = num(line, "ir");
			c->nfns++;
		}
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Quantile q (0..1) of n values, ignoring NaNs; NaN when there are none. */
static double
quantile(const double *v, int n, double q)
{
	double		tmp[MAXSAMPLES];
	int			m = 0;
	double		pos;
	int			lo;

	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			tmp[m++] = v[i];
	if (m == 0)
		return NAN;
	qsort(tmp, (size_t) m, sizeof(double), cmp_double);
	pos = q * (m - 1);
	lo = (int) pos;
	if (lo + 1 >= m)
		return tmp[m - 1];
	return tmp[lo] + (pos - lo) * (tmp[lo + 1] - tmp[lo]);
}

static double
median(const double *v, int n)
{
	return quantile(v, n, 0.5);
}

static double
ns_of(const alloc *a, int w)
{
	return a ? median(a->w[w].ns, a->w[w].nns) : NAN;
}

static double
ir_of(const alloc *a, int w)
{
	return a && a->w[w].have_cg ? a->w[w].ir / a->w[w].cg_ops : NAN;
}

/* A number with 3 significant digits (as text), "-" for NaN. */
static const char *
fmt3(char *buf, double v)
{
	if (isnan(v))
		return strcpy(buf, "-");
	if (v >= 1000)
		sprintf(buf, "%.0f", v);
	else if (v >= 100)
		sprintf(buf, "%.0f", v);
	else if (v >= 10)
		sprintf(buf, "%.1f", v);
	else if (v >= 1)
		sprintf(buf, "%.2f", v);
	else
		sprintf(buf, "%.3f", v);
	return buf;
}

static const char *
fmt_ratio(char *buf, double v)
{
	if (isnan(v) || isinf(v))
		return strcpy(buf, "-");
	sprintf(buf, "%.2fx", v);
	return buf;
}

/* ---- the per-workload tables (text on stdout, markdown in results.md) ---- */

static void
print_tables(FILE *md)
{
	alloc	   *pg = find_alloc("pg15", 0);
	alloc	   *bump = find_alloc("bump", 0);

	for (int w = 0; w < NWL; w++)
	{
		printf("\n%s\n", wl_title[w]);
		printf("%-9s %10s %7s %7s %8s %7s %7s %9s %8s %8s\n", "allocator", wl_unit[w] + 0,
			   "xPG15", "xbump", "Ir/op", "xPG15", "xbump", "peakRSS", "B/chunk", "ctxB/ch");
		fprintf(md, "\n### %s\n\n", wl_title[w]);
		fprintf(md, "| allocator | %s (median) | vs PG15 | vs bump | Ir/op | vs PG15 | vs bump | peak RSS MB | B/chunk (RSS) | B/chunk (context) |\n",
				wl_unit[w]);
		fprintf(md, "|---|---|---|---|---|---|---|---|---|---|\n");
		for (int o = 0; order[o]; o++)
		{
			alloc	   *a = find_alloc(order[o], 0);
			cell	   *c;
			char		b[10][32];
			double		ns,
						ir;

			if (!a)
				continue;
			if (a->skip[0])
			{
				printf("%-9s skipped: %s\n", a->name, a->skip);
				fprintf(md, "| %s | skipped: %s |||||||||\n", a->name, a->skip);
				continue;
			}
			c = &a->w[w];
			if (c->nns == 0 && c->ncold == 0 && !c->have_cg)
				continue;		/* a workload this allocator cannot run */
			ns = ns_of(a, w);
			ir = ir_of(a, w);
			fmt3(b[0], ns);
			fmt_ratio(b[1], ns / ns_of(pg, w));
			fmt_ratio(b[2], ns / ns_of(bump, w));
			fmt3(b[3], ir);
			fmt_ratio(b[4], ir / ir_of(pg, w));
			fmt_ratio(b[5], ir / ir_of(bump, w));
			fmt3(b[6], median(c->rss_kb, c->ncold) / 1024.0);
			fmt3(b[7], median(c->bpc, c->ncold));
			fmt3(b[8], median(c->ctxpc, c->ncold));
			if (w == 3 && c->stride > 0)
				snprintf(b[9], sizeof(b[9]), "%.12s (stride %.0f)", b[7], c->stride);
			else
				strcpy(b[9], b[7]);
			printf("%-9s %10s %7s %7s %8s %7s %7s %9s %8s %8s%s\n", a->name, b[0], b[1], b[2],
				   b[3], b[4], b[5], b[6], b[7], b[8], c->errors ? "  CONTENT ERRORS" : "");
			fprintf(md, "| %s%s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%s\n",
					strcmp(a->name, "mcxt") == 0 ? "**" : "", a->name,
					strcmp(a->name, "mcxt") == 0 ? "**" : "",
					b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[9], b[8],
					c->errors ? " **content errors**" : "");
		}
	}
}

/* ---- the issue's targets ------------------------------------------------ */

typedef struct target
{
	int			w;
	double		pg15,
				mimalloc,
				jemalloc,
				glibc,
				bump,
				goal;
	const char *goal_text;
} target;

static const target targets[] = {
	{0, 55, 39, 53, 91, 20, 38, "<= 38 (faster than every peer)"},
	{1, 70, 77, 292, 357, 19, 30, "<= 30"},
	{3, 75, 42, 157, 180, 21, 35, "<= 35"},
	{4, 437, 350, 235, 420, 399, 200, "<= 200"},
};

static const char *const peers[] = {
	"pg15", "glibc", "jemalloc", "mimalloc", "tcmalloc", "talloc", "apr", NULL
};

static void
issue_cell(char *buf, double issue, const char *name, int w)
{
	double		now = ir_of(find_alloc(name, 0), w);
	char		t[32];

	if (isnan(now))
		sprintf(buf, "%.0f", issue);
	else
		sprintf(buf, "%.0f (%s)", issue, fmt3(t, now));
}

static int
print_targets(FILE *md)
{
	alloc	   *m = find_alloc("mcxt", 0);
	int			missed = 0;

	fprintf(md, "\n## Targets (issue 4)\n\n");
	fprintf(md, "Instructions per operation under callgrind.  Peer columns: the issue's figure, "
			"then this run's in parentheses (same workload, this harness).\n\n");
	fprintf(md, "The last two columns move each target by this harness's own offset, i.e. by how "
			"many more instructions per operation the bump floor costs here than in the issue's "
			"reference harness (perf.md); the verdict that counts is the first one.\n\n");
	fprintf(md, "The verdicts are for libmcxt's AllocSet (the default, PostgreSQL-compatible "
			"type); the last column shows libmcxt's other context types on the same workload.\n\n");
	fprintf(md, "| workload | PG15 AllocSet | mimalloc | jemalloc | glibc | bump floor | libmcxt target | libmcxt (this run) | verdict | target + harness offset | verdict (offset) | other libmcxt types |\n");
	fprintf(md, "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	printf("\nTargets (Ir/op; issue figure, this run in parentheses)\n");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
	{
		const target *t = &targets[i];
		char		c[5][48],
					mv[32];
		double		v = ir_of(m, t->w);
		const char *verdict;

		issue_cell(c[0], t->pg15, "pg15", t->w);
		issue_cell(c[1], t->mimalloc, "mimalloc", t->w);
		issue_cell(c[2], t->jemalloc, "jemalloc", t->w);
		issue_cell(c[3], t->glibc, "glibc", t->w);
		issue_cell(c[4], t->bump, "bump", t->w);
		fmt3(mv, v);
		if (isnan(v))
			verdict = "not measured";
		else if (v <= t->goal)
			verdict = "met";
		else
		{
			verdict = "**MISSED**";
			missed++;
		}
		{
			double		off = ir_of(find_alloc("bump", 0), t->w) - t->bump;
			double		adj = t->goal + (isnan(off) ? 0 : off);
			char		at[48];

			char		others[160] = "";
			static const char *const types[] = {"mcxt_gen", "mcxt_bump", "mcxt_slab", NULL};

			for (int k = 0; types[k]; k++)
			{
				double		x = ir_of(find_alloc(types[k], 0), t->w);
				char		num[32],
							part[48];

				if (isnan(x))
					continue;
				snprintf(part, sizeof(part), "%s%s %s", others[0] ? ", " : "", types[k] + 5,
						 fmt3(num, x));
				strncat(others, part, sizeof(others) - strlen(others) - 1);
			}
			snprintf(at, sizeof(at), "<= %.0f (%+.0f)", adj, isnan(off) ? 0 : off);
			fprintf(md, "| W%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t->w + 1,
					c[0], c[1], c[2], c[3], c[4], t->goal_text, mv, verdict, at,
					isnan(v) ? "-" : v <= adj ? "met" : "missed", others[0] ? others : "-");
		}
		printf("  W%d  target %-32s libmcxt %8s  %s\n", t->w + 1, t->goal_text, mv,
			   verdict[0] == '*' ? "MISSED" : verdict);
	}

	/* wall time: no slower than the fastest peer on W1, W2, W4, W5 */
	fprintf(md, "\nWall-clock targets (median thread-CPU ns/op of this run; on this shared "
			"2-vCPU VM differences under about 25 %% are within run-to-run noise):\n\n");
	fprintf(md, "| target | libmcxt | reference | ratio | verdict |\n|---|---|---|---|---|\n");
	{
		static const int ws[] = {0, 1, 3, 4};

		for (size_t k = 0; k < 4; k++)
		{
			int			w = ws[k];
			double		best = NAN;
			const char *bestname = "-";
			double		v = ns_of(m, w);
			char		a[32],
						b[32],
						r[32];
			const char *verdict;

			for (int p = 0; peers[p]; p++)
			{
				double		x = ns_of(find_alloc(peers[p], 0), w);

				if (!isnan(x) && (isnan(best) || x < best))
				{
					best = x;
					bestname = peers[p];
				}
			}
			if (isnan(v) || isnan(best))
				verdict = "not measured";
			else if (v <= best)
				verdict = "met";
			else
			{
				verdict = "**MISSED**";
				missed++;
			}
			fprintf(md, "| W%d no slower than the fastest peer | %s %s | %s %s | %s | %s%s |\n",
					w + 1, fmt3(a, v), wl_unit[w], bestname, fmt3(b, best),
					fmt_ratio(r, v / best), verdict,
					w == 0 && strcmp(bestname, "apr") == 0 ?
					" (APR's W1 never frees: its free is a no-op)" : "");
			printf("  W%d  wall: libmcxt %s vs fastest peer %s %s: %s\n", w + 1, fmt3(a, v),
				   bestname, fmt3(b, best), verdict[0] == '*' ? "MISSED" : verdict);
		}
	}
	{
		double		v = ns_of(m, 1),
					f = ns_of(find_alloc("bump", 0), 1);
		char		a[32],
					b[32],
					r[32];
		const char *verdict;

		if (isnan(v) || isnan(f))
			verdict = "not measured";
		else if (v <= 1.5 * f)
			verdict = "met";
		else
		{
			verdict = "**MISSED**";
			missed++;
		}
		fprintf(md, "| W2 within 1.5x of the bump floor | %s ns/alloc | bump %s | %s | %s |\n",
				fmt3(a, v), fmt3(b, f), fmt_ratio(r, v / f), verdict);
		printf("  W2  wall: libmcxt %s vs 1.5 x bump %s: %s\n", a, b,
			   verdict[0] == '*' ? "MISSED" : verdict);
	}
	return missed;
}

/* ---- CSV and chart ------------------------------------------------------- */

static void
write_csv(const char *path)
{
	FILE	   *f = fopen(path, "w");
	alloc	   *pg = find_alloc("pg15", 0);
	alloc	   *bump = find_alloc("bump", 0);

	if (!f)
	{
		perror(path);
		exit(2);
	}
	fprintf(f, "allocator,workload,unit,status,ns_median,ns_q1,ns_q3,samples,wall_median,"
			"ns_vs_pg15,ns_vs_bump,ir_per_op,harness_ir_per_op,allocator_ir_per_op,"
			"ir_vs_pg15,ir_vs_bump,peak_rss_mb,bytes_per_chunk_rss,bytes_per_chunk_context,"
			"stride,cold_faults,content_errors\n");
	for (int o = 0; order[o]; o++)
	{
		alloc	   *a = find_alloc(order[o], 0);

		if (!a)
			continue;
		for (int w = 0; w < NWL; w++)
		{
			cell	   *c = &a->w[w];
			double		ir = ir_of(a, w);
			double		h = c->have_cg ? c->harness_ir / c->cg_ops : NAN;

			if (a->skip[0] || (c->nns == 0 && c->ncold == 0 && !c->have_cg))
			{
				fprintf(f, "%s,W%d,%s,%s,,,,0,,,,,,,,,,,,,,\n", a->name, w + 1, wl_unit[w],
						a->skip[0] ? "skipped" : "not applicable");
				continue;
			}
			fprintf(f, "%s,W%d,%s,ok,%.4g,%.4g,%.4g,%d,%.4g,%.3f,%.3f,%.4g,%.4g,%.4g,%.3f,%.3f,"
					"%.4g,%.4g,%.4g,%.0f,%.0f,%d\n",
					a->name, w + 1, wl_unit[w],
					ns_of(a, w), quantile(c->ns, c->nns, 0.25), quantile(c->ns, c->nns, 0.75),
					c->nns, median(c->wall, c->nwall),
					ns_of(a, w) / ns_of(pg, w), ns_of(a, w) / ns_of(bump, w),
					ir, h, ir - h, ir / ir_of(pg, w), ir / ir_of(bump, w),
					median(c->rss_kb, c->ncold) / 1024.0, median(c->bpc, c->ncold),
					median(c->ctxpc, c->ncold), c->stride, median(c->faults, c->ncold),
					c->errors);
		}
	}
	fclose(f);
}

static void
write_chart(const char *dir)
{
	char		path[4096];
	FILE	   *f;
	alloc	   *pg = find_alloc("pg15", 0);
	int			ncol = 0;
	char		colours[256] = "";

	snprintf(path, sizeof(path), "%s/chart.dat", dir);
	if (!(f = fopen(path, "w")))
	{
		perror(path);
		exit(2);
	}
	fprintf(f, "workload");
	for (int o = 0; order[o]; o++)
	{
		alloc	   *a = find_alloc(order[o], 0);

		if (a && !a->skip[0])
		{
			fprintf(f, " %s", a->name);
			strcat(colours, colour[o]);
			strcat(colours, " ");
			ncol++;
		}
	}
	fprintf(f, "\n");
	for (int pass = 0; pass < 2; pass++)
		for (int w = 0; w < NWL; w++)
		{
			fprintf(f, "W%d", w + 1);
			for (int o = 0; order[o]; o++)
			{
				alloc	   *a = find_alloc(order[o], 0);
				double		v;

				if (!a || a->skip[0])
					continue;
				v = pass == 0 ? ns_of(a, w) / ns_of(pg, w) : ir_of(a, w) / ir_of(pg, w);
				if (isnan(v) || isinf(v) || v <= 0)
					fprintf(f, " NaN");
				else
					fprintf(f, " %.4f", v);
			}
			fprintf(f, "\n");
		}
	fclose(f);

	snprintf(path, sizeof(path), "%s/chart.gp", dir);
	if (!(f = fopen(path, "w")))
	{
		perror(path);
		exit(2);
	}
	fprintf(f,
			"set terminal pngcairo noenhanced size 1400,900 font ',10'\n"
			"set output '%s/chart.png'\n"
			"set multiplot layout 2,1 title 'libmcxt vs peers, relative to PostgreSQL 15 AllocSet "
			"(1.0 = PG15; lower is better; log scale)'\n"
			"set style data histograms\n"
			"set style histogram clustered gap 1\n"
			"set style fill solid 0.85 border -1\n"
			"set logscale y\n"
			"set yrange [0.02:20]\n"
			"set grid ytics\n"
			"set key outside right top\n"
			"set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 front\n"
			"colours = '%s'\n"
			"set title 'median thread-CPU time per operation / PG15'\n"
			"plot for [i=2:%d] '%s/chart.dat' every ::0::5 using i:xtic(1) "
			"title columnheader(i) lc rgb word(colours, i - 1)\n"
			"set title 'callgrind instructions per operation / PG15'\n"
			"plot for [i=2:%d] '%s/chart.dat' every ::6::11 using i:xtic(1) "
			"title columnheader(i) lc rgb word(colours, i - 1)\n"
			"unset multiplot\n",
			dir, colours, ncol + 1, dir, ncol + 1, dir);
	fclose(f);
}

/* Top functions of libmcxt's runs (for the interim report). */
static void
write_profile(const char *dir)
{
	char		path[4096];
	FILE	   *f;
	alloc	   *m = find_alloc("mcxt", 0);

	if (!m)
		return;
	snprintf(path, sizeof(path), "%s/profile.md", dir);
	if (!(f = fopen(path, "w")))
		return;
	for (int w = 0; w < NWL; w++)
	{
		cell	   *c = &m->w[w];

		if (!c->have_cg || c->nfns == 0)
			continue;
		fprintf(f, "\n#### libmcxt W%d: %.1f Ir/op (harness %.1f, allocator %.1f); "
				"self cost per op of the top functions\n\n", w + 1, c->ir / c->cg_ops,
				c->harness_ir / c->cg_ops, (c->ir - c->harness_ir) / c->cg_ops);
		fprintf(f, "| function | Ir/op | share |\n|---|---|---|\n");
		for (int i = 0; i < c->nfns; i++)
			if (c->fns[i].ir / c->cg_ops >= 0.01)
				fprintf(f, "| `%s` | %.2f | %.1f %% |\n", c->fns[i].name, c->fns[i].ir / c->cg_ops,
					100.0 * c->fns[i].ir / c->ir);
	}
	fclose(f);
}

int
main(int argc, char **argv)
{
	FILE	   *in,
			   *md;
	char		line[4096];
	char		path[4096];
	int			missed;

	if (argc != 3)
	{
		fprintf(stderr, "usage: mcxt_bench_report RAW OUTDIR\n");
		return 2;
	}
	if (!(in = fopen(argv[1], "r")))
	{
		perror(argv[1]);
		return 2;
	}
	while (fgets(line, sizeof(line), in))
		parse_line(line);
	fclose(in);

	snprintf(path, sizeof(path), "%s/results.md", argv[2]);
	if (!(md = fopen(path, "w")))
	{
		perror(path);
		return 2;
	}
	fprintf(md, "Run metadata:\n\n");
	for (int i = 0; i < nmeta; i++)
		fprintf(md, "- %s\n", meta[i]);
	for (int i = 0; i < nmeta; i++)
		printf("%s\n", meta[i]);
	fprintf(md, "\n![ns/op and Ir/op relative to PostgreSQL 15, per workload](../bench/benchmarks.png)\n");
	print_tables(md);
	missed = print_targets(md);
	fprintf(md, "\n%d target%s missed in this run.\n", missed, missed == 1 ? "" : "s");
	printf("\n%d target%s missed in this run.\n", missed, missed == 1 ? "" : "s");
	fclose(md);

	snprintf(path, sizeof(path), "%s/results.csv", argv[2]);
	write_csv(path);
	write_chart(argv[2]);
	write_profile(argv[2]);
	if (any_errors)
		fprintf(stderr, "mcxt_bench_report: some runs read back wrong contents\n");
	return any_errors ? 1 : 0;
}
