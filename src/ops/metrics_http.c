/* The /metrics HTTP endpoint: a strict request-head parser and a tiny
 * non-blocking server on the control thread's loop.
 *
 * Hostile clients are bounded three ways: a request head may not exceed
 * METRICS_REQ_MAX bytes (431), each connection lives at most
 * METRICS_CONN_TIMEOUT_MS from accept to close (so trickling bytes buys
 * nothing), and at most METRICS_CONN_MAX connections are open at once (more
 * are refused with 503). Every response closes the connection. */
#include "daemon/loop.h"
#include "ops/config.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- request parser ----
 *
 * RFC 9112 section 2.2/3/5:
 *   request-line = method SP request-target SP HTTP-version CRLF
 *   HTTP-version = "HTTP/" DIGIT "." DIGIT
 *   field-line   = field-name ":" OWS field-value OWS CRLF
 *   head ends with an empty line (CRLF)
 * A bare LF is accepted as a line end (section 2.2); a CR anywhere else, a
 * control byte, obs-fold (a line starting with SP/HTAB) or whitespace before
 * the colon is a 400. */

#define HTTP_LINE_MAX 4096   /* one request or field line */
#define HTTP_HEADERS_MAX 64
#define HTTP_METHOD_MAX 16

static int is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Bytes allowed in a field value: VCHAR, SP, HTAB, obs-text. */
static int is_fvchar(uint8_t c)
{
	return c == '\t' || c >= 0x20 ? c != 0x7f : 0;
}

/* Length of the line at p (without the terminator) and of its terminator;
 * -1 if no LF yet, -2 if a CR is not directly before the LF. */
static long line_end(const uint8_t *p, size_t len, size_t *term)
{
	for (size_t i = 0; i < len && i <= HTTP_LINE_MAX + 1; i++) {
		if (p[i] == '\n') {
			*term = 1;
			if (i && p[i - 1] == '\r') {
				*term = 2;
				return (long)i - 1;
			}
			return (long)i;
		}
		if (p[i] == '\r' && i + 1 < len && p[i + 1] != '\n')
			return -2;
	}
	return -1;
}

static int parse_request_line(const uint8_t *p, size_t n, struct metrics_http_req *req)
{
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i > HTTP_METHOD_MAX || i >= n || p[i] != ' ')
		return -400;
	if (i == 3 && memcmp(p, "GET", 3) == 0)
		req->method = MHTTP_GET;
	else if (i == 4 && memcmp(p, "HEAD", 4) == 0)
		req->method = MHTTP_HEAD;
	else
		req->method = MHTTP_OTHER;
	size_t t0 = ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	size_t tl = i - t0;
	if (tl == 0 || i >= n || p[i] != ' ')
		return -400;
	const uint8_t *t = p + t0;
	req->is_metrics = (tl == 8 && memcmp(t, "/metrics", 8) == 0) ||
			  (tl > 8 && memcmp(t, "/metrics?", 9) == 0);
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 6] != '.' || p[i + 5] < '0' ||
	    p[i + 5] > '9' || p[i + 7] < '0' || p[i + 7] > '9')
		return -400;
	if (p[i + 5] != '1')
		return -505;
	req->minor = p[i + 7] - '0';
	return 0;
}

static int parse_field_line(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':')
		return -400;
	for (i++; i < n; i++)
		if (!is_fvchar(p[i]))
			return -400;
	return 0;
}

/* An unterminated tail: reject early what can never become valid. */
static int check_partial(const uint8_t *p, size_t n, int first)
{
	if (n > HTTP_LINE_MAX)
		return first ? -400 : -431;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\r' && i + 1 == n)
			continue;
		if (first ? (c < 0x20 || c >= 0x7f) : !is_fvchar(c))
			return -400;
	}
	if (!first && n && (p[0] == ' ' || p[0] == '\t'))
		return -400;
	return 0;
}

int metrics_http_parse(const uint8_t *p, size_t len, struct metrics_http_req *req)
{
	size_t off = 0, term;
	memset(req, 0, sizeof(*req));
	for (int line = 0; line <= HTTP_HEADERS_MAX + 1; line++) {
		long n = line_end(p + off, len - off, &term);
		if (n == -2)
			return -400;
		if (n == -1)
			return check_partial(p + off, len - off, line == 0);
		if (n > HTTP_LINE_MAX)
			return line == 0 ? -400 : -431;
		const uint8_t *l = p + off;
		off += (size_t)n + term;
		int r;
		if (line == 0) {
			r = parse_request_line(l, (size_t)n, req);
		} else if (n == 0) {
			return (int)off;
		} else if (l[0] == ' ' || l[0] == '\t') {
			r = -400; /* obs-fold */
		} else if (++req->n_headers > HTTP_HEADERS_MAX) {
			r = -431;
		} else {
			r = parse_field_line(l, (size_t)n);
		}
		if (r < 0)
			return r;
	}
	return -431;
}

/* ---- server ---- */

struct mconn {
	int fd; /* -1 = free */
	struct timer timer;
	size_t len, sent;
	int writing;
	struct out resp;
	uint8_t req[METRICS_REQ_MAX];
};

static struct mconn conns[METRICS_CONN_MAX];
static int conns_ready;
static int lfd = -1;
static uint32_t l_addr;
static uint16_t l_port, l_bound;

static void conns_setup(void)
{
	if (conns_ready)
		return;
	for (int i = 0; i < METRICS_CONN_MAX; i++) {
		conns[i].fd = -1;
		out_init(&conns[i].resp);
	}
	conns_ready = 1;
}

