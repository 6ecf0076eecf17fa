/* test_bytesrc.c: the byte sources (bytesrc.h). Plain and zstd input, from a
 * file, from memory and from a pipe on standard input, read back byte for
 * byte in chunks of every size from 1 byte up; several zstd frames in a row;
 * compressed input larger than the 1 MiB staging buffer; damaged, cut short
 * and trailing-garbage zstd data as SEG_EFORMAT; progress counters (consumed,
 * size); opening errors. */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bytesrc.h"
#include "core/error.h"

#define MiB (1u << 20)

/* Deterministic bytes: text-like when `text`, else incompressible. */
static char *make_data(size_t n, int text, uint32_t seed)
{
	char *b = malloc(n ? n : 1);
	assert_non_null(b);
	uint32_t x = seed;
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		b[i] = text ? "abcdefgh,\n0123"[(x >> 24) % 14] : (char)(x >> 24);
	}
	return b;
}

/* Reads the source to its end in chunks of `chunk` bytes and checks that it
 * gives exactly want[len], that consumed never goes back nor past the size
 * (when known), that it ends at `in_size` consumed, and that the end is
 * sticky. */
static void expect_bytes(bytesrc *s, const char *want, size_t len, size_t chunk, uint64_t in_size)
{
	char *buf = malloc(chunk);
	assert_non_null(buf);
	seg_error err = {0};
	size_t got = 0;
	uint64_t prev = bytesrc_consumed(s);
	for (;;) {
		ssize_t n = bytesrc_read(s, buf, chunk, &err);
		if (n < 0)
			fail_msg("read failed after %zu of %zu bytes (chunk %zu): %s", got, len, chunk, err.msg);
		if (n == 0)
			break;
		assert_true((size_t)n <= chunk);
		if (got + (size_t)n > len || memcmp(buf, want + got, (size_t)n) != 0)
			fail_msg("bytes %zu..%zu differ (chunk %zu, %zu expected in all)", got, got + (size_t)n, chunk,
			         len);
		got += (size_t)n;
		uint64_t c = bytesrc_consumed(s);
		assert_true(c >= prev);
		if (bytesrc_size(s) > 0)
			assert_true(c <= bytesrc_size(s));
		prev = c;
	}
	if (got != len)
		fail_msg("read %zu bytes, expected %zu (chunk %zu)", got, len, chunk);
	assert_int_equal(bytesrc_consumed(s), in_size);
	assert_int_equal(bytesrc_read(s, buf, chunk, &err), 0);
	assert_int_equal(bytesrc_read(s, buf, chunk, &err), 0);
	free(buf);
}

/* Reads `data` (its encoded form `enc`, which is what a file would hold) from
 * a file and from memory, for every chunk size in `chunks`. */
static void round_trip(const char *data, size_t len, const char *enc, size_t enc_len, int zstd)
{
	static const size_t chunks[] = {1, 3, 4, 7, 4096, 65536, MiB, 3 * MiB};
	const char *path = tu_write_bytes(tu_group_dir, zstd ? "rt.bin.zst" : "rt.bin", enc, enc_len);
	for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
		/* One-byte reads of megabytes are slow under the sanitizers and
		 * test nothing new: limit them to the small inputs. */
		if (chunks[k] < 16 && len > 20000)
			continue;
		for (int m = 0; m < 2; m++) {
			bytesrc *s = NULL;
			seg_error err = {0};
			int rc = m == 0 ? bytesrc_open(&s, path, &err) : bytesrc_open_mem(&s, enc, enc_len, &err);
			if (rc != 0)
				fail_msg("open failed: %s", err.msg);
			assert_int_equal(bytesrc_is_zstd(s), zstd);
			assert_int_equal(bytesrc_size(s), enc_len);
			expect_bytes(s, data, len, chunks[k], enc_len);
			bytesrc_close(s);
		}
	}
}

static void test_plain_round_trip(void **state)
{
	(void)state;
	/* Empty, shorter than the zstd magic number, and across the staging
	 * buffer's 1 MiB. */
	static const size_t sizes[] = {0, 1, 3, 4, 5, 1000, MiB - 1, MiB, MiB + 1, 3 * MiB + 17};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		char *d = make_data(sizes[i], 1, (uint32_t)i);
		round_trip(d, sizes[i], d, sizes[i], 0);
		free(d);
	}
}

