/* runs.c: MLflow's file-store layout, written and read (see runs.h for the
 * layout and the rules). Written from MLflow's documented format: meta.yaml
 * files are flat "key: value" YAML, strings single-quoted (valid YAML, read
 * back by MLflow's yaml.safe_load), integers bare, end_time null while the
 * run is open. */
#include "pipeline/runs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/atomicfile.h"

#ifndef SEGUE_VERSION
#define SEGUE_VERSION "unknown"
#endif
/* The commit the binary was built from (meson's vcs_tag); a build without
 * it says "unknown". */
#if defined(__has_include)
#if __has_include("git_commit.h")
#include "git_commit.h"
#endif
#endif
#ifndef SEGUE_GIT_COMMIT
#define SEGUE_GIT_COMMIT "unknown"
#endif

#define KEY_MAX 250
#define PARAM_VALUE_MAX 6000
#define TAG_VALUE_MAX 8000
#define NAME_MAX_LEN 250

/* MLflow's RunStatus numbers. */
static const struct {
	const char *name;
	int code;
} STATUS[] = {{"RUNNING", 1}, {"SCHEDULED", 2}, {"FINISHED", 3}, {"FAILED", 4}, {"KILLED", 5}};

struct mlrun {
	char *mlruns;
	char *dir;
	char *experiment_id;
	char *run_name;
	char *user;
	char id[33];
	int64_t start_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- names ---------------------------------------------------------------- */

/* MLflow's key rule ([\w.\- /], ASCII here) and its path rule: the key
 * must be its own normal form, so no "..", ".", "//", leading or trailing
 * '/'. */
static int key_ok(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > KEY_MAX || key[0] == '/' || key[n - 1] == '/')
		return 0;
	for (const char *p = key; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.' || c == ' ' || c == '/'))
			return 0;
	}
	const char *seg = key;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (!slash)
			return 1;
		seg = slash + 1;
	}
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int value_ok(const char *s, size_t max) { return strlen(s) <= max; }

/* ---- files ---------------------------------------------------------------- */

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* mkdir -p of path's directories up to (and with `last`, including) its
 * last component. */
static int make_dirs(const char *path, int last, seg_error *err)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		return seg_error_set(err, SEG_EINVAL, "path too long: %s", path);
	strcpy(buf, path);
	size_t n = strlen(buf);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i] == '\0' && !last)
			break;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return seg_error_set(err, SEG_EIO, "cannot create the directory %s: %s", buf, strerror(errno));
		buf[i] = saved;
	}
	return 0;
}

/* Replaces `path` by `n` bytes of `data`, atomically. A key of up to
 * 250 characters leaves no room in a file name (255) for atomicfile's
 * temporary suffix: such a file is written through a temporary of a short
 * random name of its own in the same directory, then renamed over it (one
 * more rename, as atomic). */
static int write_whole(const char *path, const char *data, size_t n, seg_error *err)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char shortp[PATH_MAX];
	const char *target = path;
	if (strlen(base) + strlen(ATOMICFILE_TAG) + ATOMICFILE_RANDOM > NAME_MAX) {
		unsigned char rnd[8];
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			return seg_error_set(err, SEG_EIO, "no random bytes: %s", strerror(errno));
		int dl = (int)(base - path);
		int w = snprintf(shortp, sizeof shortp, "%.*s.long%02x%02x%02x%02x%02x%02x%02x%02x", dl, path, rnd[0],
		                 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		if (w < 0 || (size_t)w >= sizeof shortp)
			return seg_error_set(err, SEG_EINVAL, "path too long: %s", path);
		target = shortp;
	}
	atomicfile *a;
	int rc = atomicfile_open(&a, target, err);
	if (rc < 0)
		return rc;
	fwrite(data, 1, n, atomicfile_stream(a));
	rc = atomicfile_commit(a, err);
	if (rc == 0 && target != path && rename(target, path) != 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot rename %s: %s", target, strerror(errno));
		unlink(target);
	}
	return rc;
}

/* A whole small file, NUL-terminated; NULL with errno on failure. */
static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	strbuf sb = {0};
	char buf[8192];
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, f)) > 0)
		strbuf_append(&sb, buf, got);
	int bad = ferror(f);
	fclose(f);
	if (bad || sb.oom) {
		strbuf_free(&sb);
		errno = bad ? EIO : ENOMEM;
		return NULL;
	}
	if (len)
		*len = sb.len;
	if (sb.data == NULL)
		return strdup("");
	return strbuf_detach(&sb);
}

/* A string as a single-quoted YAML scalar (' doubled). */
static void yaml_str(strbuf *sb, const char *key, const char *v)
{
	strbuf_printf(sb, "%s: '", key);
	for (const char *p = v; *p; p++) {
		if (*p == '\'')
			strbuf_putc(sb, '\'');
		strbuf_putc(sb, *p);
	}
	strbuf_puts(sb, "'\n");
}

static const char *status_name(int code)
{
	for (size_t i = 0; i < sizeof STATUS / sizeof *STATUS; i++)
		if (STATUS[i].code == code)
			return STATUS[i].name;
	return NULL;
}

static int write_run_meta(const mlrun *r, int status, int64_t end_ms, seg_error *err)
{
	strbuf sb = {0};
	char *uri = dup_printf("file://%s/artifacts", r->dir);
	char *path = dup_printf("%s/meta.yaml", r->dir);
	int rc = SEG_ENOMEM;
	if (!uri || !path)
		goto out;
	/* Keys in the order yaml.safe_dump writes them (sorted). */
	yaml_str(&sb, "artifact_uri", uri);
	if (end_ms > 0)
		strbuf_printf(&sb, "end_time: %lld\n", (long long)end_ms);
	else
		strbuf_puts(&sb, "end_time: null\n");
	yaml_str(&sb, "entry_point_name", "");
	yaml_str(&sb, "experiment_id", r->experiment_id);
	yaml_str(&sb, "lifecycle_stage", "active");
	yaml_str(&sb, "run_id", r->id);
	yaml_str(&sb, "run_name", r->run_name);
	yaml_str(&sb, "run_uuid", r->id);
	yaml_str(&sb, "source_name", "");
	strbuf_puts(&sb, "source_type: 4\n");
	yaml_str(&sb, "source_version", "");
	strbuf_printf(&sb, "start_time: %lld\n", (long long)r->start_ms);
	strbuf_printf(&sb, "status: %d\n", status);
	strbuf_puts(&sb, "tags: []\n");
	yaml_str(&sb, "user_id", r->user);
	if (sb.oom)
		goto out;
	rc = write_whole(path, sb.data, sb.len, err);
out:
	if (rc == SEG_ENOMEM)
		seg_error_set(err, rc, "out of memory writing a run's meta.yaml");
	strbuf_free(&sb);
	free(uri);
	free(path);
	return rc;
}

