/*
 * mcxt_leak.c
 *	  A PostgreSQL extension with one bug on purpose: the leak of issue 6's
 *	  story, in a real backend and in a real standby's startup process.
 *
 * The story's engineer found a Greenplum startup process (WAL replay) that
 * had grown to 10+ GB: one redo routine formatted the database's relative
 * path, "base/<oid>", with psprintf() and never freed it.  psprintf starts
 * with a 128-byte buffer, so each leaked string is a 128-byte AllocSet chunk
 * behind a 16-byte header, one every 144 bytes, in a context that is never
 * reset.  This module has that bug twice:
 *
 *	mcxt_leak_base(n)	leaks the string n times into TopMemoryContext in the
 *						calling backend (test/pg/test_pg_leak.sh, and the ~1 GB
 *						core of bench/pg_forensics.sh);
 *	mcxt_leak_wal(n)	writes n WAL records of a custom resource manager
 *						(RM_EXPERIMENTAL_ID, PostgreSQL 15's custom WAL
 *						resource managers) whose redo routine leaks the string
 *						in the memory context current during replay: on a
 *						standby the startup process leaks one per record, as in
 *						the story (test/pg/test_pg_standby.sh).
 *
 * The resource manager needs the module in shared_preload_libraries (on the
 * standby, which replays; on the primary too, so that its own crash recovery
 * could read the records).  Without it, mcxt_leak_wal refuses to run.
 *
 * Built with PGXS into the build tree (test/pg/pglib.sh, pg_build_leakext)
 * and loaded by absolute path; never installed into the system.
 */
#include "postgres.h"

#include "access/rmgr.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogreader.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(mcxt_leak_base);
PG_FUNCTION_INFO_V1(mcxt_leak_wal);

void		_PG_init(void);

#define MCXT_LEAK_RMGR_ID	RM_EXPERIMENTAL_ID
#define XLOG_MCXT_LEAK		0x00

/* The WAL record: which database's path the redo routine formats. */
typedef struct xl_mcxt_leak
{
	Oid			dbid;
} xl_mcxt_leak;

static bool rmgr_registered = false;

/*
 * Redo: the bug.  The path is built in whatever context replay runs in (the
 * startup process's TopMemoryContext) and dropped.
 */
static void
mcxt_leak_redo(XLogReaderState *record)
{
	xl_mcxt_leak *xlrec = (xl_mcxt_leak *) XLogRecGetData(record);

	(void) psprintf("base/%u", xlrec->dbid);
}

static void
mcxt_leak_desc(StringInfo buf, XLogReaderState *record)
{
	xl_mcxt_leak *xlrec = (xl_mcxt_leak *) XLogRecGetData(record);

	appendStringInfo(buf, "dbid %u", xlrec->dbid);
}

static const char *
mcxt_leak_identify(uint8 info)
{
	return (info & ~XLR_INFO_MASK) == XLOG_MCXT_LEAK ? "LEAK" : NULL;
}

static RmgrData mcxt_leak_rmgr = {
	.rm_name = "mcxt_leak",
	.rm_redo = mcxt_leak_redo,
	.rm_desc = mcxt_leak_desc,
	.rm_identify = mcxt_leak_identify,
};

void
_PG_init(void)
{
	/* a custom resource manager can only be registered at server start */
	if (!process_shared_preload_libraries_in_progress)
		return;
	RegisterCustomRmgr(MCXT_LEAK_RMGR_ID, &mcxt_leak_rmgr);
	rmgr_registered = true;
}

/*
 * mcxt_leak_base(n int4) returns int4: leaks n strings into
 * TopMemoryContext, returns n.
 */
Datum
mcxt_leak_base(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	MemoryContext oldcxt;

	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mcxt_leak_base: n must not be negative")));

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	for (int32 i = 0; i < n; i++)
	{
		/* the bug: the path is built, used for nothing, and never freed */
		(void) psprintf("base/%u", MyDatabaseId);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(oldcxt);

	PG_RETURN_INT32(n);
}

/*
 * mcxt_leak_wal(n int4) returns text: writes n records whose replay leaks
 * one string each, flushes them (so that a standby receives them at once)
 * and returns the LSN just past the last one, for the caller to wait on.
 */
Datum
mcxt_leak_wal(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	xl_mcxt_leak xlrec;
	XLogRecPtr	lsn = InvalidXLogRecPtr;

	if (!rmgr_registered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mcxt_leak_wal: the module is not in shared_preload_libraries")));
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mcxt_leak_wal: n must not be negative")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("mcxt_leak_wal: cannot write WAL during recovery")));

	xlrec.dbid = MyDatabaseId;
	for (int32 i = 0; i < n; i++)
	{
		XLogBeginInsert();
		XLogRegisterData((char *) &xlrec, sizeof(xlrec));
		lsn = XLogInsert(MCXT_LEAK_RMGR_ID, XLOG_MCXT_LEAK);
		CHECK_FOR_INTERRUPTS();
	}
	if (n > 0)
		XLogFlush(lsn);

	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%X/%X", LSN_FORMAT_ARGS(lsn))));
}
