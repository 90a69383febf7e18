/*
 * image_reader.c
 *	  The image as the walker's reader.  Regions are every region of the
 *	  image.  Writable ones are offered for the reference scan only as far
 *	  as the image holds their bytes: in a core, the bytes present (a
 *	  damaged or hostile core may claim terabytes with nothing behind them);
 *	  in a live process, not at all when nothing is resident or the mapping
 *	  is huge and sparse (ASan shadow, reservations), the rule `strings`
 *	  follows too.  Zero-copy bytes are offered only when the core holds the
 *	  whole region.
 */
#include "image_reader.h"
#include "scan.h"

static size_t
reader_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	return image_read((image_t *) arg, addr, buf, len);
}

static bool
reader_region(void *arg, size_t i, mcxt_region *out)
{
	image_t    *im = arg;
	const image_region *r;

	if (i >= image_nregions(im))
		return false;
	r = image_region_get(im, i);
	out->start = r->start;
	out->end = r->end;
	out->writable = scan_region_in_scope(im, r, SCAN_WRITABLE) && !scan_region_sparse(r);
	out->data = (r->data != NULL && r->present == r->end - r->start) ? r->data : NULL;
	/* a writable region is scanned only as far as the core has its bytes */
	if (out->writable && image_get_kind(im) == IMAGE_CORE && r->present < r->end - r->start)
		out->end = r->start + r->present;
	return true;
}

static bool
reader_symbol(void *arg, const char *name, uint64_t *addr)
{
	return image_symbol((image_t *) arg, name, addr, NULL);
}

void
image_reader_init(mcxt_reader *r, image_t *im)
{
	r->arg = im;
	r->read = reader_read;
	r->region = reader_region;
	r->symbol = reader_symbol;
}