/* ---- experiments ----------------------------------------------------------- */

/* The value of `key` in a flat meta.yaml text: unquoted, '' and ""
 * quoting undone; malloc'd, or NULL (absent; errno ENOMEM on oom). "null"
 * and "~" read as "". */
static char *yaml_get(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *line = text;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *v = line + klen + 1, *end = line + len;
			while (v < end && *v == ' ')
				v++;
			while (end > v && (end[-1] == ' ' || end[-1] == '\r'))
				end--;
			strbuf sb = {0};
			if (end - v >= 2 && *v == '\'' && end[-1] == '\'') {
				for (const char *p = v + 1; p < end - 1; p++) {
					if (*p == '\'' && p + 1 < end - 1 && p[1] == '\'')
						p++;
					strbuf_putc(&sb, *p);
				}
			} else if (end - v >= 2 && *v == '"' && end[-1] == '"') {
				strbuf_append(&sb, v + 1, (size_t)(end - v - 2));
			} else if (!((end - v == 4 && strncmp(v, "null", 4) == 0) || (end - v == 1 && *v == '~'))) {
				strbuf_append(&sb, v, (size_t)(end - v));
			}
			if (sb.oom) {
				strbuf_free(&sb);
				errno = ENOMEM;
				return NULL;
			}
			return sb.data ? strbuf_detach(&sb) : strdup("");
		}
		line = eol ? eol + 1 : NULL;
	}
	errno = 0;
	return NULL;
}

/* 1 when `name` is all digits (an experiment id MLflow gives). */
static int all_digits(const char *name)
{
	if (!*name)
		return 0;
	for (const char *p = name; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* The id of the experiment named `experiment`, found or created under
 * MLRUNS, with MLRUNS locked (flock) so that two writers never create it
 * twice. */
static int experiment_get(const char *mlruns, const char *experiment, char **id, seg_error *err)
{
	*id = NULL;
	int rc = make_dirs(mlruns, 1, err);
	if (rc < 0)
		return rc;
	char *trash = dup_printf("%s/.trash", mlruns);
	if (!trash)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	if (mkdir(trash, 0777) != 0 && errno != EEXIST) {
		rc = seg_error_set(err, SEG_EIO, "cannot create %s: %s", trash, strerror(errno));
		free(trash);
		return rc;
	}
	free(trash);
	int lock = open(mlruns, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX) != 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot lock %s: %s", mlruns, strerror(errno));
		if (lock >= 0)
			close(lock);
		return rc;
	}
	DIR *d = opendir(mlruns);
	long next = strcmp(experiment, "Default") == 0 ? 0 : 1;
	if (!d) {
		rc = seg_error_set(err, SEG_EIO, "cannot read %s: %s", mlruns, strerror(errno));
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *id == NULL) {
		if (!all_digits(de->d_name) || strlen(de->d_name) > 15)
			continue;
		long n = strtol(de->d_name, NULL, 10);
		if (n >= next && strcmp(experiment, "Default") != 0)
			next = n + 1;
		char *meta = dup_printf("%s/%s/meta.yaml", mlruns, de->d_name);
		char *text = meta ? read_whole(meta, NULL) : NULL;
		char *name = text ? yaml_get(text, "name") : NULL;
		if (name && strcmp(name, experiment) == 0 && !(*id = strdup(de->d_name)))
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		free(name);
		free(text);
		free(meta);
	}
	closedir(d);
	if (*id || rc < 0)
		goto out;
	/* A new experiment: its directory, then its meta.yaml. */
	char idbuf[32];
	snprintf(idbuf, sizeof idbuf, "%ld", next);
	char *dir = dup_printf("%s/%s", mlruns, idbuf);
	char *meta = dup_printf("%s/%s/meta.yaml", mlruns, idbuf);
	char *loc = dup_printf("file://%s/%s", mlruns, idbuf);
	strbuf sb = {0};
	int64_t now = now_ms();
	if (!dir || !meta || !loc) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	} else if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		rc = seg_error_set(err, SEG_EIO, "cannot create the experiment %s: %s", dir, strerror(errno));
	} else {
		yaml_str(&sb, "artifact_location", loc);
		strbuf_printf(&sb, "creation_time: %lld\n", (long long)now);
		yaml_str(&sb, "experiment_id", idbuf);
		strbuf_printf(&sb, "last_update_time: %lld\n", (long long)now);
		yaml_str(&sb, "lifecycle_stage", "active");
		yaml_str(&sb, "name", experiment);
		rc = sb.oom ? seg_error_set(err, SEG_ENOMEM, "out of memory") : write_whole(meta, sb.data, sb.len, err);
		if (rc == 0 && !(*id = strdup(idbuf)))
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	strbuf_free(&sb);
	free(dir);
	free(meta);
	free(loc);
out:
	close(lock); /* releases the flock */
	return rc;
}

/* ---- the writer ------------------------------------------------------------ */

static void mlrun_free(mlrun *r)
{
	if (!r)
		return;
	free(r->mlruns);
	free(r->dir);
	free(r->experiment_id);
	free(r->run_name);
	free(r->user);
	free(r);
}

static char *user_name(void)
{
	const char *u = getenv("USER");
	if (!u || !*u) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res)
			return strdup(res->pw_name);
		u = "unknown";
	}
	return strdup(u);
}

