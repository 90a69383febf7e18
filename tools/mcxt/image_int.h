/*
 * image_int.h
 *	  The image's internals, shared by image.c (common code: regions, reads,
 *	  files, symbols), core.c (ELF core backend) and live.c (/proc backend).
 *	  Nothing outside those three files includes this.
 */
#ifndef MCXT_TOOL_IMAGE_INT_H
#define MCXT_TOOL_IMAGE_INT_H

#include "elfread.h"
#include "image.h"

/* Hard caps, so a damaged core cannot make us allocate without bound. */
#define IMG_MAX_REGIONS		(1u << 20)
#define IMG_MAX_THREADS		(1u << 16)
#define IMG_MAX_FILES		(1u << 14)
#define IMG_MAX_WARNINGS	200

/*
 * A file named by the image (NT_FILE, /proc/PID/maps, --exe).  Opened and
 * checked lazily, the first time its bytes or symbols are needed.
 */
typedef struct image_file
{
	char	   *path;			/* as the image names it */
	char	   *open_path;		/* what we open (differs with --exe) */
	bool		tried;
	bool		usable;			/* mapped, and not known to differ */
	char		why_bad[256];	/* why not usable (empty if usable or not tried) */
	const unsigned char *map;
	size_t		size;
	bool		is_elf;
	elf_obj		elf;
	bool		has_bias;
	uint64_t	bias;
	size_t		rl_start;		/* this file's regions: file_rlist[rl_start ..] */
	size_t		rl_count;
} image_file;

struct image
{
	image_kind	kind;
	image_opts	opts;
	char	   *target;
	char	   *exe_opt;		/* copy of opts.exe */

	/* core */
	const unsigned char *map;
	size_t		size;
	bool		own_map;
	image_producer producer;
	bool		has_nt_file;

	image_region *regions;
	size_t		nregions;
	size_t		cap_regions;

	image_thread *threads;
	size_t		nthreads;

	uint64_t   *auxv;			/* type, value pairs */
	size_t		nauxv;

	image_file *files;
	size_t		nfiles;
	size_t		cap_files;
	int		   *fhash;			/* open-addressing index of files by path */
	size_t	   *file_rlist;		/* region indices grouped by file (imgi_index_files) */
	size_t		fhcap;
	int			exe_file;		/* index in files, or -1 */

	int			pid;
	char	   *cmdline;

	/* live */
	int			memfd;
	int64_t    *stopped;		/* threads we hold */
	size_t		nstopped;
	double		freeze_ms;		/* start time while stopped, then the duration */
	bool		released;
	bool		has_cdfilter;
	unsigned	cdfilter;

	char	  **warnings;
	size_t		nwarnings;
	bool		warnings_dropped;
};

/* image.c */
void	   *imgi_alloc(size_t n);
void	   *imgi_grow(void *p, size_t *cap, size_t need, size_t elem);
char	   *imgi_strdup(const char *s, size_t len);
image_t    *imgi_new(image_kind kind, const image_opts *opts, const char *target);
image_region *imgi_add_region(image_t *im);
int			imgi_file_index(image_t *im, const char *path);
void		imgi_apply_file_map(image_t *im, size_t nsorted, uint64_t start, uint64_t end,
								uint64_t file_ofs, const char *path);
void		imgi_finish_regions(image_t *im);
void		imgi_index_files(image_t *im);
void		imgi_find_exe(image_t *im, const char *exe_hint);
image_thread *imgi_add_thread(image_t *im);

/* core.c */
const char *imgi_core_parse(image_t *im);

/* live.c */
size_t		imgi_live_read(image_t *im, uint64_t addr, void *buf, size_t len);
void		imgi_live_release(image_t *im);

#endif							/* MCXT_TOOL_IMAGE_INT_H */
