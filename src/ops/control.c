/* Control socket server (control thread) and the tiny client insyncctl uses. */
#include "ops/control.h"
#include "daemon/loop.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "util/out.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct client {
	int fd;
	uint8_t in[4 + CTL_REQ_MAX];
	size_t in_len;
	struct out resp; /* framed response being written */
	size_t resp_off;
	struct timer idle;
};

static int listen_fd = -1;
static char sock_path[108];
static char bind_path[108]; /* where the socket lives until control_publish() */
static struct client *clients[CTL_MAX_CLIENTS];

int control_parse_request(const uint8_t *p, size_t len, int *type, char *linebuf, size_t cap)
{
	if (len < 1 || len - 1 >= cap || len > CTL_REQ_MAX)
		return -1;
	if (p[0] < CTL_EXEC || p[0] > CTL_COMPLETE)
		return -1;
	/* Exec lines are text: no NUL or control bytes other than tab. */
	for (size_t i = 1; i < len; i++)
		if (p[i] == 0 || (p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return -1;
	*type = p[0];
	memcpy(linebuf, p + 1, len - 1);
	linebuf[len - 1] = '\0';
	return 0;
}

static void client_free(struct client *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (clients[i] == c)
			clients[i] = NULL;
	timer_cancel(&c->idle);
	loop_del_fd(c->fd);
	close(c->fd);
	out_free(&c->resp);
	free(c);
}

static void on_idle(struct timer *t, void *arg)
{
	client_free(arg);
}

static void client_flush(struct client *c)
{
	while (c->resp_off < c->resp.len) {
		ssize_t n = send(c->fd, c->resp.buf + c->resp_off, c->resp.len - c->resp_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_mod_fd(c->fd, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			client_free(c);
			return;
		}
		c->resp_off += (size_t)n;
	}
	/* One request per connection: done. */
	client_free(c);
}

static void client_respond(struct client *c, int status, struct out *o)
{
	size_t len = o->len > CTL_RESP_MAX - 1 ? CTL_RESP_MAX - 1 : o->len;
	uint8_t hdr[5];
	uint32_t l = (uint32_t)len + 1;
	hdr[0] = (uint8_t)(l >> 24);
	hdr[1] = (uint8_t)(l >> 16);
	hdr[2] = (uint8_t)(l >> 8);
	hdr[3] = (uint8_t)l;
	hdr[4] = (uint8_t)status;
	out_write(&c->resp, hdr, 5);
	out_write(&c->resp, o->buf ? o->buf : "", len);
	if (c->resp.oom) {
		client_free(c);
		return;
	}
	client_flush(c);
}

static void client_handle(struct client *c)
{
	char line[CTL_REQ_MAX];
	int type, st = CTL_OK;
	uint32_t l = (uint32_t)c->in[0] << 24 | (uint32_t)c->in[1] << 16 | (uint32_t)c->in[2] << 8 |
		     c->in[3];
	struct out o;
	if (control_parse_request(c->in + 4, l, &type, line, sizeof(line)) < 0) {
		client_free(c);
		return;
	}
	out_init(&o);
	struct exec_ctx ctx = {0};
	if (type == CTL_EXEC)
		st = exec_run(&ctx, line, &o);
	else if (type == CTL_HELP)
		exec_help(line, &o);
	else
		exec_complete(line, &o);
	client_respond(c, st, &o);
	out_free(&o);
}

static void on_client(int fd, uint32_t ev, void *arg)
{
	struct client *c = arg;
	if (ev & EPOLLOUT) {
		client_flush(c);
		return;
	}
	if (ev & (EPOLLERR | EPOLLHUP) && !(ev & EPOLLIN)) {
		client_free(c);
		return;
	}
	ssize_t n = recv(fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->in_len += (size_t)n;
	if (c->in_len < 4)
		return;
	uint32_t l = (uint32_t)c->in[0] << 24 | (uint32_t)c->in[1] << 16 | (uint32_t)c->in[2] << 8 |
		     c->in[3];
	if (l == 0 || l > CTL_REQ_MAX) {
		client_free(c); /* garbage: drop it without a word */
		return;
	}
	if (c->in_len < 4 + l)
		return;
	if (c->in_len > 4 + l) {
		client_free(c);
		return;
	}
	loop_mod_fd(fd, 0);
	client_handle(c);
}

static void on_accept(int fd, uint32_t ev, void *arg)
{
	for (int k = 0; k < 16; k++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		int slot = -1;
		for (int i = 0; i < CTL_MAX_CLIENTS; i++)
			if (clients[i] == NULL) {
				slot = i;
				break;
			}
		struct client *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			/* Too many sessions: say so, or the client can only report the
			 * daemon unreachable. It reads this even if its request
			 * found the socket closed. */
			static const char busy[] = "% insyncd: too many control sessions open; try again\n";
			uint8_t fr[5 + sizeof(busy) - 1];
			uint32_t l = sizeof(busy);
			fr[0] = (uint8_t)(l >> 24), fr[1] = (uint8_t)(l >> 16), fr[2] = (uint8_t)(l >> 8);
			fr[3] = (uint8_t)l, fr[4] = 1;
			memcpy(fr + 5, busy, sizeof(busy) - 1);
			if (send(cfd, fr, sizeof(fr), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* nothing more to do for it */
			}
			close(cfd);
			continue;
		}
		c->fd = cfd;
		out_init(&c->resp);
		timer_init(&c->idle, on_idle, c);
		if (loop_add_fd(cfd, EPOLLIN, on_client, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		clients[slot] = c;
		timer_arm(&c->idle, CTL_IDLE_MS);
	}
}

int control_listen(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) + 16 >= sizeof(sun.sun_path))
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	snprintf(sock_path, sizeof(sock_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A live daemon on this socket wins; a stale file is replaced. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	/* Bound under a private name first: the socket's path appearing is what
	 * scripts and service managers take as "the daemon is ready". */
	snprintf(bind_path, sizeof(bind_path), "%s.%d", path, (int)getpid());
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", bind_path);
	unlink(bind_path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || chmod(bind_path, 0600) < 0 || listen(fd, 16) < 0 ||
	    loop_add_fd(fd, EPOLLIN, on_accept, NULL) < 0) {
		int e = errno;
		if (rc == 0)
			unlink(bind_path);
		close(fd);
		errno = e;
		return -1;
	}
	listen_fd = fd;
	return 0;
}

int control_publish(void)
{
	if (listen_fd < 0 || rename(bind_path, sock_path) < 0)
		return -1;
	snprintf(bind_path, sizeof(bind_path), "%s", sock_path);
	return 0;
}

void control_close(void)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		client_free(clients[i]);
	if (listen_fd >= 0) {
		loop_del_fd(listen_fd);
		close(listen_fd);
		unlink(bind_path);
	}
	listen_fd = -1;
}

int control_request(const char *path, int type, const char *line, struct out *out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t l = strlen(line);
	uint8_t hdr[5];
	int fd = -1, rc = -1;
	if (strlen(path) >= sizeof(sun.sun_path) || l + 1 > CTL_REQ_MAX)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto out;
	uint32_t fl = (uint32_t)l + 1;
	hdr[0] = (uint8_t)(fl >> 24);
	hdr[1] = (uint8_t)(fl >> 16);
	hdr[2] = (uint8_t)(fl >> 8);
	hdr[3] = (uint8_t)fl;
	hdr[4] = (uint8_t)type;
	ssize_t sent = send(fd, hdr, 5, MSG_NOSIGNAL);
	if (sent == 5)
		sent = send(fd, line, l, MSG_NOSIGNAL);
	(void)sent; /* a failed send may be a daemon that answered "busy" and closed: read on */
	uint8_t rh[5];
	size_t got = 0;
	while (got < 5) {
		ssize_t n = recv(fd, rh + got, 5 - got, 0);
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	uint32_t rl = (uint32_t)rh[0] << 24 | (uint32_t)rh[1] << 16 | (uint32_t)rh[2] << 8 | rh[3];
	if (rl < 1 || rl > CTL_RESP_MAX)
		goto out;
	size_t want = rl - 1;
	char buf[65536];
	while (want > 0) {
		ssize_t n = recv(fd, buf, want < sizeof(buf) ? want : sizeof(buf), 0);
		if (n <= 0)
			goto out;
		out_write(out, buf, (size_t)n);
		want -= (size_t)n;
	}
	rc = rh[4] > 2 ? 1 : rh[4]; /* the command's status: 0, 1, or 2 (reload failed) */
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
