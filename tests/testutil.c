/* testutil.c: helpers for the test files (see testutil.h). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char slots[8][1024];
static int slot_next;

static char *slot(void)
{
	char *s = slots[slot_next];
	slot_next = (slot_next + 1) % 8;
	return s;
}

const char *tu_tmpdir(void)
{
	char *s = slot();
	const char *base = getenv("TMPDIR");
	snprintf(s, 1024, "%s/segue-test-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(s) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return s;
}

void tu_rmtree(const char *path)
{
	char cmd[1200];
	if (path == NULL || strncmp(path, "/", 1) != 0 || strstr(path, "segue-test-") == NULL)
		return; /* refuse anything that is not one of ours */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

const char *tu_write(const char *dir, const char *name, const char *text)
{
	char *s = slot();
	snprintf(s, 1024, "%s/%s", dir, name);
	FILE *f = fopen(s, "wb");
	if (f == NULL) {
		perror(s);
		abort();
	}
	fputs(text, f);
	fclose(f);
	return s;
}

char *tu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

const char *tu_shared_data(void)
{
	static char path[1024];
	const char *env = getenv("SEGUE_SHARED_DATA");
	snprintf(path, sizeof path, "%s", env && *env ? env : "../shared/data");
	char probe[1100];
	snprintf(probe, sizeof probe, "%s/SOURCES.md", path);
	return access(probe, R_OK) == 0 ? path : NULL;
}

int tu_run(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
