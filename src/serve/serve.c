/* serve.c: the server's start-up and life (see serve.h): the model, the
 * workspace's names file and EDA cache, the daemon until a signal, and the
 * clean-up. The HTTP side is in http.c, the routes in handlers.c.
 *
 * Requests run on libmicrohttpd's thread pool. Every handler either answers
 * or returns an error value that becomes a 4xx/5xx with {"error",
 * "detail"}: nothing on a request path exits. */
#include "serve/serve.h"

#include "serve/internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/workspace.h"
#include "engine/tune.h"
#include "catalog/catalog.h"
#include "catalog/query.h"
#include "core/container.h"
#include "core/progress.h"
#include "engine/recommender.h"
#include "engine/train.h"
#include "pipeline/registry.h"
/* Last: OpenBLAS brings <complex.h>, whose macro I would clash with the
 * engine's field names. */
#include <cblas.h>

/* Maps the names file for the display fields, first writing it when it is
 * missing or older than the catalogue (a workspace ingested before segue
 * wrote one, or changed since); where it cannot be written, the fields come
 * from SQLite, which answers the same, only slower. */
static void open_names(server *s, sqlite3 *db)
{
	const char *ws = s->o->workspace;
	seg_error err = {0};
	int state = workspace_names_state(ws, db, &err);
	/* A missing or stale names file is rewritten through the workspace
	 * module, only when no other writer holds the lock (an ingest or a
	 * train may hold it for minutes): a server never waits on it, and
	 * reads the same fields from SQLite meanwhile. */
	if (state != WS_CURRENT && state >= 0) {
		double t0 = progress_now();
		int held = workspace_lock(ws, WORKSPACE_LOCK_TRY, &err);
		if (held == 0) {
			uint64_t tracks = 0;
			state = workspace_names_state(ws, db, &err);
			if (state != WS_CURRENT && state >= 0 && workspace_names_write(ws, db, &tracks, &err) == 0) {
				state = WS_CURRENT;
				if (!s->o->quiet)
					fprintf(stderr, "segue: wrote the names file for %llu tracks (%.1f s)\n",
					        (unsigned long long)tracks, progress_now() - t0);
			}
			workspace_unlock(ws);
		} else if (held == 1) {
			/* err still says why the file is not current */
			size_t len = strlen(err.msg);
			snprintf(err.msg + len, sizeof err.msg - len,
			         " (not rewritten: another segue command holds the "
			         "workspace)");
		}
	}
	char path[PATH_MAX];
	names *n = NULL;
	if (state == WS_CURRENT && workspace_path(ws, WS_NAMES, path, sizeof path, &err) == 0 &&
	    names_open(&n, path, &err) == 0) {
		s->names = n;
		return;
	}
	if (!s->o->quiet)
		fprintf(stderr, "segue: %s; track names come from SQLite\n", err.msg);
}

/* A model trained before the last ingest still serves what it knows, but
 * not the tracks catalogued since: say so, and what makes a current one. */
static void warn_if_model_older(const server *s, const serve_model *m, sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	if (s->o->quiet ||
	    sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) + 1 FROM tracks", -1, &q, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) != engine_track_limit(m->eng))
		fprintf(stderr,
		        "segue: model %s was trained on an older state of the catalogue: tracks catalogued since are "
		        "not recommended until `segue train` makes a new version\n",
		        m->version);
	sqlite3_finalize(q);
}

/* ---- the model ---- */

serve_model *serve__model_acquire(server *s)
{
	pthread_mutex_lock(&s->model_lock);
	serve_model *m = s->model;
	atomic_fetch_add(&m->refs, 1);
	pthread_mutex_unlock(&s->model_lock);
	return m;
}

void serve__model_release(serve_model *m)
{
	if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	engine_free(m->eng);
	free(m->clusters_json);
	free(m);
}

/* The model that `version` (an exp_config.version other than UNSET) names
 * among those s holds, or NULL. Call it with s->model_lock held. */
static serve_model *model_named(server *s, int version)
{
	if (version == EXP_VERSION_CHAMPION)
		return s->model;
	if (version == EXP_VERSION_CHALLENGER)
		return s->challenger;
	if (s->model->registry_version == version)
		return s->model;
	if (s->challenger != NULL && s->challenger->registry_version == version)
		return s->challenger;
	return NULL;
}

