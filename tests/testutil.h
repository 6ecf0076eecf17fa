/* testutil.h: small helpers shared by the cmocka test files: temporary
 * directories, writing fixture files, locating the real data sets and the
 * golden files, one-value SQL queries, a double comparison and an SVG
 * well-formedness check. */
#ifndef SEGUE_TESTUTIL_H
#define SEGUE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <sqlite3.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) and returns its path in a
 * static buffer per call slot (up to 8 live at once). Removed by tu_rmtree. */
const char *tu_tmpdir(void);
/* Removes a directory tree (like rm -rf). */
void tu_rmtree(const char *path);
/* Writes `text` to dir/name and returns the full path (static slot buffer). */
const char *tu_write(const char *dir, const char *name, const char *text);
/* Reads a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
char *tu_read(const char *path, size_t *len);
/* Returns the directory of the real shared data sets, or NULL when absent
 * (then tests that need it call skip()). */
const char *tu_shared_data(void);
/* Runs a shell command, captures stdout into a malloc'd buffer (may be NULL),
 * and returns the exit status (or -1). */
int tu_run(const char *cmd, char **out);
/* Overwrites the byte at `off` of a file (counted from the end when negative). */
void tu_put_byte(const char *path, long off, unsigned char byte);

/* cmocka 1.1 compares only floats; this compares doubles and, when |got - want|
 * is not within tol (NaN never is), fails with both values and the difference. */
#define assert_near(got, want, tol) tu_near_((got), (want), (tol), #got, __FILE__, __LINE__)
void tu_near_(double got, double want, double tol, const char *expr, const char *file, int line);

/* ---- golden files (tests/golden) ---------------------------------------- */

/* Finds tests/golden/<name> under $SEGUE_ROOT, else under the source root this
 * file was compiled from, else under . or ..; writes its path into buf and
 * returns buf, or NULL when it is nowhere. */
const char *tu_golden_path(const char *name, char *buf, size_t cap);
/* Opens a golden file; fails the test when it is missing. */
FILE *tu_golden_open(const char *name, const char *mode);
/* Reads a golden file whole (malloc'd, NUL-terminated); fails when missing. */
char *tu_golden_read(const char *name, size_t *len);
/* Reads block `name` of a golden .txt ("block NAME ROWS COLS" then ROWS *
 * COLS numbers) into a malloc'd [rows, cols] array; fails the test when the
 * file or the block is missing or short. */
double *tu_golden_block(const char *file, const char *name, int *rows, int *cols);
/* Block `name` of a golden .txt, a dense user x item matrix, as the CSR
 * matrix of its positive cells (each once) and that matrix's transpose. */
struct cf_csr;
void tu_golden_csr(const char *file, const char *name, struct cf_csr *ui, struct cf_csr *iu);
/* Reads a .bin matrix: uint32 N, uint32 D, then N*D float32 (malloc'd [N][D]). */
float *tu_golden_matrix(const char *name, size_t *n, int *d);
/* Parses every value of the line "key v v v" of a golden .txt into a malloc'd
 * array; *count receives how many. Fails the test when the key is missing. */
double *tu_golden_values(const char *name, const char *key, size_t *count);
/* The one value of line "key v"; fails unless there is exactly one. */
double tu_golden_value(const char *name, const char *key);

/* ---- SQL ------------------------------------------------------------------ */

/* Runs SQL statements; fails the test with SQLite's message on error. */
void tu_sql_exec(sqlite3 *db, const char *sql);
/* Runs a query and returns column 0 of its first row as an integer (NULL is 0)
 * or, for tu_sql_text, copies it into buf ("" for NULL). Fails the test when
 * the SQL does not prepare or gives no row. */
long tu_sql_long(sqlite3 *db, const char *sql);
const char *tu_sql_text(sqlite3 *db, const char *sql, char *buf, size_t cap);
/* The same against the catalogue of workspace `ws`, opened read-only for the
 * one query (tu_ws_text returns a static buffer). */
long tu_ws_long(const char *ws, const char *sql);
const char *tu_ws_text(const char *ws, const char *sql);
/* Makes track t of workspace ws a version of track `of` in its catalogue:
 * t's title becomes of's title followed by `suffix` (" - 2011 Remaster"),
 * its artists of's main artist alone, and with `same_sound` its audio
 * features and genres of's too. The search index follows, and the derived
 * files are written again (the catalogue's stamp does not change); train
 * again for a model to see it. Fails the test on error. */
void tu_make_version(const char *ws, int64_t t, int64_t of, const char *suffix, int same_sound);
/* Ingests the files (or directories) `paths` into workspace ws with default
 * options; fails the test unless it returns 0, with the error's file, line
 * and message. */