static void test_zstd_round_trip(void **state)
{
	(void)state;
	/* Text, and incompressible data whose compressed form (over 3 MiB) is
	 * read through the 1 MiB staging buffer several times. */
	static const size_t sizes[] = {0, 1, 4096, 131072, 131073, MiB, 2 * MiB + 5};
	for (int text = 1; text >= 0; text--)
		for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
			size_t n = text ? sizes[i] : sizes[i] + 2 * MiB;
			char *d = make_data(n, text, 100 + (uint32_t)i);
			size_t zlen;
			char *z = tu_zcompress(d, n, 3, &zlen);
			if (!text)
				assert_true(zlen > 2 * MiB);
			round_trip(d, n, z, zlen, 1);
			free(z);
			free(d);
		}
}

static void test_zstd_output_ends_on_a_read_boundary(void **state)
{
	(void)state;
	/* The decompressed size a multiple of the read size: the last read fills
	 * the buffer exactly, and the next one must be a clean end, not "zstd
	 * data is truncated". */
	static const size_t sizes[] = {4096, 65536, 131072, 3 * 131072, MiB};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		for (int text = 0; text <= 1; text++) {
			char *d = make_data(sizes[i], text, 7 + (uint32_t)i);
			size_t zlen;
			char *z = tu_zcompress(d, sizes[i], 3, &zlen);
			static const size_t reads[] = {4096, 65536, 131072};
			for (size_t k = 0; k < sizeof reads / sizeof *reads; k++) {
				if (sizes[i] % reads[k] != 0)
					continue;
				bytesrc *s;
				assert_int_equal(bytesrc_open_mem(&s, z, zlen, NULL), 0);
				expect_bytes(s, d, sizes[i], reads[k], zlen);
				bytesrc_close(s);
			}
			free(z);
			free(d);
		}
}

static void test_zstd_several_frames(void **state)
{
	(void)state;
	/* `zstd a b > c` and `cat a.zst b.zst` give several frames: all are read,
	 * as one stream. An empty frame in the middle too. */
	char *a = make_data(300000, 1, 1), *b = make_data(5000, 0, 2);
	size_t la, lb, le;
	char *za = tu_zcompress(a, 300000, 3, &la), *zb = tu_zcompress(b, 5000, 3, &lb),
	     *ze = tu_zcompress("", 0, 3, &le);
	size_t zlen = la + le + lb;
	char *z = malloc(zlen), *want = malloc(305000);
	memcpy(z, za, la);
	memcpy(z + la, ze, le);
	memcpy(z + la + le, zb, lb);
	memcpy(want, a, 300000);
	memcpy(want + 300000, b, 5000);
	round_trip(want, 305000, z, zlen, 1);
	free(a);
	free(b);
	free(za);
	free(zb);
	free(ze);
	free(z);
	free(want);
}

/* Reads everything; returns the final result (0 or negative) and the bytes
 * read before it in *got. */
static ssize_t drain(bytesrc *s, size_t *got, seg_error *err)
{
	char buf[4096];
	ssize_t n;
	*got = 0;
	while ((n = bytesrc_read(s, buf, sizeof buf, err)) > 0)
		*got += (size_t)n;
	return n;
}

/* Expects reading enc (from a file and from memory) to end in SEG_EFORMAT
 * with a message that names zstd and, for the file, the path. */
static void expect_corrupt(const char *enc, size_t len, const char *what)
{
	const char *path = tu_write_bytes(tu_group_dir, "bad.zst", enc, len);
	for (int m = 0; m < 2; m++) {
		bytesrc *s;
		seg_error err = {0};
		assert_int_equal(m == 0 ? bytesrc_open(&s, path, &err) : bytesrc_open_mem(&s, enc, len, &err), 0);
		assert_int_equal(bytesrc_is_zstd(s), 1);
		size_t got;
		ssize_t rc = drain(s, &got, &err);
		if (rc != SEG_EFORMAT)
			fail_msg("%s (%s): reading ended with %zd after %zu bytes, expected SEG_EFORMAT", what,
			         m ? "memory" : "file", rc, got);
		assert_int_equal(err.code, SEG_EFORMAT);
		assert_non_null(strstr(err.msg, "zstd"));
		if (m == 0)
			assert_non_null(strstr(err.msg, path));
		bytesrc_close(s);
	}
}