int mlrun_start(const char *mlruns, const char *experiment, const char *run_name, mlrun **out, seg_error *err)
{
	*out = NULL;
	if (!mlruns || !*mlruns || !experiment || !name_ok(experiment) || !run_name || !name_ok(run_name))
		return seg_error_set(err, SEG_EINVAL,
		                     "an experiment or run name must be 1..%d characters without control characters",
		                     NAME_MAX_LEN);
	mlrun *r = calloc(1, sizeof *r);
	if (!r)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	int rc;
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		rc = seg_error_set(err, SEG_EIO, "no random bytes for a run id: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < 16; i++)
		snprintf(r->id + 2 * i, 3, "%02x", rnd[i]);
	r->mlruns = strdup(mlruns);
	r->run_name = strdup(run_name);
	r->user = user_name();
	if (!r->mlruns || !r->run_name || !r->user) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	rc = experiment_get(mlruns, experiment, &r->experiment_id, err);
	if (rc < 0)
		goto fail;
	r->dir = dup_printf("%s/%s/%s", mlruns, r->experiment_id, r->id);
	if (!r->dir) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	if (mkdir(r->dir, 0777) != 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot create the run %s: %s", r->dir, strerror(errno));
		goto fail;
	}
	static const char *const SUB[] = {"params", "metrics", "tags", "artifacts"};
	for (size_t i = 0; i < 4; i++) {
		char *sub = dup_printf("%s/%s", r->dir, SUB[i]);
		if (!sub) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto fail;
		}
		rc = make_dirs(sub, 1, err);
		free(sub);
		if (rc < 0)
			goto fail;
	}
	r->start_ms = now_ms();
	rc = write_run_meta(r, 1, 0, err);
	if (rc == 0)
		rc = mlrun_tag(r, "mlflow.runName", run_name, err);
	if (rc == 0)
		rc = mlrun_tag(r, "mlflow.user", r->user, err);
	if (rc == 0)
		rc = mlrun_tag(r, "mlflow.source.name", "segue", err);
	if (rc == 0)
		rc = mlrun_tag(r, "mlflow.source.type", "LOCAL", err);
	if (rc == 0)
		rc = mlrun_tag(r, "mlflow.source.git.commit", SEGUE_GIT_COMMIT, err);
	if (rc == 0)
		rc = mlrun_tag(r, "segue.version", SEGUE_VERSION, err);
	if (rc < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	mlrun_free(r);
	return rc;
}

const char *mlrun_id(const mlrun *r) { return r->id; }

const char *mlrun_dir(const mlrun *r) { return r->dir; }

/* RUN/SUB/KEY, with KEY's directories made. */
static int key_path(mlrun *r, const char *sub, const char *key, char **path, seg_error *err)
{
	*path = NULL;
	if (!key || !key_ok(key))
		return seg_error_set(err, SEG_EINVAL,
		                     "invalid %s name '%s': 1..%d of letters, digits, '_', '-', '.', ' ', '/', "
		                     "and no '..' or empty path part",
		                     sub, key ? key : "(null)", KEY_MAX);
	*path = dup_printf("%s/%s/%s", r->dir, sub, key);
	if (!*path)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	return strchr(key, '/') ? make_dirs(*path, 0, err) : 0;
}

int mlrun_param(mlrun *r, const char *key, const char *value, seg_error *err)
{
	char *path;
	int rc = key_path(r, "params", key, &path, err);
	if (rc < 0)
		goto out;
	if (!value || !value_ok(value, PARAM_VALUE_MAX)) {
		rc = seg_error_set(err, SEG_EINVAL, "parameter %s: a value of at most %d bytes", key, PARAM_VALUE_MAX);
		goto out;
	}
	char *old = read_whole(path, NULL);
	if (old) {
		/* MLflow: a parameter is immutable; the same value again is fine. */
		if (strcmp(old, value) != 0)
			rc = seg_error_set(err, SEG_EINVAL,
			                   "parameter %s is already '%s' in run %s; parameters cannot change", key, old,
			                   r->id);
		free(old);
		goto out;
	}
	rc = write_whole(path, value, strlen(value), err);
out:
	free(path);
	return rc;
}

int mlrun_metric(mlrun *r, const char *key, double value, int64_t step, int64_t timestamp_ms, seg_error *err)
{
	char *path;
	int rc = key_path(r, "metrics", key, &path, err);
	if (rc < 0)
		goto out;
	char line[128];
	/* Python's float() reads %.17g, "nan", "inf" and "-inf". */
	int n = snprintf(line, sizeof line, "%lld %.17g %lld\n", (long long)(timestamp_ms ? timestamp_ms : now_ms()),
	                 value, (long long)step);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	/* One write of the whole line with O_APPEND: lines of concurrent
	 * writers never interleave, and a reader sees whole lines. */
	ssize_t w = write(fd, line, (size_t)n);
	if (w != n)
		rc = seg_error_set(err, SEG_EIO, "cannot write %s: %s", path, w < 0 ? strerror(errno) : "short write");
	if (close(fd) != 0 && rc == 0)
		rc = seg_error_set(err, SEG_EIO, "cannot write %s: %s", path, strerror(errno));
out:
	free(path);
	return rc;
}

int mlrun_tag(mlrun *r, const char *key, const char *value, seg_error *err)
{
	char *path;
	int rc = key_path(r, "tags", key, &path, err);
	if (rc == 0 && (!value || !value_ok(value, TAG_VALUE_MAX)))
		rc = seg_error_set(err, SEG_EINVAL, "tag %s: a value of at most %d bytes", key, TAG_VALUE_MAX);
	if (rc == 0)
		rc = write_whole(path, value, strlen(value), err);
	/* MLflow keeps the run's name and this tag one: a new name goes into
	 * meta.yaml too. */
	if (rc == 0 && strcmp(key, "mlflow.runName") == 0 && strcmp(value, r->run_name) != 0 && name_ok(value)) {
		char *name = strdup(value);
		if (!name) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		} else {
			free(r->run_name);
			r->run_name = name;
			rc = write_run_meta(r, 1, 0, err);
		}
	}
	free(path);
	return rc;
}

static int copy_file(const char *from, const char *to, seg_error *err)
{
	FILE *in = fopen(from, "rb");
	if (!in)
		return seg_error_set(err, SEG_EIO, "cannot open %s: %s", from, strerror(errno));
	atomicfile *a;
	int rc = atomicfile_open(&a, to, err);
	if (rc < 0) {
		fclose(in);
		return rc;
	}
	char buf[1 << 16];
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, got, atomicfile_stream(a));
	if (ferror(in)) {
		rc = seg_error_set(err, SEG_EIO, "cannot read %s", from);
		atomicfile_abort(a);
	} else {
		rc = atomicfile_commit(a, err);
	}
	fclose(in);
	return rc;
}

