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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

int tu_http(int port, const char *method, const char *target, const char *body, size_t body_len, char **resp,
            char *ctype, size_t ctype_cap)
{
	*resp = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	size_t tlen = strlen(target);
	char *head = malloc(tlen + 256);
	int hn = sprintf(head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target);
	if (body)
		hn += sprintf(head + hn, "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
	hn += sprintf(head + hn, "\r\n");
	ssize_t w = send(fd, head, (size_t)hn, MSG_NOSIGNAL);
	free(head);
	for (size_t off = 0; w >= 0 && body && off < body_len; off += (size_t)w)
		w = send(fd, body + off, body_len - off, MSG_NOSIGNAL);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL)
				break;
			buf = nb;
		}
	}
	close(fd);
	if (buf == NULL || len == 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	int status = -1;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	char *sep = strstr(buf, "\r\n\r\n");
	if (ctype && ctype_cap) {
		ctype[0] = '\0';
		char *ct = strcasestr(buf, "\r\nContent-Type: ");
		if (ct && (!sep || ct < sep)) {
			ct += 16;
			size_t l = strcspn(ct, "\r\n");
			snprintf(ctype, ctype_cap, "%.*s", (int)l, ct);
		}
	}
	const char *b = sep ? sep + 4 : "";
	*resp = strdup(b);
	free(buf);
	return status;
}