static void test_corrupt_zstd_is_an_error(void **state)
{
	(void)state;
	size_t n = 200000, zlen;
	char *d = make_data(n, 1, 3);
	char *z = tu_zcompress(d, n, 3, &zlen);
	char *bad = malloc(zlen + 16);
	/* Damaged after the magic number. */
	memcpy(bad, z, zlen);
	for (size_t i = 4; i < zlen; i += 7)
		bad[i] = (char)(bad[i] ^ 0x5A);
	expect_corrupt(bad, zlen, "damaged frame");
	/* Cut short: in its middle, just before its end, right after the magic. */
	expect_corrupt(z, zlen / 2, "half a frame");
	expect_corrupt(z, zlen - 1, "frame less one byte");
	expect_corrupt(z, 4, "magic number only");
	/* Garbage after a good frame. */
	memcpy(bad, z, zlen);
	memcpy(bad + zlen, "not zstd at all!", 16);
	expect_corrupt(bad, zlen + 16, "trailing garbage");
	free(bad);
	free(z);
	free(d);
}

static void test_plain_that_looks_almost_zstd(void **state)
{
	(void)state;
	/* Three of the four magic bytes, or the magic bytes not at the start:
	 * plain input, passed through untouched. */
	static const char a[] = "\x28\xB5\x2F";
	round_trip(a, 3, a, 3, 0);
	static const char b[] = "x\x28\xB5\x2F\xFDyz";
	round_trip(b, sizeof b - 1, b, sizeof b - 1, 0);
}

static void test_memory_null_is_empty(void **state)
{
	(void)state;
	bytesrc *s;
	assert_int_equal(bytesrc_open_mem(&s, NULL, 0, NULL), 0);
	assert_int_equal(bytesrc_is_zstd(s), 0);
	assert_int_equal(bytesrc_size(s), 0);
	char c;
	assert_int_equal(bytesrc_read(s, &c, 1, NULL), 0);
	bytesrc_close(s);
}

static void test_zero_cap_reads_nothing(void **state)
{
	(void)state;
	/* A read of 0 bytes returns 0 and leaves the stream where it was, for
	 * plain and zstd input. */
	char *d = make_data(10000, 1, 9);
	size_t zlen;
	char *z = tu_zcompress(d, 10000, 3, &zlen);
	for (int zstd = 0; zstd <= 1; zstd++) {
		bytesrc *s;
		assert_int_equal(bytesrc_open_mem(&s, zstd ? z : d, zstd ? zlen : 10000, NULL), 0);
		char buf[100];
		assert_int_equal(bytesrc_read(s, buf, 0, NULL), 0);
		assert_int_equal(bytesrc_read(s, buf, 100, NULL), 100);
		assert_memory_equal(buf, d, 100);
		assert_int_equal(bytesrc_read(s, buf, 0, NULL), 0);
		assert_int_equal(bytesrc_read(s, buf, 100, NULL), 100);
		assert_memory_equal(buf, d + 100, 100);
		bytesrc_close(s);
	}
	free(z);
	free(d);
}

static void test_consumed_counts_compressed_bytes(void **state)
{
	(void)state;
	/* For a file, consumed is in compressed bytes and grows as it is read;
	 * half-way through the output, it is neither 0 nor the whole file. */
	size_t n = 3 * MiB, zlen;
	char *d = make_data(n, 0, 11);
	char *z = tu_zcompress(d, n, 3, &zlen);
	const char *path = tu_write_bytes(tu_group_dir, "progress.zst", z, zlen);
	bytesrc *s;
	assert_int_equal(bytesrc_open(&s, path, NULL), 0);
	assert_int_equal(bytesrc_size(s), zlen);
	assert_true(bytesrc_consumed(s) == 0);
	char *buf = malloc(n / 2);
	size_t got = 0;
	while (got < n / 2) {
		ssize_t r = bytesrc_read(s, buf, n / 2 - got, NULL);
		assert_true(r > 0);
		got += (size_t)r;
	}
	uint64_t c = bytesrc_consumed(s);
	assert_true(c > zlen / 4 && c < zlen);
	bytesrc_close(s);
	free(buf);
	free(z);
	free(d);
}

