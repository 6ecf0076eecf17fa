/* commands.c: the `segue` command: subcommand dispatch, options and exit
 * codes (see commands.h). Each subcommand is a thin layer over a library
 * module; nothing here computes. Exit codes: 0 success, 1 failure (the
 * message says why), 2 bad usage. */
#include "cli/commands.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/cli_internal.h"
#include "catalog/workspace.h"
#include "report/eda.h"
#include "core/error.h"
#include "synth/gen.h"
#include "ingest/ingest.h"
#include "core/progress.h"
#include "catalog/query.h"
#include "ingest/csv.h"
#include "ingest/schema.h"
#include "serve/serve.h"
#include "engine/evaluate.h"
#include "catalog/lookup.h"
#include "engine/recommend.h"
#include "engine/recommender.h"
#include "core/strbuf.h"
#include "engine/train.h"
#include "engine/tune.h"
#include "engine/dataset.h"
#include "catalog/catalog.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static int fail(const seg_error *err)
{
	char buf[1200];
	seg_error_format(err, buf, sizeof buf);
	fprintf(stderr, "segue: %s\n", buf);
	return EXIT_FAIL;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "segue %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry `segue %s --help`.\n", cmd);
	return EXIT_USAGE;
}

int cli__fail(const seg_error *err) { return fail(err); }
int cli__usage_error(const char *cmd, const char *fmt, const char *arg) { return usage_error(cmd, fmt, arg); }

/* ---- ingest ---- */

static void ingest_help(FILE *out)
{
	fprintf(out, "usage: segue ingest [--workspace DIR] [--map canonical=column,...] [--check] FILE|DIR...\n"
	             "       segue ingest [--workspace DIR] --refresh\n"
	             "\n"
	             "Reads track tables and playlist data into the workspace catalogue (SQLite) and\n"
	             "rewrites its feature snapshot. All files of one call land in one transaction.\n"
	             "\n"
	             "  -w, --workspace DIR  workspace (default $SEGUE_HOME, else ./segue-data)\n"
	             "  -m, --map SPEC       map columns of an unknown or odd header, e.g.\n"
	             "                       --map id=TrackID,name=Title,artists=Artist,danceability=dance\n"
	             "      --check          parse and validate only; write nothing\n"
	             "      --refresh        read no file: rewrite the feature snapshot and the names\n"
	             "                       file from the catalogue as it is\n"
	             "  -q, --quiet          no progress bar and no summary\n"
	             "  -h, --help           this text\n"
	             "\n"
	             "Inputs: CSV (RFC 4180; CRLF or LF; UTF-8 BOM ok), .zst-compressed files read as\n"
	             "they are, Million Playlist Dataset slices (mpd.slice.*.json), and the MPD CSV pair\n"
	             "(playlists: pid,name,...,num_followers; entries: pid,pos,track_id,...).\n"
	             "A directory stands for its .csv, .json and .zst files.\n"
	             "\n"
	             "Track tables recognised from their header:\n");
	schema_list_variants(out);
	fprintf(out, "\nCanonical columns for --map:");
	for (int c = 0; c < SC__COUNT; c++)
		fprintf(out, "%s%s", c % 10 == 0 ? "\n  " : " ", schema_col_names[c]);
	fprintf(out, "\n\n"
	             "Merging: tracks are keyed by Spotify id across files and calls. The first value\n"
	             "catalogued for a field wins; later rows only fill fields still empty. The audio\n"
	             "features move as one block, from the first row that has them. A track keeps every\n"
	             "genre and artist it was listed with.\n"
	             "Validation: rows that cannot be used (wrong field count, bad id, missing or\n"
	             "unparseable audio feature, 0-1 feature outside 0..1, key outside -1..11, mode not\n"
	             "0/1, loudness outside -60..5 dB) go to the rejects table and are skipped. Values\n"
	             "that are wrong on a usable row (tempo 0 or time signature 0 = not detected,\n"
	             "popularity outside 0..100, duration <= 0, unparseable dates) are stored as NULL\n"
	             "and also recorded in rejects (action 'value').\n");
	fprintf(out,
	        "Limits: a CSV record is at most %u MiB, a field at most %u MiB, and a record has\n"
	        "at most %u fields. A longer record goes to rejects as 'too_long' and reading\n"
	        "goes on; one that has not ended %u MiB after its start (e.g. /dev/zero) stops\n"
	        "the file with an error. A row with a NUL byte in any field goes to rejects as\n"
	        "'nul_byte'.\n",
	        CSV_MAX_RECORD >> 20, CSV_MAX_FIELD >> 20, CSV_MAX_FIELDS, CSV_MAX_SKIP >> 20);
}

/* Takes the workspace's writer lock, saying so when another segue holds it
 * and this one waits. */
static int lock_workspace(const char *ws, seg_error *err)
{
	int rc = workspace_lock(ws, WORKSPACE_LOCK_TRY, err);
	if (rc == 1) {
		fprintf(stderr, "segue: waiting for %s/%s: another segue is writing this workspace\n", ws,
		        workspace_file_name(WS_LOCK));
		rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err);
	}
	return rc;
}

/* `segue ingest --refresh`: the derived files, written again from the
 * catalogue; the lock is held. */
static int ingest_refresh(const char *ws, int quiet)
{
	catalog *c = NULL;
	seg_error err = {0};
	int rebuilt = 0;
	if (catalog_open(&c, ws, 0, &err) < 0 || workspace_derived_refresh(ws, catalog_db(c), 1, &rebuilt, &err) < 0) {
		catalog_close(c);
		return fail(&err);
	}
	catalog_close(c);
	if (!quiet)
		printf("rewrote %s/%s and %s/%s from the catalogue\n", ws, workspace_file_name(WS_FEATURES), ws,
		       workspace_file_name(WS_NAMES));
	return EXIT_OK;
}

static int cmd_ingest(int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"map", required_argument, NULL, 'm'},
		{"check", no_argument, NULL, 'c'},           {"quiet", no_argument, NULL, 'q'},
		{"refresh", no_argument, NULL, 'R'},         {"help", no_argument, NULL, 'h'},
		{0},
	};
	/* clang-format on */
	const char *ws = NULL;
	ingest_options o = {.progress = 1};
	int quiet = 0, refresh = 0, c;
	while ((c = getopt_long(argc, argv, "w:m:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'm': o.map_spec = optarg; break;
		case 'c': o.check_only = 1; break;
		case 'q':
			quiet = 1;
			o.progress = 0;
			break;
		case 'R': refresh = 1; break;
		case 'h': ingest_help(stdout); return EXIT_OK;
		default: return usage_error("ingest", "%s", "unknown option");
		}
	}
	if (refresh && (optind < argc || o.check_only || o.map_spec))
		return usage_error("ingest", "%s", "--refresh reads no file and takes no other option");
	if (!refresh && optind >= argc)
		return usage_error("ingest", "%s", "no input files given");
	char wsbuf[PATH_MAX];
	o.workspace = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	if (o.check_only) {
		ingest_summary sum;
		int rc = ingest_run(&o, argv + optind, (size_t)(argc - optind), &sum, &err);
		if (rc == 0 && !quiet)
			ingest_summary_print(&sum, &o, stdout);
		ingest_summary_free(&sum);
		return rc < 0 ? fail(&err) : EXIT_OK;
	}
	/* One writer at a time, from the catalogue's transaction to the last
	 * file derived from it. */
	if (lock_workspace(o.workspace, &err) < 0)
		return fail(&err);
	if (refresh) {
		int ec = ingest_refresh(o.workspace, quiet);
		workspace_unlock(o.workspace);
		return ec;
	}
	/* What the catalogue was, to say truthfully whether a failed ingest
	 * changed it (a failure after the commit leaves it written). */
	int64_t before[CATALOG_STAMP], after[CATALOG_STAMP];
	int had = workspace_catalog_stamp(o.workspace, before, NULL) == 0;
	ingest_summary sum;
	int rc = ingest_run(&o, argv + optind, (size_t)(argc - optind), &sum, &err);
	if (rc < 0) {
		int has = workspace_catalog_stamp(o.workspace, after, NULL) == 0;
		int changed = has && (!had || memcmp(before, after, sizeof before) != 0);
		workspace_unlock(o.workspace);
		ingest_summary_free(&sum);
		fail(&err);
		if (!changed)
			fprintf(stderr, "segue: nothing was written to the catalogue\n");
		return EXIT_FAIL;
	}
	workspace_unlock(o.workspace);
	if (!quiet)
		ingest_summary_print(&sum, &o, stdout);
	ingest_summary_free(&sum);
	return EXIT_OK;
}