int mlrun_artifact(mlrun *r, const char *path, const char *name, seg_error *err)
{
	char *to;
	int rc = key_path(r, "artifacts", name, &to, err);
	if (rc < 0)
		goto out;
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = seg_error_set(err, SEG_EIO, "cannot add the artifact %s: not a readable file", path);
		goto out;
	}
	/* A link made beside the target then renamed over it, so that an
	 * artifact of that name is replaced in one step. */
	char *tmp = dup_printf("%s.tmp.link%s", to, r->id);
	if (!tmp) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	unlink(tmp);
	if (link(path, tmp) == 0) {
		if (rename(tmp, to) != 0) {
			rc = seg_error_set(err, SEG_EIO, "cannot rename %s: %s", tmp, strerror(errno));
			unlink(tmp);
		}
	} else {
		rc = copy_file(path, to, err);
	}
	free(tmp);
out:
	free(to);
	return rc;
}

/* One JSON value under the metric name key (a strbuf, restored on return). */
static int json_metrics_walk(mlrun *r, strbuf *key, json_t *v, int64_t ts, seg_error *err)
{
	size_t len = key->len;
	int rc = 0;
	if (json_is_number(v)) {
		if (key_ok(strbuf_cstr(key)))
			rc = mlrun_metric(r, strbuf_cstr(key), json_number_value(v), 0, ts, err);
	} else if (json_is_array(v) && json_array_size(v) > 0 && key_ok(strbuf_cstr(key))) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) if (!json_is_number(e)) return 0;
		json_array_foreach(v, i, e)
		{
			if ((rc = mlrun_metric(r, strbuf_cstr(key), json_number_value(e), (int64_t)i, ts, err)) < 0)
				break;
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach(v, k, m)
		{
			if (key->len)
				strbuf_putc(key, '.');
			strbuf_puts(key, k);
			rc = key->oom ? seg_error_set(err, SEG_ENOMEM, "out of memory")
			              : json_metrics_walk(r, key, m, ts, err);
			key->len = len;
			if (key->data)
				key->data[len] = '\0';
			if (rc < 0)
				break;
		}
	}
	return rc;
}

int mlrun_metrics_json(mlrun *r, const char *prefix, const char *json, int64_t timestamp_ms, seg_error *err)
{
	json_error_t je;
	json_t *doc = json_loads(json, 0, &je);
	if (!doc)
		return seg_error_set(err, SEG_EFORMAT, "not JSON: %s (line %d)", je.text, je.line);
	strbuf key = {0};
	strbuf_puts(&key, prefix ? prefix : "");
	/* A prefix is joined to the first level as it is ("eval." + "r_precision"). */
	size_t plen = key.len;
	int rc = 0;
	if (json_is_object(doc) && plen && key.data[plen - 1] != '.') {
		rc = json_metrics_walk(r, &key, doc, timestamp_ms ? timestamp_ms : now_ms(), err);
	} else if (json_is_object(doc)) {
		const char *k;
		json_t *m;
		int64_t ts = timestamp_ms ? timestamp_ms : now_ms();
		json_object_foreach(doc, k, m)
		{
			strbuf_puts(&key, k);
			rc = key.oom ? seg_error_set(err, SEG_ENOMEM, "out of memory")
			             : json_metrics_walk(r, &key, m, ts, err);
			key.len = plen;
			if (key.data)
				key.data[plen] = '\0';
			if (rc < 0)
				break;
		}
	}
	strbuf_free(&key);
	json_decref(doc);
	return rc;
}

int mlrun_end(mlrun *r, const char *status, seg_error *err)
{
	if (!r)
		return 0;
	int code = 0;
	for (size_t i = 0; status && i < sizeof STATUS / sizeof *STATUS; i++)
		if (strcmp(STATUS[i].name, status) == 0)
			code = STATUS[i].code;
	int rc;
	if (code != 3 && code != 4 && code != 5)
		rc = seg_error_set(err, SEG_EINVAL, "a run ends FINISHED, FAILED or KILLED, not '%s'",
		                   status ? status : "(null)");
	else
		rc = write_run_meta(r, code, now_ms(), err);
	mlrun_free(r);
	return rc;
}

/* ---- the reader ------------------------------------------------------------ */

void mlrun_info_free(mlrun_info *info)
{
	if (!info)
		return;
	free(info->experiment);
	free(info->name);
	free(info->dir);
	for (size_t i = 0; i < info->nparams; i++) {
		free(info->params[i].key);
		free(info->params[i].value);
	}
	for (size_t i = 0; i < info->ntags; i++) {
		free(info->tags[i].key);
		free(info->tags[i].value);
	}
	for (size_t i = 0; i < info->nmetrics; i++)
		free(info->metrics[i].key);
	for (size_t i = 0; i < info->nartifacts; i++)
		free(info->artifacts[i].path);
	free(info->params);
	free(info->tags);
	free(info->metrics);
	free(info->artifacts);
	memset(info, 0, sizeof *info);
}

void mlrun_list_free(mlrun_info *runs, size_t n)
{
	for (size_t i = 0; runs && i < n; i++)
		mlrun_info_free(&runs[i]);
	free(runs);
}

/* Relative paths of the regular files under dir (recursively), sorted. */
typedef struct {
	char **path;
	size_t n, cap;
	int oom;
} pathlist;

static void walk(const char *dir, const char *prefix, pathlist *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && !out->oom) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (strstr(de->d_name, ATOMICFILE_TAG) ||
		    strncmp(de->d_name, ".long", 5) == 0) /* a writer's temporary */
			continue;
		char *full = dup_printf("%s/%s", dir, de->d_name);
		char *rel = *prefix ? dup_printf("%s/%s", prefix, de->d_name) : strdup(de->d_name);
		struct stat st;
		if (!full || !rel) {
			out->oom = 1;
		} else if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			walk(full, rel, out);
		} else if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			if (out->n == out->cap) {
				size_t cap = out->cap ? 2 * out->cap : 16;
				char **p = realloc(out->path, cap * sizeof *p);
				if (!p) {
					out->oom = 1;
					goto next;
				}
				out->path = p;
				out->cap = cap;
			}
			out->path[out->n++] = rel;
			rel = NULL;
		}
	next:
		free(full);
		free(rel);
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void pathlist_free(pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->path[i]);
	free(l->path);
}

