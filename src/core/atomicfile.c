/* atomicfile.c: replacing a file atomically (see atomicfile.h).
 *
 * The temporary is not made by mkstemp: mkstemp creates it with mode 0600,
 * and giving it the mode fopen would give then needs the umask, which a
 * process can only read by changing it (umask(0), then back), for every
 * thread at once. Creating the file with O_CREAT | O_EXCL and mode 0666
 * under a random name, as mkstemp does inside, lets the kernel apply the
 * umask (and a directory's default ACL) instead. */
#include "core/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"

/* Names tried before giving up: each collides with probability about
 * (temporaries in the directory) / 62^6. */
#define TRIES 100

enum { AF_OPEN, AF_SYNCED, AF_FAILED };

struct atomicfile {
	FILE *f;                                                        /* open on tmp while AF_OPEN, else NULL */
	int state;                                                      /* AF_OPEN, AF_SYNCED or AF_FAILED */
	char path[PATH_MAX];                                            /* the target */
	char tmp[PATH_MAX + sizeof ATOMICFILE_TAG + ATOMICFILE_RANDOM]; /* the temporary */
};

static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static int is_alnum(char c) { return c != '\0' && memchr(ALNUM, c, sizeof ALNUM - 1) != NULL; }

/* Writes ATOMICFILE_RANDOM random characters of ALNUM at x. The kernel's
 * random bits when it has them at once, else the clocks and the process id
 * (rng_entropy64); a counter keeps two calls apart in either case. Uniqueness does not rest
 * on it (O_EXCL does that), only how rarely a name is tried twice. */
static void random_name(char *x)
{
	static atomic_uint_fast64_t calls;
	uint64_t v = rng_mix64(rng_entropy64() + atomic_fetch_add(&calls, 1) * RNG_GOLDEN);
	for (int i = 0; i < ATOMICFILE_RANDOM; i++) {
		x[i] = ALNUM[v % (sizeof ALNUM - 1)];
		v /= sizeof ALNUM - 1;
	}
}

/* Creates `name`, whose last ATOMICFILE_RANDOM characters are replaced
 * until the name is new: a file open for writing (returns its descriptor)
 * or, with `dir`, a directory (returns 0). -1 with errno on failure. */