/* ---- sql ---- */

static void sql_help(FILE *out)
{
	fprintf(out, "usage: segue sql [--workspace DIR] [--format table|csv|json] \"QUERY\"\n"
	             "\n"
	             "Runs read-only SQL over the catalogue. Statements that would write are refused.\n"
	             "QUERY may hold several statements; \"-\" reads the SQL from standard input.\n"
	             "\n"
	             "Tables: tracks, artists, track_artists, genres, track_genres, playlists,\n"
	             "playlist_tracks, rejects, ingests, meta; track_search (FTS5: name, artists).\n"
	             "Example:\n"
	             "  segue sql \"SELECT g.name, count(*) n, round(avg(t.energy),3) energy\n"
	             "             FROM tracks t JOIN track_genres tg ON tg.track_id=t.id\n"
	             "             JOIN genres g ON g.id=tg.genre_id GROUP BY g.name ORDER BY n DESC\"\n"
	             "  segue sql \"SELECT rowid, name, artists FROM track_search WHERE track_search MATCH 'love'\"\n");
}

static char *read_stdin(void)
{
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int cmd_sql(int argc, char **argv)
{
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *ws = NULL;
	int fmt = QUERY_TABLE, c;
	while ((c = getopt_long(argc, argv, "w:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'f':
			if ((fmt = query_format_parse(optarg)) < 0)
				return usage_error("sql", "unknown format '%s' (table, csv or json)", optarg);
			break;
		case 'h': sql_help(stdout); return EXIT_OK;
		default: return usage_error("sql", "%s", "unknown option");
		}
	}
	if (optind != argc - 1)
		return usage_error("sql", "%s", "give exactly one QUERY argument (quote it)");
	char wsbuf[PATH_MAX], path[PATH_MAX + 32];
	catalog_workspace(ws, wsbuf, sizeof wsbuf);
	snprintf(path, sizeof path, "%s/%s", wsbuf, CATALOG_DB_NAME);
	seg_error err = {0};
	if (access(path, R_OK) != 0) {
		seg_error_set(&err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first", path);
		return fail(&err);
	}
	char *sql = strcmp(argv[optind], "-") == 0 ? read_stdin() : strdup(argv[optind]);
	sqlite3 *db;
	int rc = query_open(path, &db, &err);
	if (rc == 0)
		rc = query_run(db, sql ? sql : "", (enum query_format)fmt, stdout, NULL, &err);
	query_close(db);
	free(sql);
	return rc < 0 ? fail(&err) : EXIT_OK;
}

/* ---- eda ---- */

static int cmd_eda(int argc, char **argv)
{
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *ws = NULL, *outdir = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'o': outdir = optarg; break;
		case 'h':
			printf("usage: segue eda [--workspace DIR] [--out DIR]\n\n"
			       "Writes the exploratory report of the catalogue: one self-contained HTML file\n"
			       "with inline SVG charts (report.html) and the figures as summary.json.\n"
			       "Every chart shows the SQL it comes from, to re-run with `segue sql`.\n\n"
			       "  -w, --workspace DIR  workspace (default $SEGUE_HOME, else ./segue-data)\n"
			       "  -o, --out DIR        output directory (default WORKSPACE/eda)\n");
			return EXIT_OK;
		default: return usage_error("eda", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("eda", "unexpected argument '%s'", argv[optind]);
	char wsbuf[PATH_MAX], path[PATH_MAX + 32], outbuf[PATH_MAX + 32];
	catalog_workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	if (workspace_path(wsbuf, WS_CATALOG, path, sizeof path, &err) < 0 ||
	    (outdir == NULL && workspace_path(wsbuf, WS_EDA_DIR, outbuf, sizeof outbuf, &err) < 0))
		return fail(&err);
	if (outdir == NULL)
		outdir = outbuf;
	if (access(path, F_OK) != 0) {
		seg_error_set(&err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first", path);
		return fail(&err);
	}
	/* One writer at a time: the report and the EDA cache are made from
	 * the catalogue as it is, not from one an ingest is changing. */
	if (lock_workspace(wsbuf, &err) < 0)
		return fail(&err);
	double t0 = progress_now();
	int rc = eda_report(path, outdir, &err);
	workspace_unlock(wsbuf);
	if (rc < 0)
		return fail(&err);
	printf("wrote %s/report.html and %s/summary.json in %.2f s\n", outdir, outdir, progress_now() - t0);
	return EXIT_OK;
}

/* ---- generate ---- */

static int parse_size(const char *s, size_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6, end++;
	if (*end != '\0' || v < 0 || v > 1e10)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int cmd_generate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tracks", required_argument, NULL, 't'},
		{"playlists", required_argument, NULL, 'p'},
		{"seed", required_argument, NULL, 's'},
		{"out", required_argument, NULL, 'o'},
		{"mpd", no_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	gen_options o;
	gen_options_init(&o);
	o.out_dir = "segue-synthetic";
	int c;
	while ((c = getopt_long(argc, argv, "t:p:s:o:mh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_size(optarg, &o.tracks) < 0)
				return usage_error("generate", "bad --tracks '%s' (e.g. 20000, 50k, 1M)", optarg);
			break;
		case 'p':
			if (parse_size(optarg, &o.playlists) < 0)
				return usage_error("generate", "bad --playlists '%s'", optarg);
			break;
		case 's': o.seed = strtoull(optarg, NULL, 10); break;
		case 'o': o.out_dir = optarg; break;
		case 'm': o.mpd_shape = 1; break;
		case 'h':
			printf("usage: segue generate [--tracks N] [--playlists N] [--seed S] [--out DIR] [--mpd]\n\n"
			       "Writes a deterministic SYNTHETIC catalogue (segue's track CSV format) and\n"
			       "synthetic playlists (the Million Playlist Dataset CSV pair), for demos, tests\n"
			       "and benchmarks when no real data is at hand. Every track, artist and playlist\n"
			       "is labelled synthetic. Ingest the directory with `segue ingest DIR`.\n\n"
			       "  -t, --tracks N     tracks (default %zu; 50k and 1M forms accepted)\n"
			       "  -p, --playlists N  playlists (default %zu; 0 for none)\n"
			       "  -s, --seed S       seed (default %llu); the same seed gives the same bytes\n"
			       "  -o, --out DIR      output directory (default ./segue-synthetic)\n"
			       "  -m, --mpd          playlists shaped like the Million Playlist Dataset's: 5..250\n"
			       "                     tracks (mean ~66), track use Zipf-like in popularity\n",
			       o.tracks, o.playlists, (unsigned long long)o.seed);
			return EXIT_OK;
		default: return usage_error("generate", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("generate", "unexpected argument '%s'", argv[optind]);
	progress prog;
	progress_start(&prog, "generating", o.tracks + o.playlists);
	o.progress = progress_callback;
	o.progress_ctx = &prog;
	gen_result res;
	seg_error err = {0};
	double t0 = progress_now();
	int rc = gen_write(&o, &res, &err);
	progress_finish(&prog);
	if (rc < 0)
		return fail(&err);
	printf("wrote SYNTHETIC data in %.2f s: %llu tracks by %llu artists -> %s\n", progress_now() - t0,
	       (unsigned long long)res.tracks, (unsigned long long)res.artists, res.tracks_path);
	if (res.playlists_path[0])
		printf("  %llu playlists, %llu entries -> %s, %s\n", (unsigned long long)res.playlists,
		       (unsigned long long)res.playlist_tracks, res.playlists_path, res.playlist_tracks_path);
	printf("next: segue ingest %s\n", o.out_dir);
	return EXIT_OK;
}

/* ---- train ---- */

/* The hyperparameters of the stronger models and the hybrid's blend, as
 * long options of `segue train`, kept apart from the others. */
enum { O_EASE_LAMBDA = 300, O_EASE_ITEMS, O_EASE_NBR, O_RP3_ALPHA, O_RP3_BETA, O_RP3_NBR, O_HYBRID };
#define TRAIN_MODEL_OPTIONS                                               \
	{"ease-lambda", required_argument, NULL, O_EASE_LAMBDA},          \
		{"ease-items", required_argument, NULL, O_EASE_ITEMS},    \
		{"ease-neighbours", required_argument, NULL, O_EASE_NBR}, \
		{"rp3-alpha", required_argument, NULL, O_RP3_ALPHA},      \
		{"rp3-beta", required_argument, NULL, O_RP3_BETA},        \
		{"rp3-neighbours", required_argument, NULL, O_RP3_NBR},   \
	{                                                                 \
		"hybrid", required_argument, NULL, O_HYBRID               \
	}

/* A number in [lo, hi] and nothing else. */
static int train_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* "content=0.15,cooc=0.4,als=0.45": the named weights, the others 0. */
static int hybrid_parse(const char *s, hybrid_weights *w)
{
	static const char *const names[] = {"content", "cooc", "als", "ease", "rp3"};
	float v[5] = {0};
	char buf[256];
	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		double x;
		size_t k = 0;
		if (eq == NULL)
			return -1;
		*eq = '\0';
		while (k < 5 && strcmp(tok, names[k]) != 0)
			k++;
		if (k == 5 || train_number(eq + 1, 0, 1e6, &x) < 0)
			return -1;
		v[k] = (float)x;
	}
	*w = (hybrid_weights){.content = v[0], .cooc = v[1], .als = v[2], .ease = v[3], .rp3 = v[4]};
	return hybrid_weights_valid(w) ? 0 : -1;
}

/* Applies one of TRAIN_MODEL_OPTIONS to `o`: 0 when done, -1 when `c` is
 * not one of them, a usage error's exit status (> 0) when `arg` is bad. */
static int train_model_option(int c, const char *arg, train_options *o)
{
	double v;
	switch (c) {
	case O_EASE_LAMBDA:
		if (train_number(arg, 1e-3, 1e9, &v) < 0)
			return usage_error("train", "--ease-lambda '%s' must be a number > 0", arg);
		o->ease_lambda = (float)v;
		return 0;
	case O_EASE_ITEMS:
		if (train_number(arg, 0, 40000, &v) < 0 || v != (int)v)
			return usage_error("train", "--ease-items '%s' must be a whole number in 0..40000", arg);
		o->ease_items = (int)v;
		return 0;
	case O_EASE_NBR:
	case O_RP3_NBR:
		if (train_number(arg, c == O_RP3_NBR ? 0 : 1, 100000, &v) < 0 || v != (int)v)
			return usage_error("train", "a neighbour count '%s' must be a whole number >= 1 (rp3: >= 0)",
			                   arg);
		*(c == O_EASE_NBR ? &o->ease_neighbours : &o->rp3_neighbours) = (int)v;
		return 0;
	case O_RP3_ALPHA:
		if (train_number(arg, 1e-3, 10, &v) < 0)
			return usage_error("train", "--rp3-alpha '%s' must be in (0, 10]", arg);
		o->rp3_alpha = (float)v;
		return 0;
	case O_RP3_BETA:
		if (train_number(arg, 0, 10, &v) < 0)
			return usage_error("train", "--rp3-beta '%s' must be in 0..10", arg);
		o->rp3_beta = (float)v;
		return 0;
	case O_HYBRID:
		if (hybrid_parse(arg, &o->hybrid) < 0)
			return usage_error("train",
			                   "--hybrid '%s' must be NAME=WEIGHT,... of content, cooc, als, ease, rp3, "
			                   "weights >= 0 with a positive sum",
			                   arg);
		return 0;
	default: return -1;
	}
}

static int cmd_train(int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"clusters", required_argument, NULL, 'k'},
		{"factors", required_argument, NULL, 'f'},   {"iterations", required_argument, NULL, 'i'},
		{"rounds", required_argument, NULL, 'r'},    {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},            TRAIN_MODEL_OPTIONS, {0},
	};
	/* clang-format on */
	train_options o;
	train_options_default(&o);
	const char *ws = NULL;
	int c, factors_given = 0;
	while ((c = getopt_long(argc, argv, "w:k:f:i:r:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'k': o.clusters = atoi(optarg); break;
		case 'f': o.factors = atoi(optarg), factors_given = 1; break;
		case 'i': o.als_iterations = atoi(optarg); break;
		case 'r': o.quality_rounds = atoi(optarg); break;
		case 'q': o.verbose = 0; break;
		case 'h': {
			char hybrid[160];
			snprintf(hybrid, sizeof hybrid, "content=%g,cooc=%g,als=%g,ease=%g,rp3=%g",
			         (double)o.hybrid.content, (double)o.hybrid.cooc, (double)o.hybrid.als,
			         (double)o.hybrid.ease, (double)o.hybrid.rp3);
			printf("usage: segue train [--workspace DIR] [--clusters K] [--factors F] [--iterations N]\n"
			       "                   [--rounds R] [--ease-*] [--rp3-*] [--hybrid W] [--quiet]\n\n"
			       "Fits every model on the catalogue and writes a new version under\n"
			       "WORKSPACE/models/vN/model.seg (WORKSPACE/models/latest names the newest):\n"
			       "  content    standardised audio features, key on the circle of fifths, genre block\n"
			       "  map        k-means clusters described in words, and a 2-D PCA projection\n"
			       "  quality    XGBoost popularity model, cross-validated against mean and ridge\n"
			       "  cf         item co-occurrence and implicit ALS from the training playlists\n"
			       "Trains on the train split of the playlists: by a hash of its id, one playlist in %d\n"
			       "is held out for validation (tuning) and one in %d for the test (`segue evaluate`).\n\n"
			       "  -k, --clusters K     k-means clusters (default 12)\n"
			       "  -f, --factors F      ALS factors (default 64)\n"
			       "  -i, --iterations N   ALS iterations (default 15)\n"
			       "  -r, --rounds R       XGBoost boosting rounds (default 120)\n"
			       "      --ease-lambda L      EASE regularisation (default %g)\n"
			       "      --ease-items N       EASE's dense solve on the N most frequent tracks in >= 2\n"
			       "                           training playlists (default %d; 4 N^2 bytes; 0 = no EASE)\n"
			       "      --ease-neighbours K  EASE weights kept per track (default %d)\n"
			       "      --rp3-alpha A        RP3beta power of the walk's probabilities (default %g)\n"
			       "      --rp3-beta B         RP3beta popularity penalty (default %g)\n"
			       "      --rp3-neighbours K   RP3beta neighbours kept per track (default %d; 0 = no "
			       "RP3beta);\n"
			       "                           fewer, said, when half the memory cannot hold them\n"
			       "      --hybrid W           the hybrid's blend, e.g. content=0.15,cooc=0.425,als=0.425\n"
			       "                           (of content, cooc, als, ease, rp3; default %s)\n",
			       CATALOG_SPLIT_MODULUS, CATALOG_SPLIT_MODULUS, (double)o.ease_lambda, o.ease_items,
			       o.ease_neighbours, (double)o.rp3_alpha, (double)o.rp3_beta, o.rp3_neighbours, hybrid);
			return EXIT_OK;
		}
		default: {
			int done = train_model_option(c, optarg, &o);
			if (done < 0)
				return usage_error("train", "%s", "unknown option");
			if (done > 0)
				return done;
			break;
		}
		}
	}
	if (optind != argc)
		return usage_error("train", "unexpected argument '%s'", argv[optind]);
	if (o.clusters < 1 || o.factors < 1 || o.als_iterations < 1 || o.quality_rounds < 1)
		return usage_error("train", "%s", "--clusters, --factors, --iterations and --rounds must be >= 1");
	char wsbuf[PATH_MAX], version[32];
	o.workspace = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	/* One writer at a time: no ingest changes the catalogue while the model
	 * reads it, and the model is trained on a feature snapshot made from
	 * the catalogue as it is, rebuilt here when it is not. */
	static const char *const how[] = {
		[WS_MISSING] = "missing", [WS_STALE] = "older than the catalogue", [WS_DAMAGED] = "unreadable"};
	catalog *cat = NULL;
	if (catalog_open(&cat, o.workspace, 0, &err) < 0 || lock_workspace(o.workspace, &err) < 0) {
		catalog_close(cat);
		return fail(&err);
	}
	int state = workspace_features_state(o.workspace, catalog_db(cat), &err);
	if (state > 0 && o.verbose)
		fprintf(stderr, "segue: %s/%s is %s: rebuilding it from the catalogue\n", o.workspace,
		        workspace_file_name(WS_FEATURES), how[state]);
	if (state >= 0)
		state = workspace_derived_refresh(o.workspace, catalog_db(cat), 0, NULL, &err);
	catalog_close(cat);
	if (state >= 0) {
		/* The values `segue tune` chose, when it ran on this catalogue. */
		int applied = 0;
		char note[PATH_MAX + 128];
		int factors = o.factors;
		state = tune_apply(o.workspace, &o, NULL, &applied, note, sizeof note, &err);
		if (factors_given)
			o.factors = factors; /* what the command line says wins */
		if (state >= 0 && o.verbose)
			fprintf(stderr, "segue: %s\n", note[0] ? note : "no tuning.json: using the code's defaults");
	}
	struct mlrun *run = state < 0 ? NULL : cli__train_track_start(&o);
	int rc = state < 0 ? state : train_run(&o, version, sizeof version, &err);
	cli__train_track_end(run, &o, rc < 0 ? NULL : version);
	workspace_unlock(o.workspace);
	if (rc < 0)
		return fail(&err);
	return EXIT_OK;
}

/* ---- recommend ---- */

#define MAX_SEEDS 64
#define MAX_GENRES 32

static void recommend_help(void)
{
	printf("usage: segue recommend [--workspace DIR] (--seed ID_OR_NAME)... [--mood SPEC] [--title TEXT] [--k N]\n"
	       "                       [--model NAME] [--diversity X] [--novelty X] [--quality X]\n"
	       "                       [--max-per-artist N] [--no-rerank] [--artifact vN] [--json]\n\n"
	       "Recommends new tracks for a listener who likes the seed tracks and/or a mood, each\n"
	       "with the reasons it was picked. Seeds are Spotify ids (or spotify: URIs, links) or\n"
	       "names; an ambiguous name lists the candidates.\n\n"
	       "  -s, --seed X          a track the listener likes (repeatable, up to %d)\n"
	       "      --dislike X       a track the listener dislikes (repeatable, up to %d): it and its\n"
	       "                        other versions never come, and picks move away from its sound\n"
	       "      --genre G         only tracks of genre G (repeatable: any of them; the model's genres)\n"
	       "      --year-min Y      only tracks released in Y or later (1900..2100)\n"
	       "      --year-max Y      only tracks released in Y or earlier; with either, unknown years go\n"
	       "      --mood SPEC       e.g. energy=0.8,valence=0.7,tempo=120 (0-1 features, BPM, dB)\n"
	       "      --title TEXT      the playlist's title (read by the title model: --model title)\n"
	       "  -k, --k N             how many (default 10, at most 500)\n"
	       "  -m, --model NAME      the recommender (default hybrid), one of the models below\n"
	       "      --diversity X     MMR trade-off 0..1 (default 0.3; 0 = relevance only)\n"
	       "      --novelty X       weight for rarely played tracks (default 0.1)\n"
	       "      --quality X       weight for predicted appeal (default 0.1)\n"
	       "      --max-per-artist N  (default 2; 0 = no cap)\n"
	       "      --no-rerank       plain model order: no diversity, novelty, quality or cap\n"
	       "      --artifact vN     model version (default: the latest `segue train` wrote)\n"
	       "      --json            machine-readable output\n",
	       MAX_SEEDS, MAX_SEEDS);
	printf("\nModels (those marked * need no seed or mood):\n");
	for (size_t i = 0; i < recommender_count(); i++) {
		const recommender *m = recommender_get((int)i);
		printf("  %-10s %s%s\n", m->name, m->flags & REC_NEEDS_QUERY ? "" : "* ",
		       m->description ? m->description : "");
	}
}

static int parse_float(const char *s, float lo, float hi, float *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (float)v;
	return 0;
}

static int cmd_recommend(int argc, char **argv)
{
	enum {
		O_MOOD = 256,
		O_DIV,
		O_NOV,
		O_QUAL,
		O_CAP,
		O_NORERANK,
		O_ART,
		O_JSON,
		O_DISLIKE,
		O_GENRE,
		O_YMIN,
		O_YMAX,
		O_TITLE
	};
	/* clang-format off */
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"seed", required_argument, NULL, 's'},
		{"mood", required_argument, NULL, O_MOOD},     {"k", required_argument, NULL, 'k'},
		{"model", required_argument, NULL, 'm'},       {"diversity", required_argument, NULL, O_DIV},
		{"novelty", required_argument, NULL, O_NOV},   {"quality", required_argument, NULL, O_QUAL},
		{"max-per-artist", required_argument, NULL, O_CAP}, {"no-rerank", no_argument, NULL, O_NORERANK},
		{"artifact", required_argument, NULL, O_ART},  {"json", no_argument, NULL, O_JSON},
		{"title", required_argument, NULL, O_TITLE},
		{"dislike", required_argument, NULL, O_DISLIKE}, {"genre", required_argument, NULL, O_GENRE},
		{"year-min", required_argument, NULL, O_YMIN}, {"year-max", required_argument, NULL, O_YMAX},
		{"help", no_argument, NULL, 'h'},              {0},
	};
	/* clang-format on */
	const char *ws = NULL, *artifact = NULL, *seeds_text[MAX_SEEDS], *dislikes_text[MAX_SEEDS], *genres[MAX_GENRES];
	size_t nseeds = 0, ndislikes = 0, ngenres = 0;
	int json = 0, c;
	unsigned knobs = 0; /* re-ranking knobs set on the command line: 1 diversity, 2 novelty, 4 cap */
	rec_request r;
	rec_request_default(&r);
	while ((c = getopt_long(argc, argv, "w:s:k:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 's':
			if (nseeds == MAX_SEEDS)
				return usage_error("recommend", "at most %s seeds", "64");
			seeds_text[nseeds++] = optarg;
			break;
		case O_MOOD: r.mood = optarg; break;
		case O_TITLE: r.title = optarg; break;
		case O_DISLIKE:
			if (ndislikes == MAX_SEEDS)
				return usage_error("recommend", "at most %s dislikes", "64");
			dislikes_text[ndislikes++] = optarg;
			break;
		case O_GENRE:
			if (ngenres == MAX_GENRES)
				return usage_error("recommend", "at most %s genres", "32");
			genres[ngenres++] = optarg;
			break;
		case O_YMIN:
		case O_YMAX: {
			float y;
			if (parse_float(optarg, REC_YEAR_MIN, REC_YEAR_MAX, &y) < 0 || y != (int)y)
				return usage_error("recommend",
				                   "--year-min/--year-max '%s' must be a year from 1900 to 2100",
				                   optarg);
			*(c == O_YMIN ? &r.year_min : &r.year_max) = (int)y;
			break;
		}
		case 'k': {
			float k;
			if (parse_float(optarg, 1, 500, &k) < 0 || k != (int)k)
				return usage_error("recommend", "--k '%s' must be a whole number from 1 to 500",
				                   optarg);
			r.k = (size_t)k;
			break;
		}
		case 'm': {
			int m = recommender_find(optarg);
			if (m < 0) {
				char names[512], msg[700];
				recommender_names_join(", ", names, sizeof names);
				snprintf(msg, sizeof msg, "unknown model '%s' (%s)", optarg, names);
				return usage_error("recommend", "%s", msg);
			}
			r.model = m;
			break;
		}
		case O_DIV:
			if (parse_float(optarg, 0, 1, &r.diversity) < 0)
				return usage_error("recommend", "--diversity '%s' must be in 0..1", optarg);
			knobs |= 1u;
			break;
		case O_NOV:
			if (parse_float(optarg, 0, 10, &r.novelty) < 0)
				return usage_error("recommend", "--novelty '%s' must be in 0..10", optarg);
			knobs |= 2u;
			break;
		case O_QUAL:
			if (parse_float(optarg, 0, 10, &r.quality) < 0)
				return usage_error("recommend", "--quality '%s' must be in 0..10", optarg);
			break;
		case O_CAP: {
			float cap;
			if (parse_float(optarg, 0, 500, &cap) < 0)
				return usage_error("recommend", "--max-per-artist '%s' must be 0..500", optarg);
			r.max_per_artist = (int)cap;
			knobs |= 4u;
			break;
		}
		case O_NORERANK: r.rerank = 0; break;
		case O_ART: artifact = optarg; break;
		case O_JSON: json = 1; break;
		case 'h': recommend_help(); return EXIT_OK;
		default: return usage_error("recommend", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("recommend", "unexpected argument '%s' (seeds go after --seed)", argv[optind]);
	unsigned mflags = recommender_get(r.model)->flags;
	if (nseeds == 0 && r.mood == NULL && (mflags & REC_NEEDS_QUERY) &&
	    !((mflags & REC_USES_TITLE) && r.title != NULL && r.title[0] != '\0'))
		return usage_error("recommend", "%s",
		                   mflags & REC_USES_TITLE ? "give at least one --seed, a --mood or a --title"
		                                           : "give at least one --seed or a --mood");
	char wsbuf[PATH_MAX], dbpath[PATH_MAX + 32], mpath[PATH_MAX + 64];
	catalog_workspace(ws, wsbuf, sizeof wsbuf);
	snprintf(dbpath, sizeof dbpath, "%s/%s", wsbuf, CATALOG_DB_NAME);
	seg_error err = {0};
	/* The knobs not given take what `segue tune` chose, as the server does. */
	int tuned = 0;
	if (tune_use_rerank_defaults(wsbuf, &tuned, NULL, 0, &err) < 0)
		return fail(&err);
	if (tuned) {
		rec_request def;
		rec_request_default(&def);
		if (!(knobs & 1u))
			r.diversity = def.diversity;
		if (!(knobs & 2u))
			r.novelty = def.novelty;
		if (!(knobs & 4u))
			r.max_per_artist = def.max_per_artist;
	}
	sqlite3 *db = NULL;
	engine *e = NULL;
	rec_item *items = NULL;
	int status = EXIT_FAIL;
	if (access(dbpath, R_OK) != 0) {
		seg_error_set(&err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first", dbpath);
		fail(&err);
		return EXIT_FAIL;
	}
	if (query_open(dbpath, &db, &err) < 0 || train_model_path(wsbuf, artifact, mpath, sizeof mpath, &err) < 0 ||
	    engine_open(&e, mpath, &err) < 0) {
		fail(&err);
		goto out;
	}
	/* Seeds, by id or name. One that matches nothing is skipped, with a
	 * warning, when another one resolves (as the server does); an
	 * ambiguous one stops here, with its candidates. */
	int64_t seeds[MAX_SEEDS];
	lookup_hit seed_hits[MAX_SEEDS];
	const char *seed_names[MAX_SEEDS];
	char warning[2 * MAX_SEEDS][160];
	const char *warnings[2 * MAX_SEEDS] = {0};
	size_t given = nseeds, nwarnings = 0;
	seg_error unknown = {0};
	nseeds = 0;
	for (size_t i = 0; i < given; i++) {
		lookup_hit alts[10];
		size_t nalts = 0;
		int rc = lookup_resolve(db, seeds_text[i], &seed_hits[nseeds], alts, 10, &nalts, &err);
		if (rc == SEG_ENOTFOUND) {
			if (unknown.code == 0)
				unknown = err;
			snprintf(warning[nwarnings], sizeof warning[nwarnings],
			         "seed '%.80s' is not in the catalogue; it was skipped", seeds_text[i]);
			warnings[nwarnings] = warning[nwarnings];
			nwarnings++;
			continue;
		}
		if (rc < 0) {
			fail(&err);
			for (size_t a = 0; a < nalts; a++)
				fprintf(stderr, "  %s  %s — %s%s\n", alts[a].spotify_id, alts[a].name, alts[a].artists,
				        alts[a].has_features ? "" : "  (no audio features)");
			goto out;
		}
		seeds[nseeds] = seed_hits[nseeds].track;
		seed_names[nseeds] = seed_hits[nseeds].name;
		nseeds++;
	}
	if (given > 0 && nseeds == 0) {
		fail(&unknown);
		goto out;
	}
	/* Dislikes, by id or name, as the seeds: one that matches nothing is
	 * skipped with a warning. */
	int64_t dislikes[MAX_SEEDS];
	size_t nd = 0;
	for (size_t i = 0; i < ndislikes; i++) {
		lookup_hit h, alts[10];
		size_t nalts = 0;
		int rc = lookup_resolve(db, dislikes_text[i], &h, alts, 10, &nalts, &err);
		if (rc == SEG_ENOTFOUND) {
			snprintf(warning[nwarnings], sizeof warning[nwarnings],
			         "disliked track '%.80s' is not in the catalogue; it was skipped", dislikes_text[i]);
			warnings[nwarnings] = warning[nwarnings];
			nwarnings++;
			continue;
		}
		if (rc < 0) {
			fail(&err);
			for (size_t a = 0; a < nalts; a++)
				fprintf(stderr, "  %s  %s — %s%s\n", alts[a].spotify_id, alts[a].name, alts[a].artists,
				        alts[a].has_features ? "" : "  (no audio features)");
			goto out;
		}
		dislikes[nd++] = h.track;
	}
	for (size_t i = 0; i < nwarnings; i++)
		fprintf(stderr, "segue: warning: %s\n", warnings[i]);
	r.seeds = seeds;
	r.nseeds = nseeds;
	r.dislikes = dislikes;
	r.ndislikes = nd;
	r.genres = genres;
	r.ngenres = ngenres;
	items = malloc(sizeof(rec_item) * r.k);
	size_t n = 0;
	const char *shortfall = "";
	if (items == NULL || engine_recommend(e, &r, items, &n, &shortfall, &err) < 0) {
		if (items == NULL)
			seg_error_set(&err, SEG_ENOMEM, "out of memory");
		fail(&err);
		goto out;
	}
	char note[SERVE_MAX_NOTES][SERVE_NOTE_CAP];
	const char *notes[SERVE_MAX_NOTES];
	size_t nnotes = serve_recommend_notes(e, &r, n, note);
	for (size_t i = 0; i < nnotes; i++)
		notes[i] = note[i];
	if (json) {
		/* The server's answer (serve/answer.h), with the seeds as they were
		 * resolved. */
		lookup_hit *hits = malloc(sizeof(lookup_hit) * (n ? n : 1));
		uint8_t *found = malloc(n ? n : 1);
		int64_t *ids = malloc(sizeof(int64_t) * (n ? n : 1));
		strbuf sb = {0};
		int ok = hits && found && ids;
		for (size_t i = 0; ok && i < n; i++)
			ids[i] = items[i].track;
		if (ok && lookup_tracks(db, ids, n, hits, found, &err) < 0) {
			fail(&err);
			ok = -1;
		}
		/* model_version: the version's directory name, as the server says it */
		char version[64] = "?";
		const char *end = strrchr(mpath, '/'), *start = end;
		while (start != NULL && start > mpath && start[-1] != '/')
			start--;
		if (end != NULL && end > start && (size_t)(end - start) < sizeof version)
			snprintf(version, sizeof version, "%.*s", (int)(end - start), start);
		serve_answer_ab ab = {NULL, NULL, NULL, version};
		if (ok == 1)
			serve_write_recommend(&sb, e, NULL, recommender_name(r.model), items, n, hits, found,
			                      seed_names, seed_hits, nseeds, shortfall, warnings, nwarnings, notes,
			                      nnotes, &ab);
		free(hits);
		free(found);
		free(ids);
		if (ok != 1 || sb.oom) {
			if (ok != -1) {
				seg_error_set(&err, SEG_ENOMEM, "out of memory");
				fail(&err);
			}
			strbuf_free(&sb);
			goto out;
		}
		puts(strbuf_cstr(&sb));
		strbuf_free(&sb);
	} else {
		printf("%zu recommendation%s (%s%s)%s%s\n", n, n == 1 ? "" : "s", recommender_name(r.model),
		       r.rerank ? ", re-ranked" : "", shortfall[0] ? ": " : "", shortfall);
		for (size_t i = 0; i < nnotes; i++)
			printf("note: %s\n", notes[i]);
		char why[512];
		for (size_t i = 0; i < n; i++) {
			lookup_hit h;
			if (lookup_track(db, items[i].track, &h, &err) < 0)
				snprintf(h.name, sizeof h.name, "?");
			rec_reason_text(e, &items[i], seed_names, nseeds, why, sizeof why);
			printf("%3zu. %s — %s\n     %s\n     https://open.spotify.com/track/%s\n", i + 1, h.name,
			       h.artists, why[0] ? why : "", h.spotify_id);
		}
	}
	status = EXIT_OK;
out:
	free(items);
	engine_free(e);
	query_close(db);
	return status;
}

/* ---- evaluate ---- */

static int cmd_evaluate(int argc, char **argv)
{
	enum { O_ART = 256, O_JSON, O_MAX, O_SPLIT, O_RUNS, O_MD };
	/* clang-format off */
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"artifact", required_argument, NULL, O_ART},
		{"k", required_argument, NULL, 'k'},         {"max-playlists", required_argument, NULL, O_MAX},
		{"split", required_argument, NULL, O_SPLIT}, {"runs", required_argument, NULL, O_RUNS},
		{"markdown", required_argument, NULL, O_MD}, {"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},            {0},
	};
	/* clang-format on */
	eval_options o;
	eval_options_default(&o);
	const char *ws = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_ART: o.artifact = optarg; break;
		case 'k': {
			float k;
			if (parse_float(optarg, 10, 1000, &k) < 0)
				return usage_error("evaluate", "--k '%s' must be 10..1000", optarg);
			o.k = (size_t)k;
			break;
		}
		case O_MAX: {
			float m;
			if (parse_float(optarg, 1, 1e9f, &m) < 0)
				return usage_error("evaluate", "--max-playlists '%s' must be >= 1", optarg);
			o.max_playlists = (size_t)m;
			break;
		}
		case O_SPLIT:
			if (strcmp(optarg, "test") == 0)
				o.split = CATALOG_SPLIT_TEST;
			else if (strcmp(optarg, "validation") == 0)
				o.split = CATALOG_SPLIT_VALID;
			else
				return usage_error("evaluate", "--split '%s' must be test or validation", optarg);
			break;
		case O_RUNS: {
			float r;
			if (parse_float(optarg, 1, 20, &r) < 0 || r != (int)r)
				return usage_error("evaluate", "--runs '%s' must be 1..20", optarg);
			o.runs = (int)r;
			break;
		}
		case O_MD: o.markdown = optarg; break;
		case O_JSON: o.json = 1; break;
		case 'h': {
			char names[512];
			recommender_names_join(", ", names, sizeof names);
			printf("usage: segue evaluate [--workspace DIR] [--artifact vN] [--split test|validation]\n"
			       "                      [--runs N] [--k 500] [--max-playlists N] [--json]\n"
			       "       segue evaluate --markdown FILE\n\n"
			       "Playlist continuation on held-out playlists (the test split by default; one playlist\n"
			       "in %d, never seen by training). The same playlists in every row: those with more than\n"
			       "25 distinct tracks. Seed cases: first-n (n = 1, 5, 10, 25), random-n (n = 5, 25 at\n"
			       "random positions, fixed per playlist), title-only when a model reads titles. Lists "
			       "are\n"
			       "filled to k with popular training tracks. Every model and the hybrid re-ranked are\n"
			       "scored: R-precision, NDCG as the challenge organisers compute it (ndcg_hits: the "
			       "older\n"
			       "normalisation over the hits), clicks, recall, novelty and ILD of the top 10, overall\n"
			       "and by source (mpd, editorial), with 95%% CIs and paired t-tests against the best\n"
			       "baseline, Holm-corrected. --runs N trains N models (seeds 42..) on the train split,\n"
			       "with the values `segue tune` chose, and reports mean ± sd over runs. The table is "
			       "kept\n"
			       "as evaluation.json beside the model. --markdown FILE prints FILE's table as "
			       "Markdown.\n\n"
			       "Models: %s.\n",
			       CATALOG_SPLIT_MODULUS, names);
			return EXIT_OK;
		}
		default: return usage_error("evaluate", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("evaluate", "unexpected argument '%s'", argv[optind]);
	if (o.runs > 1 && o.artifact != NULL)
		return usage_error("evaluate", "%s", "--runs trains its own models: it takes no --artifact");
	char wsbuf[PATH_MAX];
	o.workspace = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	train_options t;
	train_options_default(&t);
	t.skip_quality_cv = 1; /* the CV only reports; the model is the same */
	eval_rerank rr;
	rec_request def;
	rec_request_default(&def);
	rr = (eval_rerank){def.diversity, def.novelty, def.max_per_artist};
	if (o.markdown == NULL) {
		int applied = 0;
		char note[PATH_MAX + 128];
		if (tune_apply(o.workspace, &t, &rr, &applied, note, sizeof note, &err) < 0)
			return fail(&err);
		if (note[0] && !o.json)
			fprintf(stderr, "segue: %s\n", note);
		o.train = &t;
		o.rerank = &rr;
	}
	if (o.markdown != NULL)
		return evaluate_run(&o, &err) < 0 ? fail(&err) : EXIT_OK;
	char kept[PATH_MAX + 64] = "";
	o.kept = kept;
	o.kept_cap = sizeof kept;
	struct mlrun *run = cli__evaluate_track_start(&o);
	int rc = evaluate_run(&o, &err);
	cli__evaluate_track_end(run, rc < 0 ? NULL : kept);
	return rc < 0 ? fail(&err) : EXIT_OK;
}

/* ---- tune ---- */

static int cmd_tune(int argc, char **argv)
{
	enum { O_MAX = 256, O_MD };
	/* clang-format off */
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"max-playlists", required_argument, NULL, O_MAX},
		{"markdown", required_argument, NULL, O_MD}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},            {0},
	};
	/* clang-format on */
	tune_options o;
	tune_options_default(&o);
	const char *ws = NULL, *md = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_MAX: {
			float m;
			if (parse_float(optarg, 0, 1e9f, &m) < 0)
				return usage_error("tune", "--max-playlists '%s' must be >= 0", optarg);
			o.max_playlists = (size_t)m;
			break;
		}
		case O_MD: md = optarg; break;
		case 'q': o.verbose = 0; break;
		case 'h':
			printf("usage: segue tune [--workspace DIR] [--max-playlists N] [--quiet]\n"
			       "       segue tune --markdown FILE\n\n"
			       "Chooses every weight and hyperparameter on the validation split (never the test\n"
			       "split): coordinate descent over ALS factors/alpha/lambda, co-occurrence neighbours,\n"
			       "the hybrid's blend and the re-ranking's novelty weight and artist cap, each point\n"
			       "trained on the train split and scored on up to N validation playlists (default 400,\n"
			       "0 = all) by the mean of R-precision and NDCG at 5 and 10 seeds. The diversity λ is\n"
			       "the largest whose accuracy is within 5%% of λ = 0 on the trade-off curve. Writes\n"
			       "WORKSPACE/tuning.json and tuning-lambda.svg; `segue train` then uses the chosen "
			       "values.\n"
			       "--markdown FILE prints FILE's summary as Markdown.\n");
			return EXIT_OK;
		default: return usage_error("tune", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("tune", "unexpected argument '%s'", argv[optind]);
	seg_error err = {0};
	if (md != NULL)
		return tune_markdown(md, stdout, &err) < 0 ? fail(&err) : EXIT_OK;
	char wsbuf[PATH_MAX];
	o.workspace = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	return tune_run(&o, &err) < 0 ? fail(&err) : EXIT_OK;
}

/* ---- serve ---- */

static int cmd_serve(int argc, char **argv)
{
	enum { O_ART = 256, O_NOLOG, O_ALLOW, O_EVENTS, O_TOKEN, O_PROBE };
	/* clang-format off */
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"bind", required_argument, NULL, 'b'},
		{"port", required_argument, NULL, 'p'},      {"threads", required_argument, NULL, 't'},
		{"artifact", required_argument, NULL, O_ART}, {"no-access-log", no_argument, NULL, O_NOLOG},
		{"allow-host", required_argument, NULL, O_ALLOW},
		{"events", required_argument, NULL, O_EVENTS}, {"token", required_argument, NULL, O_TOKEN},
		{"knn-probe", required_argument, NULL, O_PROBE},
		{"help", no_argument, NULL, 'h'},            {0},
	};
	/* clang-format on */
	serve_options o;
	serve_options_default(&o);
	/* The token from the environment, so that it need not show in `ps`. */
	o.token = getenv("SEGUE_TOKEN");
	const char *allow[SERVE_MAX_ALLOW_HOSTS];
	seg_error aerr = {0};
	const char *ws = NULL;
	int c;
	float v;
	while ((c = getopt_long(argc, argv, "w:b:p:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'b': o.bind = optarg; break;
		case 'p':
			if (parse_float(optarg, 0, 65535, &v) < 0 || v != (int)v)
				return usage_error("serve", "--port '%s' must be 0..65535 (0 = any free port)", optarg);
			o.port = (int)v;
			break;
		case 't':
			if (parse_float(optarg, 1, SERVE_MAX_THREADS, &v) < 0 || v != (int)v)
				return usage_error("serve", "--threads '%s' must be 1..64", optarg);
			o.threads = (int)v;
			break;
		case O_ART: o.artifact = optarg; break;
		case O_NOLOG: o.access_log = NULL; break;
		case O_EVENTS:
			if (optarg[0] == '\0')
				return usage_error("serve", "%s",
				                   "--events needs a postgresql:// URL or a SQLite file");
			o.events = optarg;
			break;
		case O_TOKEN: o.token = optarg; break;
		case O_PROBE:
			if (parse_float(optarg, 0, REC_KNN_PROBE_MAX, &v) < 0 || v != (int)v)
				return usage_error("serve", "--knn-probe '%s' must be a whole number 0..100000",
				                   optarg);
			rec_request_set_knn_probe_default((size_t)v);
			break;
		case O_ALLOW:
			if (o.nallow_hosts == SERVE_MAX_ALLOW_HOSTS)
				seg_error_set(&aerr, SEG_EINVAL, "at most %d names may be allowed",
				              SERVE_MAX_ALLOW_HOSTS);
			if (o.nallow_hosts == SERVE_MAX_ALLOW_HOSTS || serve_allow_host_check(optarg, &aerr) < 0)
				return usage_error("serve", "--allow-host: %s", aerr.msg);
			allow[o.nallow_hosts++] = optarg;
			o.allow_hosts = allow;
			break;
		case 'h':
			printf("usage: segue serve [--workspace DIR] [--bind 127.0.0.1] [--port 8080] [--threads 2]\n"
			       "                   [--artifact vN] [--no-access-log] [--allow-host NAME]...\n"
			       "                   [--events URL] [--token TOKEN] [--knn-probe N]\n\n"
			       "Serves the JSON API (described at /openapi.json), Prometheus metrics at /metrics\n"
			       "and the dashboard at /. The model is mapped read-only, so several processes can\n"
			       "serve one workspace. An access-log line per request goes to standard error.\n"
			       "Stops cleanly on SIGTERM or Ctrl-C. Without --artifact it serves the registry's\n"
			       "champion and follows it: a new champion (segue models promote, rollback) is\n"
			       "picked up within a second, or at once on SIGHUP, without failing a request.\n\n"
			       "  --artifact vN     the model version to serve; default the registry's champion\n"
			       "                    (`segue models promote`), else the latest `segue train` wrote\n"
			       "  -t, --threads N   worker threads, 1..%d (default 2)\n"
			       "  --events URL      the event store: a postgresql:// URL (several servers may share\n"
			       "                    it) or a SQLite file; default WORKSPACE/events.db. It is opened\n"
			       "                    at start: one that cannot be reached stops the start.\n"
			       "  --token TOKEN     what creating, starting and stopping experiments needs\n"
			       "                    (Authorization: Bearer TOKEN) on a bind that is not loopback;\n"
			       "                    default $SEGUE_TOKEN. Without one they are refused there (403).\n"
			       "  --knn-probe N     the content search's default (a request's knn_probe overrides\n"
			       "                    it): 0 exact (default); N visits at most N clusters of the\n"
			       "                    index, nearest the query first: faster, approximate. On 1M tracks\n"
			       "                    (1000 clusters) bench/knn measured recall@10 0.998-1.000 at 32\n"
			       "                    and 0.9997-1.000 at 64, 1.4x hnswlib at recall 0.999.\n\n"
			       "Against DNS rebinding, it answers only requests whose Host (any port) is\n"
			       "localhost, 127.0.0.1, [::1], the --bind address or a NAME given with --allow-host\n"
			       "(up to %d); bound to an address that is not loopback (0.0.0.0 included), also\n"
			       "any IP address and this machine's hostname. Others get 421.\n\n"
			       "Limits per client: a request (its line, headers and body) must arrive whole within\n"
			       "%d s of its connection opening, or of the answer before it, or the connection is\n"
			       "closed; so is a connection that moves no byte for %d s. All clients together hold\n"
			       "at most %d connections and one address %d, except on a loopback bind: there every\n"
			       "client is 127.0.0.1, so only the total holds.\n",
			       SERVE_MAX_THREADS, SERVE_MAX_ALLOW_HOSTS, SERVE_REQUEST_DEADLINE, SERVE_CONN_TIMEOUT,
			       SERVE_MAX_CONNS, SERVE_MAX_PER_IP);
			return EXIT_OK;
		default: return usage_error("serve", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("serve", "unexpected argument '%s'", argv[optind]);
	char wsbuf[PATH_MAX];
	o.workspace = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	return serve_run(&o, &err) < 0 ? fail(&err) : EXIT_OK;
}

int cli__number(const char *s, double lo, double hi, double *out) { return train_number(s, lo, hi, out); }

/* ---- dispatch ---- */

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} command;

static const command COMMANDS[] = {
	{"ingest", cmd_ingest, "read Kaggle track tables and playlists into the catalogue"},
	{"sql", cmd_sql, "run read-only SQL over the catalogue"},
	{"eda", cmd_eda, "write the exploratory report (HTML with SVG charts, summary.json)"},
	{"train", cmd_train, "fit the models and write a new model version"},
	{"recommend", cmd_recommend, "recommend new tracks for seed tracks or a mood, with reasons"},
	{"evaluate", cmd_evaluate, "score every recommender on held-out playlists"},
	{"tune", cmd_tune, "choose weights and hyperparameters on the validation split"},
	{"serve", cmd_serve, "serve the HTTP API and the dashboard"},
	{"experiment", cli__experiment, "define, run and analyse A/B experiments"},
	{"simulate", cli__simulate, "drive simulated listeners through a running server"},
	{"pipeline", cli__pipeline, "run the pipeline: ingest to promotion, cached stages, tracked runs"},
	{"runs", cli__runs, "list, show and compare tracked runs (MLflow's file layout)"},
	{"models", cli__models, "the model registry: versions, champion and challenger"},
	{"generate", cmd_generate, "write a deterministic synthetic catalogue and playlists"},
};

int cli__dispatch(const char *family, const cli_sub *subs, size_t n, void (*help)(FILE *out), int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		help(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(sub, subs[i].name) == 0) {
			optind = 0; /* each subcommand parses its own options afresh */
			return subs[i].run(argc - 1, argv + 1);
		}
	fprintf(stderr, "segue %s: unknown command '%s'\n\n", family, sub);
	help(stderr);
	return EXIT_USAGE;
}

static void main_help(FILE *out)
{
	fprintf(out,
	        "segue %s: music discovery from Spotify audio features\n\n"
	        "usage: segue COMMAND [OPTIONS]\n\ncommands:\n",
	        SEGUE_VERSION);
	for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
	fprintf(out, "\n`segue COMMAND --help` describes each. The workspace is --workspace DIR,\n"
	             "else $SEGUE_HOME, else ./segue-data. Exit codes: 0 ok, 1 failed, 2 bad usage.\n");
}

int cli_run(int argc, char **argv)
{
	if (argc < 2) {
		main_help(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
		main_help(stdout);
		return EXIT_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("segue %s\n", SEGUE_VERSION);
		return EXIT_OK;
	}
	optind = 0; /* getopt starts afresh for each in-process run */
	for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
		if (strcmp(name, COMMANDS[i].name) == 0)
			return COMMANDS[i].run(argc - 1, argv + 1);
	fprintf(stderr, "segue: unknown command '%s'\n\n", name);
	main_help(stderr);
	return EXIT_USAGE;
}
