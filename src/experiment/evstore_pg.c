/* evstore_pg.c: the event store in PostgreSQL (part of evstore): not
 * written yet; evstore_open refuses postgresql:// addresses for now. */
#include "experiment/evstore_internal.h"

int evstore__pg_open(const char *conninfo, void **impl, seg_error *err)
{
	(void)conninfo;
	*impl = NULL;
	return seg_error_set(err, SEG_EDB, "this build's event store does not speak PostgreSQL yet");
}

const evstore_ops evstore__pg_ops = {.kind = "postgresql"};