static int list_files(const char *dir, pathlist *l, seg_error *err)
{
	memset(l, 0, sizeof *l);
	walk(dir, "", l);
	if (l->oom) {
		pathlist_free(l);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	if (l->n)
		qsort(l->path, l->n, sizeof *l->path, cmp_str);
	return 0;
}

/* params/ or tags/ into key-value pairs. */
static int read_kv(const char *dir, mlrun_kv **out, size_t *n, seg_error *err)
{
	pathlist l;
	int rc = list_files(dir, &l, err);
	*out = NULL;
	*n = 0;
	if (rc < 0 || l.n == 0)
		return rc;
	*out = calloc(l.n, sizeof **out);
	if (!*out) {
		pathlist_free(&l);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		char *full = dup_printf("%s/%s", dir, l.path[i]);
		char *v = full ? read_whole(full, NULL) : NULL;
		free(full);
		if (!v) {
			rc = seg_error_set(err, SEG_EIO, "cannot read %s/%s", dir, l.path[i]);
			break;
		}
		(*out)[i].key = l.path[i];
		(*out)[i].value = v;
		l.path[i] = NULL;
		(*n)++;
	}
	pathlist_free(&l);
	return rc;
}

/* A metric file: every line "TIMESTAMP VALUE STEP" (STEP may be absent, as
 * in MLflow's oldest files). */
static int read_series(const char *path, mlrun_series *s, seg_error *err)
{
	char *text = read_whole(path, NULL);
	if (!text)
		return seg_error_set(err, SEG_EIO, "cannot read %s: %s", path, strerror(errno));
	int rc = 0;
	long lineno = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *e1, *e2, *e3;
		errno = 0;
		long long ts = strtoll(line, &e1, 10);
		double v = strtod(e1, &e2);
		long long step = 0;
		if (e1 == line || *e1 != ' ' || e2 == e1) {
			rc = seg_error_set(err, SEG_EFORMAT, "not a \"timestamp value step\" line");
			seg_error_at(err, path, lineno, 0);
			break;
		}
		if (*e2 == ' ') {
			step = strtoll(e2, &e3, 10);
			if (e3 == e2 + 1 || *e3 != '\0') {
				rc = seg_error_set(err, SEG_EFORMAT, "not a \"timestamp value step\" line");
				seg_error_at(err, path, lineno, 0);
				break;
			}
		} else if (*e2 != '\0') {
			rc = seg_error_set(err, SEG_EFORMAT, "not a \"timestamp value step\" line");
			seg_error_at(err, path, lineno, 0);
			break;
		}
		if (s->n == 0 || step > s->last_step || (step == s->last_step && ts >= s->last_ms)) {
			s->last = v;
			s->last_step = step;
			s->last_ms = ts;
		}
		s->n++;
	}
	free(text);
	return rc;
}

static int status_from(const char *v, char *out, size_t cap)
{
	const char *name = NULL;
	if (all_digits(v))
		name = status_name((int)strtol(v, NULL, 10));
	else
		for (size_t i = 0; i < sizeof STATUS / sizeof *STATUS; i++)
			if (strcmp(STATUS[i].name, v) == 0)
				name = v;
	if (!name)
		return -1;
	snprintf(out, cap, "%s", name);
	return 0;
}

/* Reads MLRUNS/EXP/RUN into *info (zeroed first). */
static int read_run(const char *mlruns, const char *exp, const char *run, mlrun_info *info, seg_error *err)
{
	memset(info, 0, sizeof *info);
	char *meta = NULL, *text = NULL, *emeta = NULL, *etext = NULL, *v = NULL, *sub = NULL;
	int rc = SEG_ENOMEM;
	info->dir = dup_printf("%s/%s/%s", mlruns, exp, run);
	meta = dup_printf("%s/meta.yaml", info->dir ? info->dir : "");
	emeta = dup_printf("%s/%s/meta.yaml", mlruns, exp);
	if (!info->dir || !meta || !emeta)
		goto out;
	text = read_whole(meta, NULL);
	if (!text) {
		rc = seg_error_set(err, errno == ENOENT ? SEG_ENOTFOUND : SEG_EIO, "cannot read %s: %s", meta,
		                   strerror(errno));
		goto out;
	}
	etext = read_whole(emeta, NULL);
	info->experiment = etext ? yaml_get(etext, "name") : NULL;
	if (!info->experiment && !(info->experiment = strdup(exp)))
		goto out;
	snprintf(info->experiment_id, sizeof info->experiment_id, "%s", exp);
	snprintf(info->run_id, sizeof info->run_id, "%s", run);
	static const char *const NEED[] = {"run_id", "status", "start_time", "end_time", "experiment_id"};
	for (size_t i = 0; i < sizeof NEED / sizeof *NEED; i++) {
		free(v);
		v = yaml_get(text, NEED[i]);
		int bad = !v;
		if (v && i == 0)
			bad = strcmp(v, run) != 0;
		else if (v && i == 1)
			bad = status_from(v, info->status, sizeof info->status) != 0;
		else if (v && i == 2)
			bad = !all_digits(v) || (info->start_ms = strtoll(v, NULL, 10), 0);
		else if (v && i == 3)
			bad = *v && (!all_digits(v) || (info->end_ms = strtoll(v, NULL, 10), 0));
		else if (v && i == 4)
			bad = strcmp(v, exp) != 0;
		if (bad) {
			rc = seg_error_set(err, SEG_EFORMAT, "%s: %s missing or not what MLflow writes", meta, NEED[i]);
			goto out;
		}
	}
	free(v);
	v = NULL;
	if ((rc = read_kv((sub = dup_printf("%s/params", info->dir)), &info->params, &info->nparams, err)) < 0)
		goto out;
	free(sub);
	if ((rc = read_kv((sub = dup_printf("%s/tags", info->dir)), &info->tags, &info->ntags, err)) < 0)
		goto out;
	free(sub);
	info->name = yaml_get(text, "run_name");
	if (!info->name || !*info->name) {
		const char *t = mlrun_info_tag(info, "mlflow.runName");
		free(info->name);
		info->name = strdup(t ? t : "");
	}
	rc = SEG_ENOMEM;
	if (!info->name)
		goto out;
	pathlist l;
	if ((rc = list_files((sub = dup_printf("%s/metrics", info->dir)), &l, err)) < 0)
		goto out;
	if (l.n && !(info->metrics = calloc(l.n, sizeof *info->metrics))) {
		pathlist_free(&l);
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		char *p = dup_printf("%s/%s", sub, l.path[i]);
		mlrun_series *s = &info->metrics[info->nmetrics];
		rc = p ? read_series(p, s, err) : seg_error_set(err, SEG_ENOMEM, "out of memory");
		free(p);
		if (rc == 0) {
			s->key = l.path[i];
			l.path[i] = NULL;
			info->nmetrics++;
		}
	}
	pathlist_free(&l);
	if (rc < 0)
		goto out;
	free(sub);
	if ((rc = list_files((sub = dup_printf("%s/artifacts", info->dir)), &l, err)) < 0)
		goto out;
	if (l.n && !(info->artifacts = calloc(l.n, sizeof *info->artifacts))) {
		pathlist_free(&l);
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		char *p = dup_printf("%s/%s", sub, l.path[i]);
		struct stat st;
		info->artifacts[i].bytes = p && stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
		free(p);
		info->artifacts[i].path = l.path[i];
		l.path[i] = NULL;
		info->nartifacts++;
	}
	pathlist_free(&l);
	rc = 0;
out:
	if (rc == SEG_ENOMEM)
		seg_error_set(err, rc, "out of memory reading a run");
	free(v);
	free(sub);
	free(meta);
	free(text);
	free(emeta);
	free(etext);
	if (rc < 0)
		mlrun_info_free(info);
	return rc;
}