static int create_new(char *name, int dir)
{
	char *x = name + strlen(name) - ATOMICFILE_RANDOM;
	for (int t = 0; t < TRIES; t++) {
		random_name(x);
		int fd = dir ? mkdir(name, 0777)
		             : open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int atomicfile_open(atomicfile **out, const char *path, seg_error *err)
{
	*out = NULL;
	atomicfile *a = calloc(1, sizeof *a);
	if (a == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	if ((size_t)snprintf(a->path, sizeof a->path, "%s", path) >= sizeof a->path) {
		free(a);
		return seg_error_set(err, SEG_EINVAL, "path too long: %s", path);
	}
	snprintf(a->tmp, sizeof a->tmp, "%s%s%.*s", path, ATOMICFILE_TAG, ATOMICFILE_RANDOM, "XXXXXXXXXXXXXXXX");
	int fd = create_new(a->tmp, 0);
	a->f = fd < 0 ? NULL : fdopen(fd, "wb");
	if (a->f == NULL) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(a->tmp);
		}
		int rc = seg_error_set(err, e == ENOMEM ? SEG_ENOMEM : SEG_EIO, "cannot create %s: %s", a->tmp,
		                       strerror(e));
		free(a);
		return rc;
	}
	a->state = AF_OPEN;
	*out = a;
	return 0;
}

FILE *atomicfile_stream(atomicfile *a) { return a->f; }

const char *atomicfile_temp_path(const atomicfile *a) { return a->tmp; }

int atomicfile_sync(atomicfile *a, seg_error *err)
{
	if (a->state == AF_SYNCED)
		return 0;
	if (a->state == AF_FAILED)
		return seg_error_set(err, SEG_EIO, "cannot write %s: an earlier write failed", a->tmp);
	errno = 0;
	int ok = fflush(a->f) == 0 && !ferror(a->f);
	int e = ok || errno == 0 ? EIO : errno;
	if (ok && fsync(fileno(a->f)) < 0) {
		ok = 0;
		e = errno;
	}
	if (fclose(a->f) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	a->f = NULL;
	a->state = ok ? AF_SYNCED : AF_FAILED;
	return ok ? 0 : seg_error_set(err, SEG_EIO, "cannot write %s: %s", a->tmp, strerror(e));
}

/* fsyncs the directory of `path`, whose name goes to dir[cap]; 0 or errno. */
static int sync_dir(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, cap, ".");
	else if (slash == path)
		snprintf(dir, cap, "/");
	else
		snprintf(dir, cap, "%.*s", (int)(slash - path), path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	/* some file systems cannot sync a directory: nothing to wait for there */
	int e = fsync(fd) < 0 && errno != EINVAL && errno != EROFS ? errno : 0;
	close(fd);
	return e;
}

int atomicfile_sync_dir(const char *path, seg_error *err)
{
	char dir[PATH_MAX];
	int e = sync_dir(path, dir, sizeof dir);
	return e == 0 ? 0 : seg_error_set(err, SEG_EIO, "cannot sync directory %s: %s", dir, strerror(e));
}

int atomicfile_commit(atomicfile *a, seg_error *err)
{
	int rc = atomicfile_sync(a, err);
	if (rc == 0 && rename(a->tmp, a->path) < 0)
		rc = seg_error_set(err, SEG_EIO, "cannot rename %s to %s: %s", a->tmp, a->path, strerror(errno));
	if (rc < 0) {
		atomicfile_abort(a);
		return rc;
	}
	/* the rename itself is durable once the directory is */
	char dir[PATH_MAX];
	int e = sync_dir(a->path, dir, sizeof dir);
	if (e != 0)
		rc = seg_error_set(err, SEG_EIO,
		                   "%s is replaced, but its directory %s could not be synced, so the new file may "
		                   "be lost in a crash: %s",
		                   a->path, dir, strerror(e));
	free(a);
	return rc;
}

void atomicfile_abort(atomicfile *a)
{
	if (a == NULL)
		return;
	if (a->f != NULL)
		fclose(a->f);
	unlink(a->tmp);
	free(a);
}

/* atomicfile_make_dir and atomicfile_make_file. */
static int make_from(char *templ, int dir, seg_error *err)
{
	size_t n = strlen(templ), tag = strlen(ATOMICFILE_TAG);
	if (n < tag + ATOMICFILE_RANDOM || strncmp(templ + n - ATOMICFILE_RANDOM - tag, ATOMICFILE_TAG, tag) != 0 ||
	    strspn(templ + n - ATOMICFILE_RANDOM, "X") != ATOMICFILE_RANDOM)
		return seg_error_set(err, SEG_EINVAL, "%s does not end in %sXXXXXX", templ, ATOMICFILE_TAG);
	int fd = create_new(templ, dir);
	if (fd < 0)
		return seg_error_set(err, SEG_EIO, "cannot create %s%s: %s", dir ? "directory " : "", templ,
		                     strerror(errno));
	if (!dir)
		close(fd);
	return 0;
}

int atomicfile_make_dir(char *templ, seg_error *err) { return make_from(templ, 1, err); }

int atomicfile_make_file(char *templ, seg_error *err) { return make_from(templ, 0, err); }

int atomicfile_is_temp_of(const char *name, const char *target)
{
	size_t n = strlen(target), tag = strlen(ATOMICFILE_TAG);
	if (strncmp(name, target, n) != 0 || strncmp(name + n, ATOMICFILE_TAG, tag) != 0)
		return 0;
	const char *r = name + n + tag;
	for (int i = 0; i < ATOMICFILE_RANDOM; i++)
		if (!is_alnum(r[i]))
			return 0;
	return r[ATOMICFILE_RANDOM] == '\0';
}