int serve__version_held(server *s, int version)
{
	if (version == EXP_VERSION_UNSET)
		return 1;
	pthread_mutex_lock(&s->model_lock);
	int held = model_named(s, version) != NULL;
	pthread_mutex_unlock(&s->model_lock);
	return held;
}

int serve__model_pick(server *s, const exp_config *cfg)
{
	if (cfg->version == EXP_VERSION_UNSET)
		return 1;
	pthread_mutex_lock(&s->model_lock);
	serve_model *m = model_named(s, cfg->version);
	if (m != NULL)
		atomic_fetch_add(&m->refs, 1);
	pthread_mutex_unlock(&s->model_lock);
	if (m == NULL) {
		atomic_fetch_add(&s->variant_fallbacks, 1);
		return 0;
	}
	serve__model_release(serve__cur);
	serve__cur = m;
	return 1;
}

/* Opens model version `artifact` (NULL: the latest) with what is derived
 * from it, with one reference (the caller's). engine_open maps it and
 * checks it whole (magic, layout, checksum) before anything uses it. */
static int model_open(const server *s, const char *artifact, serve_model **out, seg_error *err)
{
	*out = NULL;
	serve_model *m = calloc(1, sizeof *m);
	if (m == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	atomic_init(&m->refs, 1);
	int rc;
	if ((rc = train_model_path(s->o->workspace, artifact, m->path, sizeof m->path, err)) < 0 ||
	    (rc = engine_open(&m->eng, m->path, err)) < 0)
		goto fail;
	/* The version is the model's directory name. */
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", m->path);
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		slash = strrchr(tmp, '/');
	}
	snprintf(m->version, sizeof m->version, "%s", slash ? slash + 1 : "?");
	/* The variants' hybrid weights start from the served artifact's (its
	 * "hybrid" section, as the hybrid reads it; the defaults without). */
	m->base_hybrid = hybrid_weights_default;
	container_file *f = NULL;
	if ((rc = container_file_open(&f, m->path, err)) < 0)
		goto fail;
	size_t size = 0;
	const void *hw = container_file_section(f, MS_HYBRID, &size);
	if (hw != NULL && size == sizeof m->base_hybrid)
		memcpy(&m->base_hybrid, hw, sizeof m->base_hybrid);
	container_file_close(f);
	json_t *cl = serve__clusters_array(m->eng);
	m->clusters_json = cl ? json_dumps(cl, JSON_COMPACT) : NULL;
	json_decref(cl);
	if (m->clusters_json == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	*out = m;
	return 0;
fail:
	serve__model_release(m);
	return rc;
}

/* The model to serve at start: o->artifact, else the registry's champion
 * when it names one, else the latest version. A registry that cannot be
 * read fails the start: serving another model than the champion unawares
 * would be worse than not serving. */
static int model_first(const server *s, serve_model **out, seg_error *err)
{
	char champion[16];
	int model = 0, version = 0;
	if (s->o->artifact == NULL) {
		int rc = registry_champion_model(s->o->workspace, &model, &version, err);
		if (rc < 0 && rc != SEG_ENOTFOUND)
			return rc;
		seg_error_clear(err);
		if (rc == 0)
			snprintf(champion, sizeof champion, "v%d", model);
	}
	int rc = model_open(s, version ? champion : s->o->artifact, out, err);
	if (rc == 0)
		(*out)->registry_version = version;
	return rc;
}

/* The registry file's identity: it is replaced whole (a new inode) on every
 * change, so a change of inode, size or time is a change to look at. */
typedef struct file_id {
	ino_t ino;
	off_t size;
	struct timespec mtime;
} file_id;

static file_id registry_id(const char *ws)
{
	file_id id = {0};
	char path[PATH_MAX];
	struct stat st;
	if (workspace_path(ws, WS_REGISTRY, path, sizeof path, NULL) == 0 && stat(path, &st) == 0) {
		id.ino = st.st_ino;
		id.size = st.st_size;
		id.mtime = st.st_mtim;
	}
	return id;
}

/* Serves the registry's champion from now on when it is another model than
 * the current one: maps and checks it, then puts it in place for the
 * requests that start after; the old model goes when its last request ends.
 * A challenger promoted champion is shared, not mapped again. Anything
 * wrong (no champion, a model that fails its checks) leaves the current
 * model serving, with a line on standard error. */
static void champion_reload(server *s, const char *why)
{
	seg_error err = {0};
	int model, version;
	if (registry_champion_model(s->o->workspace, &model, &version, &err) < 0) {
		if (!s->o->quiet)
			fprintf(stderr, "segue: %s: keeping %s: %s\n", why, s->model->version, err.msg);
		return;
	}
	char name[16];
	snprintf(name, sizeof name, "v%d", model);
	if (strcmp(name, s->model->version) == 0 && version == s->model->registry_version)
		return;                      /* the champion already */
	serve_model *m, *ch = s->challenger; /* the main thread is the one writer of both: no lock to read */
	if (ch != NULL && strcmp(name, ch->version) == 0 && version == ch->registry_version) {
		/* the challenger promoted: the one model serves both aliases */
		m = ch;
		atomic_fetch_add(&m->refs, 1);
	} else if (model_open(s, name, &m, &err) < 0) {
		if (!s->o->quiet)
			fprintf(stderr, "segue: %s: keeping %s: champion %s cannot be served: %s\n", why,
			        s->model->version, name, err.msg);
		return;
	} else {
		m->registry_version = version;
	}
	pthread_mutex_lock(&s->model_lock);
	serve_model *old = s->model;
	s->model = m;
	pthread_mutex_unlock(&s->model_lock);
	atomic_fetch_add(&s->reloads, 1);
	if (!s->o->quiet)
		fprintf(stderr, "segue: %s: serving champion %s (registry version %d) instead of %s\n", why, name,
		        version, old->version);
	serve__model_release(old);
}

/* The same for the challenger (s->challenger), held beside the champion for
 * the variants that name it: a new one is mapped and checked before the
 * variants' requests switch to it (the champion's object is shared when
 * both aliases name one version); one that cannot be opened, or a registry
 * that cannot be read, leaves the previous one, with a line on standard
 * error; a registry that names no challenger any more drops it. Called
 * only from the main thread, the one writer of s->model and s->challenger,
 * so it reads them without the lock. */
static void challenger_reload(server *s, const char *why)
{
	seg_error err = {0};
	int model, version;
	serve_model *m = NULL, *cur = s->challenger;
	int rc = registry_alias_model(s->o->workspace, "challenger", &model, &version, &err);
	if (rc < 0 && rc != SEG_ENOTFOUND) {
		if (!s->o->quiet && cur != NULL)
			fprintf(stderr, "segue: %s: keeping challenger %s: %s\n", why, cur->version, err.msg);
		return;
	}
	if (rc == SEG_ENOTFOUND && cur == NULL)
		return;
	char name[16];
	snprintf(name, sizeof name, "v%d", model);
	if (rc == 0) {
		if (cur != NULL && strcmp(name, cur->version) == 0 && version == cur->registry_version)
			return; /* the challenger already */
		if (strcmp(name, s->model->version) == 0 && version == s->model->registry_version) {
			m = s->model;
			atomic_fetch_add(&m->refs, 1);
		} else if (model_open(s, name, &m, &err) < 0) {
			if (!s->o->quiet)
				fprintf(stderr,
				        "segue: %s: keeping challenger %s: challenger %s cannot be served: %s\n", why,
				        cur ? cur->version : "(none)", name, err.msg);
			return;
		} else {
			m->registry_version = version;
		}
	}
	pthread_mutex_lock(&s->model_lock);
	s->challenger = m;
	pthread_mutex_unlock(&s->model_lock);
	if (!s->o->quiet) {
		if (m != NULL)
			fprintf(stderr, "segue: %s: holding challenger %s (registry version %d)%s%s\n", why, name,
			        version, cur ? " instead of " : "", cur ? cur->version : "");
		else
			fprintf(stderr, "segue: %s: the registry names no challenger: %s is no longer held\n", why,
			        cur->version);
	}
	serve__model_release(cur);
}

/* Both aliases, when the server follows the registry (no --artifact). */
static void model_reload(server *s, const char *why)
{
	if (s->o->artifact != NULL) {
		if (!s->o->quiet)
			fprintf(stderr, "segue: %s: serving --artifact %s; the registry is not followed\n", why,
			        s->o->artifact);
		return;
	}
	champion_reload(s, why);
	challenger_reload(s, why);
}

/* The signal that ends serve_run, as one byte written to sig_pipe[1]. */
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	ssize_t w = write(sig_pipe[1], &b, 1);
	(void)w;
	errno = saved;
}