/* Calls fn for every (experiment id, run id) under MLRUNS whose run id
 * starts with `prefix` ("" for all); stops at fn's nonzero result. */
typedef int (*run_fn)(const char *exp, const char *run, void *ctx);

static int each_run(const char *mlruns, const char *prefix, run_fn fn, void *ctx, seg_error *err)
{
	DIR *d = opendir(mlruns);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return seg_error_set(err, SEG_EIO, "cannot read %s: %s", mlruns, strerror(errno));
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!all_digits(de->d_name))
			continue;
		char *exp = dup_printf("%s/%s", mlruns, de->d_name);
		DIR *e = exp ? opendir(exp) : NULL;
		free(exp);
		if (!e)
			continue;
		struct dirent *re;
		while (rc == 0 && (re = readdir(e)) != NULL) {
			size_t n = strlen(re->d_name);
			if (n != 32 || strspn(re->d_name, "0123456789abcdef") != 32 ||
			    strncmp(re->d_name, prefix, strlen(prefix)) != 0)
				continue;
			rc = fn(de->d_name, re->d_name, ctx);
		}
		closedir(e);
	}
	closedir(d);
	return rc;
}

typedef struct {
	int found;
	char exp[2][256], run[2][64];
} find_ctx;

static int find_cb(const char *exp, const char *run, void *ctx)
{
	find_ctx *f = ctx;
	if (f->found < 2) {
		snprintf(f->exp[f->found], sizeof f->exp[0], "%s", exp);
		snprintf(f->run[f->found], sizeof f->run[0], "%s", run);
	}
	f->found++;
	return f->found >= 2;
}

int mlrun_read(const char *mlruns, const char *run, mlrun_info *out, seg_error *err)
{
	memset(out, 0, sizeof *out);
	if (!run || !*run || strlen(run) > 32 || strspn(run, "0123456789abcdef") != strlen(run))
		return seg_error_set(err, SEG_ENOTFOUND,
		                     "no run '%s': a run id is 32 lowercase hex digits (or a prefix)", run ? run : "");
	find_ctx f = {0};
	int rc = each_run(mlruns, run, find_cb, &f, err);
	if (rc < 0)
		return rc;
	if (f.found == 0)
		return seg_error_set(err, SEG_ENOTFOUND, "no run %s in %s", run, mlruns);
	if (f.found > 1)
		return seg_error_set(err, SEG_EINVAL, "'%s' names more than one run (%s, %s...): give more digits", run,
		                     f.run[0], f.run[1]);
	return read_run(mlruns, f.exp[0], f.run[0], out, err);
}

typedef struct {
	const char *mlruns;
	mlrun_info *runs;
	size_t n, cap;
	seg_error *err;
} list_ctx;

static int list_cb(const char *exp, const char *run, void *ctx)
{
	list_ctx *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		mlrun_info *p = realloc(l->runs, cap * sizeof *p);
		if (!p)
			return seg_error_set(l->err, SEG_ENOMEM, "out of memory");
		l->runs = p;
		l->cap = cap;
	}
	int rc = read_run(l->mlruns, exp, run, &l->runs[l->n], l->err);
	/* A run whose meta.yaml is not there yet (being created) is skipped. */
	if (rc == SEG_ENOTFOUND)
		return 0;
	if (rc == 0)
		l->n++;
	return rc;
}

static int cmp_start(const void *a, const void *b)
{
	const mlrun_info *x = a, *y = b;
	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? 1 : -1;
	return strcmp(x->run_id, y->run_id);
}

int mlrun_list(const char *mlruns, mlrun_info **out, size_t *n, seg_error *err)
{
	list_ctx l = {.mlruns = mlruns, .err = err};
	int rc = each_run(mlruns, "", list_cb, &l, err);
	if (rc < 0) {
		mlrun_list_free(l.runs, l.n);
		*out = NULL;
		*n = 0;
		return rc;
	}
	if (l.n)
		qsort(l.runs, l.n, sizeof *l.runs, cmp_start);
	*out = l.runs;
	*n = l.n;
	return 0;
}