struct ingest_summary;
void tu_ingest(const char *ws, char **paths, size_t n, struct ingest_summary *sum);
/* Creates (or opens) the SQLite file `path`, creates the catalogue schema in it
 * and runs `rows` (SQL, may be NULL); returns the open connection. */
sqlite3 *tu_catalog_db(const char *path, const char *rows);

/* Creates dir/catalog.db as tu_catalog_db does, closes it and returns its
 * path (static slot buffer). */
const char *tu_catalog_file(const char *dir, const char *rows);
/* Opens the SQLite file `path` read-only; fails the test when it cannot. */
sqlite3 *tu_open_ro(const char *path);

/* ---- synthetic workspaces ------------------------------------------------- */

/* Writes a synthetic catalogue of `tracks` tracks and `playlists` playlists
 * made from `seed` into the directory `out`; fails the test with the
 * generator's message when it cannot. */
void tu_gen(const char *out, size_t tracks, size_t playlists, uint64_t seed);
/* The sizes of a small, quick training run (the rest are train's defaults). */
typedef struct tu_train_sizes {
	int clusters;
	int factors;
	int als_iterations;
	int quality_rounds;
	int cv_folds;
} tu_train_sizes;
/* Trains a model of workspace `ws` quietly with these sizes; it must be the
 * workspace's first, "v1". Returns 0, or -1 with the message on stderr (for
 * cmocka setup functions, which report failure by their return value). */
int tu_train(const char *ws, const tu_train_sizes *train);
/* Builds workspace `ws`: a synthetic catalogue (tu_gen's arguments) written
 * into dir/syn, ingested, then, when `train` is not NULL, trained as by
 * tu_train. Returns 0, or -1 with the failing step's message on stderr. */
int tu_build_workspace(const char *dir, const char *ws, size_t tracks, size_t playlists, uint64_t seed,
                       const tu_train_sizes *train);

/* ---- the tests' own model ------------------------------------------------- */

/* "constant": the known tracks in id order, the same for everyone, each with
 * the reason REASON_POPULAR; it needs no seed. The trivial model of
 * docs/ADDING-A-MODEL.md, registered by the tests that check a model added
 * at run time is offered everywhere the built-ins are. */
struct recommender;
extern const struct recommender tu_constant_model;
/* Registers tu_constant_model unless a model of its name already is; returns
 * its id. Fails the test when the registry refuses it. */
int tu_register_constant(void);

/* ---- group fixtures -------------------------------------------------------- */

/* A temporary directory for a whole group of tests: tu_group_tmpdir (a cmocka
 * group setup) creates it into tu_group_dir, tu_group_rmtree (the group
 * teardown) removes it. */
extern char tu_group_dir[1024];
int tu_group_tmpdir(void **state);
int tu_group_rmtree(void **state);

/* ---- zstd ----------------------------------------------------------------- */

/* Compresses buf[len] at `level` into a malloc'd buffer; *zlen receives its
 * size. Fails the test when zstd refuses. */
char *tu_zcompress(const void *buf, size_t len, int level, size_t *zlen);
/* Writes buf[len] to dir/name (binary) and returns the path (static slot
 * buffer); fails the test when it cannot. */
const char *tu_write_bytes(const char *dir, const char *name, const void *buf, size_t len);

/* ---- SVG ------------------------------------------------------------------ */

/* A tiny XML checker: returns 0 when `text` is one well-formed element tree
 * rooted at <svg> (balanced tags, quoted attributes without <, only the
 * entities &amp; &lt; &gt; &quot; &#39;), else -1 with the first problem
 * written into why[cap]. */
int tu_xml_check(const char *text, char *why, size_t cap);

/* A minimal HTTP/1.1 client for the server tests: sends one request to
 * 127.0.0.1:port (Connection: close) and returns the status code (or -1), the
 * body in a malloc'd NUL-terminated buffer and, when wanted, the Content-Type. */
int tu_http(int port, const char *method, const char *target, const char *body, size_t body_len, char **resp,
            char *ctype, size_t ctype_cap);

/* ---- the command line, in-process ------------------------------------------ */

/* Runs `segue ARGS...` (NULL-terminated, at most 30) through cli_run with
 * standard output and error captured into *out (malloc'd, the caller frees);
 * returns the exit code. */
int tu_cli(char **out, ...);
/* As tu_cli, and fails the test unless the exit code is `want`, showing what
 * the command said; returns its output (malloc'd). */
char *tu_cli_expect(int want, ...);
#endif
