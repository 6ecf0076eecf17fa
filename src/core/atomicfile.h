/* atomicfile.h: replaces a file atomically, the one way segue does it. A
 * writer gets a temporary file of its own beside the target, writes it
 * through a FILE*, then commits it (flush, fsync, rename over the target,
 * fsync of the directory) or aborts it (the temporary is removed). A reader
 * of the target sees the old file or the new one, whole. It also makes the
 * temporary directories a writer fills and renames into place, and tells its
 * temporary names from any other. It does not know what is written, nor
 * where segue's files live (that is workspace.h's).
 *
 * Temporary names: the target's path, ".tmp.", then ATOMICFILE_RANDOM
 * characters of [A-Za-z0-9] ("features.snap.tmp.Ab12Cd"), chosen at random
 * and created with O_CREAT | O_EXCL (and O_NOFOLLOW), so a temporary is
 * never a file or a link that was there before, and two writers never share
 * one, in any process or PID namespace. A file is created with mode 0666 and
 * a directory with 0777, less the umask: what fopen and mkdir give. The
 * kernel applies the umask; the process umask is never read nor changed.
 *
 * Thread-safety: any function may be called from any thread; one atomicfile
 * is used by one thread at a time. */
#ifndef SEGUE_ATOMICFILE_H
#define SEGUE_ATOMICFILE_H

#include <stdio.h>

#include "core/error.h"

#define ATOMICFILE_TAG ".tmp." /* between the target's name and the random part */
#define ATOMICFILE_RANDOM 6    /* random characters, [A-Za-z0-9] */

typedef struct atomicfile atomicfile;

/* Creates the temporary for `path` in path's directory and opens it for
 * writing. Returns 0 with *out (commit or abort it), or a negative code with
 * *out NULL: SEG_EINVAL when the path is too long, SEG_EIO when the
 * temporary cannot be created (err names it and says why), SEG_ENOMEM. */
int atomicfile_open(atomicfile **out, const char *path, seg_error *err);

/* The stream to write the new content through, until atomicfile_sync,
 * atomicfile_commit or atomicfile_abort (never fclose it). A write error
 * stays on the stream (ferror) and fails the sync. */
FILE *atomicfile_stream(atomicfile *a);

/* The temporary's path, for messages. */
const char *atomicfile_temp_path(const atomicfile *a);

/* Flushes, fsyncs and closes the temporary without publishing it, for a
 * writer that publishes several files only once all are whole. Returns 0,
 * or SEG_EIO (a write or the sync failed; err names the temporary and says
 * why): then only atomicfile_abort is left to do. A second call is a no-op. */
int atomicfile_sync(atomicfile *a, seg_error *err);

/* Publishes the temporary: atomicfile_sync when not done yet, rename over
 * the path given to atomicfile_open, fsync of its directory. Consumes `a`
 * whatever it returns. Returns 0, or SEG_EIO with err saying what failed:
 *   - the sync or the rename: the temporary is removed and the path is
 *     untouched (the old file, or none);
 *   - the directory's fsync, after the rename: the path IS the new file
 *     (every reader sees it), but the rename may be lost if the machine
 *     crashes before the directory reaches the disk; err says so.
 * A file system that cannot sync directories (EINVAL, EROFS) is not an
 * error. */
int atomicfile_commit(atomicfile *a, seg_error *err);

/* Closes and removes the temporary, and frees `a`; NULL is a no-op. The
 * path given to atomicfile_open is untouched. */
void atomicfile_abort(atomicfile *a);

/* fsyncs the directory that holds `path` (after a rename or mkdir in it).
 * Returns 0, or SEG_EIO; a file system that cannot sync directories is not
 * an error. */
int atomicfile_sync_dir(const char *path, seg_error *err);

/* Creates a directory of its own: `templ` ends in ATOMICFILE_TAG and
 * ATOMICFILE_RANDOM 'X's, which are replaced as for a temporary file
 * ("models/v4.tmp.XXXXXX" becomes "models/v4.tmp.Ab12Cd"); mode 0777 less
 * the umask. Returns 0, or SEG_EINVAL (templ does not end so) / SEG_EIO. */
int atomicfile_make_dir(char *templ, seg_error *err);

/* The same for an empty file of its own (mode 0666 less the umask), closed:
 * for a writer that fills it by other means (SQLite builds a new catalogue
 * in one) and renames it into place itself. */
int atomicfile_make_file(char *templ, seg_error *err);

/* 1 when the file name `name` (no directory) is one of this module's
 * temporaries for a target named `target`: target, ATOMICFILE_TAG, then
 * ATOMICFILE_RANDOM characters of [A-Za-z0-9] and nothing more; else 0. */
int atomicfile_is_temp_of(const char *name, const char *target);

#endif