static void conn_close(struct mconn *c)
{
	if (c->fd < 0)
		return;
	timer_cancel(&c->timer);
	loop_del_fd(c->fd);
	close(c->fd);
	c->fd = -1;
	out_free(&c->resp);
	out_init(&c->resp);
}

static const char *status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* Write what the socket takes; close when done or on error. */
static void conn_flush(struct mconn *c)
{
	while (c->sent < c->resp.len) {
		ssize_t n = send(c->fd, c->resp.buf + c->sent, c->resp.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

static void conn_respond(struct mconn *c, int code, int minor, int head_only)
{
	struct out body;
	out_init(&body);
	if (code == 200)
		metrics_render(&body);
	else
		out_printf(&body, "%d %s\n", code, status_text(code));
	out_reset(&c->resp);
	out_printf(&c->resp, "HTTP/1.%d %d %s\r\n", minor ? 1 : 0, code, status_text(code));
	if (code == 200)
		out_printf(&c->resp, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	else
		out_printf(&c->resp, "Content-Type: text/plain; charset=utf-8\r\n");
	if (code == 405)
		out_printf(&c->resp, "Allow: GET, HEAD\r\n");
	out_printf(&c->resp, "Content-Length: %zu\r\nConnection: close\r\n\r\n", body.len);
	if (!head_only)
		out_write(&c->resp, body.buf, body.len);
	out_free(&body);
	if (c->resp.oom) {
		conn_close(c);
		return;
	}
	c->writing = 1;
	c->sent = 0;
	loop_mod_fd(c->fd, EPOLLOUT);
	conn_flush(c);
}

static void conn_read(struct mconn *c)
{
	for (int round = 0; round < 16 && c->len < sizeof(c->req); round++) {
		ssize_t n = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->len += (size_t)n;
	}
	struct metrics_http_req req;
	int r = metrics_http_parse(c->req, c->len, &req);
	if (r == 0) {
		if (c->len >= sizeof(c->req))
			conn_respond(c, 431, 1, 0);
		return;
	}
	if (r < 0)
		conn_respond(c, -r, 1, 0);
	else if (req.method == MHTTP_OTHER)
		conn_respond(c, 405, req.minor, 0);
	else if (!req.is_metrics)
		conn_respond(c, 404, req.minor, req.method == MHTTP_HEAD);
	else
		conn_respond(c, 200, req.minor, req.method == MHTTP_HEAD);
}

static void on_conn(int fd, uint32_t events, void *arg)
{
	struct mconn *c = arg;
	if (c->writing) {
		if (events & (EPOLLERR | EPOLLHUP))
			conn_close(c);
		else
			conn_flush(c);
		return;
	}
	conn_read(c);
}

static void on_conn_timeout(struct timer *t, void *arg)
{
	struct mconn *c = arg;
	if (!c->writing) {
		static const char msg[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
					  "Connection: close\r\n\r\n";
		(void)!send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	conn_close(c);
}

static void on_accept(int fd, uint32_t events, void *arg)
{
	for (int round = 0; round < METRICS_CONN_MAX; round++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		struct mconn *c = NULL;
		for (int i = 0; i < METRICS_CONN_MAX && c == NULL; i++)
			if (conns[i].fd < 0)
				c = &conns[i];
		if (c == NULL || loop_add_fd(cfd, EPOLLIN, on_conn, c) < 0) {
			static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
						  "Content-Length: 0\r\nConnection: close\r\n\r\n";
			(void)!send(cfd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->len = 0;
		c->sent = 0;
		c->writing = 0;
		timer_init(&c->timer, on_conn_timeout, c);
		timer_arm(&c->timer, METRICS_CONN_TIMEOUT_MS);
	}
}

static void listener_close(void)
{
	if (lfd < 0)
		return;
	loop_del_fd(lfd);
	close(lfd);
	lfd = -1;
	l_addr = 0;
	l_port = l_bound = 0;
}

static int listener_open(uint32_t addr, uint16_t port)
{
	char a[INET_ADDRSTRLEN];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t sl = sizeof(sin);
	int one = 1, fd = -1, ret = -1;
	sin.sin_addr.s_addr = addr;
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, METRICS_CONN_MAX) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0 ||
	    loop_add_fd(fd, EPOLLIN, on_accept, NULL) < 0) {
		log_ios(LOG_SEV_ERR, "INSYNC", "METRICS_FAIL", "cannot serve metrics on %s:%u: %s", a,
			port, strerror(errno));
		goto out;
	}
	lfd = fd;
	fd = -1;
	l_addr = addr;
	l_port = port;
	l_bound = ntohs(sin.sin_port);
	log_ios(LOG_SEV_INFO, "INSYNC", "METRICS", "serving metrics at http://%s:%u/metrics", a, port);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int metrics_apply(const struct config *cfg)
{
	conns_setup();
	uint32_t addr = cfg && cfg->metrics_addr ? cfg->metrics_addr : htonl(INADDR_LOOPBACK);
	uint16_t port = cfg ? cfg->metrics_port : 0;
	if (port == 0) {
		listener_close();
		return 0;
	}
	if (lfd >= 0 && addr == l_addr && port == l_port)
		return 0;
	uint32_t old_addr = l_addr;
	uint16_t old_port = l_port;
	int had = lfd >= 0;
	listener_close();
	if (listener_open(addr, port) == 0)
		return 0;
	if (had) /* the new address is refused (logged): keep serving on the old one */
		listener_open(old_addr, old_port);
	return -1;
}

void metrics_shutdown(void)
{
	listener_close();
	if (!conns_ready)
		return;
	for (int i = 0; i < METRICS_CONN_MAX; i++)
		conn_close(&conns[i]);
}

uint16_t metrics_bound_port(void)
{
	return l_bound;
}