void serve_stop(void) { on_signal(SIGTERM); }

void serve_options_default(serve_options *o)
{
	memset(o, 0, sizeof(*o));
	o->bind = "127.0.0.1";
	o->port = 8080;
	o->threads = 2;
	o->access_log = stderr;
	o->request_deadline = SERVE_REQUEST_DEADLINE;
}

int serve_allow_host_check(const char *name, seg_error *err)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > 253 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != len)
		return seg_error_set(
			err, SEG_EINVAL,
			"allowed host '%.80s' must be a name of letters, digits, dots and hyphens, without "
			"port",
			name ? name : "");
	return 0;
}

int serve_run(const serve_options *o, seg_error *err)
{
	/* SQLite's memory statistics take a global mutex on every allocation,
	 * which the worker threads would queue for; nothing here reads them.
	 * (Refused, harmlessly, if SQLite was already initialised.) */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* Each worker keeps its catalogue connection in s->dbs, to be closed. */
	if (o->threads < 1 || o->threads > SERVE_MAX_THREADS)
		return seg_error_set(err, SEG_EINVAL, "threads must be 1..%d, not %d", SERVE_MAX_THREADS, o->threads);
	if (o->search_steps < 0)
		return seg_error_set(err, SEG_EINVAL, "search_steps must be 0 (the default) or more, not %ld",
		                     o->search_steps);
	if (o->nallow_hosts > SERVE_MAX_ALLOW_HOSTS)
		return seg_error_set(err, SEG_EINVAL, "at most %d names may be allowed as Host, not %zu",
		                     SERVE_MAX_ALLOW_HOSTS, o->nallow_hosts);
	for (size_t i = 0; i < o->nallow_hosts; i++)
		if (serve_allow_host_check(o->allow_hosts[i], err) < 0)
			return SEG_EINVAL;
	if (o->request_deadline < 0 || o->request_deadline > 3600)
		return seg_error_set(err, SEG_EINVAL,
		                     "request_deadline must be 1..3600 seconds (0: the default %d), not %d",
		                     SERVE_REQUEST_DEADLINE, o->request_deadline);
	server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	/* SIGTERM and SIGINT are caught, in whichever thread they land, and
	 * passed to the main thread through a pipe. (Blocking them and waiting
	 * with sigwait is not enough: OpenBLAS starts its threads when it is
	 * loaded, before main, with the signals unblocked, and one of them
	 * would take SIGTERM and end the process without the clean shutdown.) */
	if (pipe(sig_pipe) < 0) {
		free(s);
		return seg_error_set(err, SEG_EIO, "cannot create a pipe for signals");
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->o = o;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->exp_lock, NULL);
	pthread_mutex_init(&s->exp_reload, NULL);
	pthread_mutex_init(&s->model_lock, NULL);
	s->started = progress_now();
	int rc;
	struct MHD_Daemon *d = NULL;
	snprintf(s->dbpath, sizeof s->dbpath, "%s/%s", o->workspace, CATALOG_DB_NAME);
	if (access(s->dbpath, R_OK) != 0) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first", s->dbpath);
		goto out;
	}
	/* Requests that set no re-ranking knob get what `segue tune` chose on
	 * validation, as `segue evaluate` scored it (before the OpenAPI
	 * document states the defaults). */
	int tuned = 0;
	char note[PATH_MAX + 128];
	if ((rc = tune_use_rerank_defaults(o->workspace, &tuned, note, sizeof note, err)) < 0)
		goto out;
	if (!o->quiet && note[0] != '\0') {
		rec_request def;
		rec_request_default(&def);
		fprintf(stderr, "segue: re-ranking defaults: %s%s (diversity %g, novelty %g, %d per artist)\n",
		        tuned ? "" : "code defaults; ", note, def.diversity, def.novelty, def.max_per_artist);
	}
	if ((rc = model_first(s, &s->model, err)) < 0 || (rc = serve__openapi_build(s, err)) < 0 ||
	    (rc = serve__store_open(s, err)) < 0)
		goto out;
	if (o->artifact == NULL)
		challenger_reload(s, "start");
	/* The EDA summary and charts are computed once (the catalogue is
	 * read-only), or read back from the workspace's cache of them (written
	 * by `segue eda` or by an earlier start) when it matches. */
	sqlite3 *db;
	if ((rc = query_open(s->dbpath, &db, err)) < 0)
		goto out;
	warn_if_model_older(s, s->model, db);
	char cache[PATH_MAX];
	if ((rc = workspace_path(o->workspace, WS_EDA_CACHE, cache, sizeof cache, err)) < 0) {
		query_close(db);
		goto out;
	}
	strbuf json = {0};
	if (eda_cache_load(db, NULL, cache, &json, &s->charts) != 0) {
		int64_t key[EDA_CACHE_KEY];
		int keyed = eda_cache_key(db, NULL, key) == 0;
		if ((rc = eda_render_charts(db, NULL, NULL, &json, &s->charts, err)) < 0) {
			strbuf_free(&json);
			query_close(db);
			goto out;
		}
		/* Kept through the workspace's lock, only when no other command
		 * holds it (eda_cache_save never waits). */
		if (keyed && eda_cache_save(db, NULL, key, cache, &json, &s->charts, NULL) == 0 && !o->quiet)
			fprintf(stderr, "segue: kept the EDA summary and charts in %s for the next start\n", cache);
	}
	s->summary_len = json.len;
	s->summary = strbuf_detach(&json);
	open_names(s, db);
	query_close(db);

	/* Requests run in parallel on the server's own worker threads; BLAS
	 * threads inside each (ALS scores every item with one sgemv) would
	 * oversubscribe the cores. With OpenBLAS's threads the default model
	 * answered 132 req/s on the real catalogue at 32 connections, with one
	 * 534 (README, "Serving"). Training keeps its threads: this is the
	 * server's process only. */
	openblas_set_num_threads(1);

	int port;
	if ((rc = serve__daemon_start(s, &d, &port, err)) < 0)
		goto out;
	if (!o->quiet) {
		if (s->model->registry_version > 0)
			printf("serving champion %s (registry version %d)\n", s->model->version,
			       s->model->registry_version);
		printf("segue %s serving model %s (%zu tracks) on http://%s:%d/ with %d threads\n", SEGUE_VERSION,
		       s->model->version, engine_rows(s->model->eng), o->bind, port, o->threads);
		printf("dashboard http://%s:%d/  API http://%s:%d/openapi.json  metrics http://%s:%d/metrics\n",
		       o->bind, port, o->bind, port, o->bind, port);
	}
	fflush(stdout);
	/* Until SIGTERM or SIGINT: SIGHUP reloads the champion, and so does a
	 * change of the registry's file, looked at once a second. */
	unsigned char sig = 0;
	file_id seen = registry_id(o->workspace);
	for (;;) {
		struct pollfd pfd = {.fd = sig_pipe[0], .events = POLLIN};
		int ready = poll(&pfd, 1, 1000);
		if (ready < 0 && errno != EINTR)
			break;
		if (ready > 0) {
			ssize_t got = read(sig_pipe[0], &sig, 1);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0 || sig != SIGHUP)
				break;
			seen = registry_id(o->workspace);
			model_reload(s, "SIGHUP");
			continue;
		}
		file_id now = registry_id(o->workspace);
		if (now.ino != seen.ino || now.size != seen.size || now.mtime.tv_sec != seen.mtime.tv_sec ||
		    now.mtime.tv_nsec != seen.mtime.tv_nsec) {
			seen = now;
			model_reload(s, "the registry changed");
		}
	}
	if (!o->quiet)
		fprintf(stderr, "segue: signal %d: shutting down\n", sig);
	rc = 0;
out:
	serve__daemon_stop(s, d);
	serve__close_dbs(s);
	serve__store_close(s); /* after the daemon: no append is in flight, and close drains the logged impressions */
	serve__model_release(s->model); /* the daemon is stopped: no request holds it */
	serve__model_release(s->challenger);
	names_close(s->names);
	eda_charts_free(&s->charts);
	free(s->summary);
	free(s->openapi);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->exp_lock);
	pthread_mutex_destroy(&s->exp_reload);
	pthread_mutex_destroy(&s->model_lock);
	free(s);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
	return rc;
}