/* Runs `fn` with standard input reading from a pipe that a child process
 * fills with buf[len], `piece` bytes at a time; when `trickle`, its first 8
 * bytes come one at a time with pauses, so that the reader sees them apart. */
static void with_stdin_pipe(const char *buf, size_t len, size_t piece, int trickle, void (*fn)(const char *, size_t))
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < len;) {
			size_t k = trickle && off < 8 ? 1 : len - off < piece ? len - off : piece;
			ssize_t w = write(fds[1], buf + off, k);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
			if (trickle && off <= 8)
				usleep(20000);
		}
		_exit(0);
	}
	close(fds[1]);
	int saved = dup(0);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fds[0], 0), 0);
	close(fds[0]);
	fn(buf, len);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static const char *g_want; /* what the stdin checks expect */
static size_t g_want_len;

static void check_stdin(const char *enc, size_t enc_len)
{
	bytesrc *s;
	seg_error err = {0};
	assert_int_equal(bytesrc_open(&s, "-", &err), 0);
	assert_int_equal(bytesrc_size(s), 0); /* a pipe has no known size */
	assert_int_equal(bytesrc_is_zstd(s), enc_len >= 4 && memcmp(enc, "\x28\xB5\x2F\xFD", 4) == 0);
	expect_bytes(s, g_want, g_want_len, 1000, enc_len);
	bytesrc_close(s);
	/* Standard input is not closed by bytesrc_close. */
	assert_true(fcntl(0, F_GETFD) >= 0);
}

static void test_stdin_pipe(void **state)
{
	(void)state;
	size_t n = 100000, zlen;
	char *d = make_data(n, 1, 21);
	char *z = tu_zcompress(d, n, 3, &zlen);
	g_want = d;
	g_want_len = n;
	/* Plain and zstd, the zstd magic number arriving one byte at a time. */
	with_stdin_pipe(d, n, 65536, 0, check_stdin);
	with_stdin_pipe(d, n, 65536, 1, check_stdin);
	with_stdin_pipe(z, zlen, 3000, 1, check_stdin);
	with_stdin_pipe(z, zlen, 3000, 0, check_stdin);
	free(z);
	free(d);
}

static void test_open_errors(void **state)
{
	(void)state;
	bytesrc *s = (bytesrc *)&s; /* must be reset to NULL */
	seg_error err = {0};
	char path[1200];
	snprintf(path, sizeof path, "%s/missing.csv", tu_group_dir);
	assert_int_equal(bytesrc_open(&s, path, &err), SEG_ENOTFOUND);
	assert_null(s);
	assert_int_equal(err.code, SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "missing.csv"));
	s = (bytesrc *)&s;
	assert_int_equal(bytesrc_open(&s, tu_group_dir, &err), SEG_EINVAL);
	assert_null(s);
	assert_non_null(strstr(err.msg, "directory"));
	/* A file that cannot be read: refused at open when not root; root reads
	 * it, so then it just opens. */
	const char *locked = tu_write_bytes(tu_group_dir, "locked.csv", "a\n", 2);
	assert_int_equal(chmod(locked, 0), 0);
	int rc = bytesrc_open(&s, locked, &err);
	if (geteuid() != 0) {
		assert_int_equal(rc, SEG_EIO);
		assert_null(s);
	} else {
		assert_int_equal(rc, 0);
		bytesrc_close(s);
	}
	bytesrc_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_round_trip),
		cmocka_unit_test(test_zstd_round_trip),
		cmocka_unit_test(test_zstd_output_ends_on_a_read_boundary),
		cmocka_unit_test(test_zstd_several_frames),
		cmocka_unit_test(test_corrupt_zstd_is_an_error),
		cmocka_unit_test(test_plain_that_looks_almost_zstd),
		cmocka_unit_test(test_memory_null_is_empty),
		cmocka_unit_test(test_zero_cap_reads_nothing),
		cmocka_unit_test(test_consumed_counts_compressed_bytes),
		cmocka_unit_test(test_stdin_pipe),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, tu_group_tmpdir, tu_group_rmtree);
}