static const char *kv_get(const mlrun_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

const char *mlrun_info_param(const mlrun_info *info, const char *key)
{
	return kv_get(info->params, info->nparams, key);
}

const char *mlrun_info_tag(const mlrun_info *info, const char *key) { return kv_get(info->tags, info->ntags, key); }

const mlrun_series *mlrun_info_metric(const mlrun_info *info, const char *key)
{
	for (size_t i = 0; i < info->nmetrics; i++)
		if (strcmp(info->metrics[i].key, key) == 0)
			return &info->metrics[i];
	return NULL;
}

/* ---- formatting ------------------------------------------------------------ */

static const char *utc(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0)
		return "-";
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static const char *duration(const mlrun_info *r, char *buf, size_t cap)
{
	if (r->end_ms <= 0 || r->end_ms < r->start_ms)
		return "-";
	double s = (double)(r->end_ms - r->start_ms) / 1000.0;
	if (s < 60)
		snprintf(buf, cap, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, cap, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
	else
		snprintf(buf, cap, "%.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
	return buf;
}

/* A JSON number, or null for NaN and infinities (JSON has none). */
static void json_num(strbuf *sb, double v)
{
	if (isfinite(v))
		strbuf_printf(sb, "%.17g", v);
	else
		strbuf_puts(sb, "null");
}

static void json_run_head(strbuf *sb, const mlrun_info *r)
{
	strbuf_puts(sb, "{\"run_id\":");
	strbuf_json(sb, r->run_id);
	strbuf_puts(sb, ",\"experiment_id\":");
	strbuf_json(sb, r->experiment_id);
	strbuf_puts(sb, ",\"experiment\":");
	strbuf_json(sb, r->experiment);
	strbuf_puts(sb, ",\"name\":");
	strbuf_json(sb, r->name);
	strbuf_printf(sb, ",\"status\":\"%s\",\"start_time\":%lld,\"end_time\":", r->status, (long long)r->start_ms);
	if (r->end_ms > 0)
		strbuf_printf(sb, "%lld", (long long)r->end_ms);
	else
		strbuf_puts(sb, "null");
}

static void json_kv(strbuf *sb, const char *field, const mlrun_kv *kv, size_t n)
{
	strbuf_printf(sb, ",\"%s\":{", field);
	for (size_t i = 0; i < n; i++) {
		strbuf_puts(sb, i ? "," : "");
		strbuf_json(sb, kv[i].key);
		strbuf_putc(sb, ':');
		strbuf_json(sb, kv[i].value);
	}
	strbuf_putc(sb, '}');
}

static void json_metrics(strbuf *sb, const mlrun_info *r, int full)
{
	strbuf_puts(sb, ",\"metrics\":{");
	for (size_t i = 0; i < r->nmetrics; i++) {
		const mlrun_series *m = &r->metrics[i];
		strbuf_puts(sb, i ? "," : "");
		strbuf_json(sb, m->key);
		if (full) {
			strbuf_puts(sb, ":{\"last\":");
			json_num(sb, m->last);
			strbuf_printf(sb, ",\"step\":%lld,\"timestamp\":%lld,\"points\":%zu}", (long long)m->last_step,
			              (long long)m->last_ms, m->n);
		} else {
			strbuf_putc(sb, ':');
			json_num(sb, m->last);
		}
	}
	strbuf_putc(sb, '}');
}

/* How many metrics a line of `runs list` shows. */
#define LIST_METRICS 3

void mlrun_format_list(strbuf *sb, const mlrun_info *runs, size_t n, int json)
{
	char t[64], d[64];
	if (json) {
		strbuf_puts(sb, "{\"runs\":[");
		for (size_t i = 0; i < n; i++) {
			strbuf_puts(sb, i ? "," : "");
			json_run_head(sb, &runs[i]);
			json_metrics(sb, &runs[i], 0);
			strbuf_putc(sb, '}');
		}
		strbuf_puts(sb, "]}\n");
		return;
	}
	if (n == 0) {
		strbuf_puts(sb, "no runs\n");
		return;
	}
	strbuf_printf(sb, "%-12s %-14s %-20s %-9s %-19s %9s  %s\n", "RUN", "EXPERIMENT", "NAME", "STATUS",
	              "START (UTC)", "DURATION", "METRICS");
	for (size_t i = 0; i < n; i++) {
		const mlrun_info *r = &runs[i];
		strbuf_printf(sb, "%-12.12s %-14.14s %-20.20s %-9s %-19s %9s ", r->run_id, r->experiment, r->name,
		              r->status, utc(r->start_ms, t, sizeof t), duration(r, d, sizeof d));
		for (size_t m = 0; m < r->nmetrics && m < LIST_METRICS; m++)
			strbuf_printf(sb, " %s=%.4g", r->metrics[m].key, r->metrics[m].last);
		if (r->nmetrics > LIST_METRICS)
			strbuf_printf(sb, " (+%zu)", r->nmetrics - LIST_METRICS);
		strbuf_putc(sb, '\n');
	}
}

void mlrun_format_show(strbuf *sb, const mlrun_info *r, int json)
{
	char t[64], t2[64], d[64];
	if (json) {
		json_run_head(sb, r);
		json_kv(sb, "params", r->params, r->nparams);
		json_metrics(sb, r, 1);
		json_kv(sb, "tags", r->tags, r->ntags);
		strbuf_puts(sb, ",\"artifacts\":[");
		for (size_t i = 0; i < r->nartifacts; i++) {
			strbuf_puts(sb, i ? ",{\"path\":" : "{\"path\":");
			strbuf_json(sb, r->artifacts[i].path);
			strbuf_printf(sb, ",\"bytes\":%lld}", (long long)r->artifacts[i].bytes);
		}
		strbuf_puts(sb, "],\"dir\":");
		strbuf_json(sb, r->dir);
		strbuf_puts(sb, "}\n");
		return;
	}
	strbuf_printf(sb, "run %s (%s)\n", r->run_id, r->name);
	strbuf_printf(sb, "  experiment %s (id %s), %s\n", r->experiment, r->experiment_id, r->status);
	strbuf_printf(sb, "  started %s UTC, ended %s%s, took %s\n", utc(r->start_ms, t, sizeof t),
	              utc(r->end_ms, t2, sizeof t2), r->end_ms > 0 ? " UTC" : "", duration(r, d, sizeof d));
	strbuf_printf(sb, "  %s\n", r->dir);
	strbuf_printf(sb, "parameters (%zu):\n", r->nparams);
	for (size_t i = 0; i < r->nparams; i++)
		strbuf_printf(sb, "  %-32s %s\n", r->params[i].key, r->params[i].value);
	strbuf_printf(sb, "metrics (%zu): last value, at step, points in the history\n", r->nmetrics);
	for (size_t i = 0; i < r->nmetrics; i++)
		strbuf_printf(sb, "  %-32s %-14.6g step %-6lld %zu point%s\n", r->metrics[i].key, r->metrics[i].last,
		              (long long)r->metrics[i].last_step, r->metrics[i].n, r->metrics[i].n == 1 ? "" : "s");
	strbuf_printf(sb, "tags (%zu):\n", r->ntags);
	for (size_t i = 0; i < r->ntags; i++)
		strbuf_printf(sb, "  %-32s %s\n", r->tags[i].key, r->tags[i].value);
	strbuf_printf(sb, "artifacts (%zu):\n", r->nartifacts);
	for (size_t i = 0; i < r->nartifacts; i++)
		strbuf_printf(sb, "  %-32s %lld bytes\n", r->artifacts[i].path, (long long)r->artifacts[i].bytes);
}

/* The sorted union of two sorted key lists, walked by index pairs. */
typedef struct {
	const char *key;
	long ia, ib; /* index in a / b, or -1 */
} pair;

static pair *merge_keys(const char *const *ka, size_t na, const char *const *kb, size_t nb, size_t *n)
{
	pair *p = malloc((na + nb + 1) * sizeof *p);
	size_t i = 0, j = 0, k = 0;
	if (!p)
		return NULL;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(ka[i], kb[j]);
		p[k].key = c <= 0 ? ka[i] : kb[j];
		p[k].ia = c <= 0 ? (long)i++ : -1;
		p[k].ib = c >= 0 ? (long)j++ : -1;
		k++;
	}
	*n = k;
	return p;
}

/* A value as a number, when it is one whole. */
static int as_number(const char *s, double *v)
{
	if (!s || !*s)
		return 0;
	char *end;
	*v = strtod(s, &end);
	return *end == '\0';
}

void mlrun_format_compare(strbuf *sb, const mlrun_info *a, const mlrun_info *b, int json)
{
	const char **ka = malloc((a->nparams + a->nmetrics + 1) * sizeof *ka);
	const char **kb = malloc((b->nparams + b->nmetrics + 1) * sizeof *kb);
	pair *pp = NULL, *pm = NULL;
	size_t np = 0, nm = 0;
	if (!ka || !kb) {
		sb->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < a->nparams; i++)
		ka[i] = a->params[i].key;
	for (size_t i = 0; i < b->nparams; i++)
		kb[i] = b->params[i].key;
	pp = merge_keys(ka, a->nparams, kb, b->nparams, &np);
	for (size_t i = 0; i < a->nmetrics; i++)
		ka[i] = a->metrics[i].key;
	for (size_t i = 0; i < b->nmetrics; i++)
		kb[i] = b->metrics[i].key;
	pm = merge_keys(ka, a->nmetrics, kb, b->nmetrics, &nm);
	if (!pp || !pm) {
		sb->oom = 1;
		goto out;
	}
	if (json) {
		strbuf_puts(sb, "{\"a\":");
		json_run_head(sb, a);
		strbuf_puts(sb, "},\"b\":");
		json_run_head(sb, b);
		strbuf_puts(sb, "},\"params\":[");
	} else {
		strbuf_printf(sb, "a: %s (%s, %s)\nb: %s (%s, %s)\n", a->run_id, a->name, a->status, b->run_id, b->name,
		              b->status);
		strbuf_printf(sb, "\nparameters  ('*' where they differ)\n  %-28s %-18s %-18s %s\n", "", "a", "b",
		              "b - a");
	}
	for (size_t i = 0; i < np; i++) {
		const char *va = pp[i].ia >= 0 ? a->params[pp[i].ia].value : NULL;
		const char *vb = pp[i].ib >= 0 ? b->params[pp[i].ib].value : NULL;
		int differs = !va || !vb || strcmp(va, vb) != 0;
		double x, y;
		int numeric = as_number(va, &x) && as_number(vb, &y);
		if (json) {
			strbuf_puts(sb, i ? ",{\"key\":" : "{\"key\":");
			strbuf_json(sb, pp[i].key);
			strbuf_puts(sb, ",\"a\":");
			va ? strbuf_json(sb, va) : strbuf_puts(sb, "null");
			strbuf_puts(sb, ",\"b\":");
			vb ? strbuf_json(sb, vb) : strbuf_puts(sb, "null");
			strbuf_puts(sb, ",\"diff\":");
			numeric ? json_num(sb, y - x) : strbuf_puts(sb, "null");
			strbuf_printf(sb, ",\"differs\":%s}", differs ? "true" : "false");
		} else {
			char dbuf[48] = "";
			if (numeric && differs)
				snprintf(dbuf, sizeof dbuf, "%+.6g", y - x);
			strbuf_printf(sb, "%c %-28s %-18s %-18s %s\n", differs ? '*' : ' ', pp[i].key, va ? va : "-",
			              vb ? vb : "-", dbuf);
		}
	}
	if (json)
		strbuf_puts(sb, "],\"metrics\":[");
	else
		strbuf_printf(sb, "\nmetrics (last values)\n  %-28s %-18s %-18s %s\n", "", "a", "b", "b - a");
	for (size_t i = 0; i < nm; i++) {
		const mlrun_series *ma = pm[i].ia >= 0 ? &a->metrics[pm[i].ia] : NULL;
		const mlrun_series *mb = pm[i].ib >= 0 ? &b->metrics[pm[i].ib] : NULL;
		int differs = !ma || !mb || !(ma->last == mb->last);
		if (json) {
			strbuf_puts(sb, i ? ",{\"key\":" : "{\"key\":");
			strbuf_json(sb, pm[i].key);
			strbuf_puts(sb, ",\"a\":");
			ma ? json_num(sb, ma->last) : strbuf_puts(sb, "null");
			strbuf_puts(sb, ",\"b\":");
			mb ? json_num(sb, mb->last) : strbuf_puts(sb, "null");
			strbuf_puts(sb, ",\"diff\":");
			ma &&mb ? json_num(sb, mb->last - ma->last) : strbuf_puts(sb, "null");
			strbuf_printf(sb, ",\"differs\":%s}", differs ? "true" : "false");
		} else {
			char xa[32] = "-", xb[32] = "-", dbuf[48] = "";
			if (ma)
				snprintf(xa, sizeof xa, "%.6g", ma->last);
			if (mb)
				snprintf(xb, sizeof xb, "%.6g", mb->last);
			if (ma && mb && differs)
				snprintf(dbuf, sizeof dbuf, "%+.6g", mb->last - ma->last);
			strbuf_printf(sb, "%c %-28s %-18s %-18s %s\n", differs ? '*' : ' ', pm[i].key, xa, xb, dbuf);
		}
	}
	if (json)
		strbuf_puts(sb, "]}\n");
out:
	free(ka);
	free(kb);
	free(pp);
	free(pm);
}
