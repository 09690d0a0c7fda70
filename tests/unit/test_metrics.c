/* Metrics: the exposition text builders (escaping, number forms, histograms),
 * the global counters and sources, and the HTTP request parser on valid,
 * partial and malformed heads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "daemon/loop.h"
#include "ops/config.h"
#include "ops/exec.h"
#include "ops/metrics.h"
#include "util/out.h"

static char *text(struct out *o)
{
	out_write(o, "", 1);
	o->len--;
	return o->buf;
}

static void test_builders(void **s)
{
	struct out o;
	out_init(&o);
	metrics_family(&o, "insync_x_total", "counter", "Line one\nback\\slash \"q\"");
	assert_string_equal(text(&o), "# HELP insync_x_total Line one\\nback\\\\slash \"q\"\n"
				      "# TYPE insync_x_total counter\n");
	out_reset(&o);
	metrics_sample(&o, "insync_x_total", NULL, 42);
	metrics_sample(&o, "insync_y", (const char *[]){ "peer", "192.0.2.2", NULL }, 0.25);
	metrics_sample(&o, "insync_y",
		       (const char *[]){ "a", "q\"uo\\te\nnl", "b", "", NULL }, -1.5e-7);
	metrics_sample(&o, "insync_z", NULL, INFINITY);
	metrics_sample(&o, "insync_z", NULL, -INFINITY);
	metrics_sample(&o, "insync_z", NULL, NAN);
	metrics_sample(&o, "insync_z", NULL, 0.1);
	metrics_sample_u64(&o, "insync_bytes_total", (const char *[]){ "sa", "1", NULL },
			   18446744073709551615ull);
	assert_string_equal(text(&o), "insync_x_total 42\n"
				      "insync_y{peer=\"192.0.2.2\"} 0.25\n"
				      "insync_y{a=\"q\\\"uo\\\\te\\nnl\",b=\"\"} -1.5e-07\n"
				      "insync_z +Inf\n"
				      "insync_z -Inf\n"
				      "insync_z NaN\n"
				      "insync_z 0.1\n"
				      "insync_bytes_total{sa=\"1\"} 18446744073709551615\n");
	out_free(&o);
}

static void test_hist(void **s)
{
	struct metrics_hist h;
	struct out o;
	out_init(&o);
	double bad[] = { 1, 0.5 };
	assert_int_equal(metrics_hist_init(&h, bad, 2), -1);
	double many[METRICS_HIST_MAX_BUCKETS + 1] = { 0 };
	assert_int_equal(metrics_hist_init(&h, many, METRICS_HIST_MAX_BUCKETS + 1), -1);
	double le[] = { 0.1, 1, 2.5 };
	assert_int_equal(metrics_hist_init(&h, le, 3), 0);
	metrics_hist_observe(&h, 0.05);
	metrics_hist_observe(&h, 0.1); /* le is inclusive */
	metrics_hist_observe(&h, 2);
	metrics_hist_observe(&h, 100);
	metrics_hist_observe(&h, NAN); /* ignored */
	metrics_hist_emit(&o, "insync_t_seconds", (const char *[]){ "peer", "p", NULL }, &h);
	assert_string_equal(text(&o), "insync_t_seconds_bucket{peer=\"p\",le=\"0.1\"} 2\n"
				      "insync_t_seconds_bucket{peer=\"p\",le=\"1\"} 2\n"
				      "insync_t_seconds_bucket{peer=\"p\",le=\"2.5\"} 3\n"
				      "insync_t_seconds_bucket{peer=\"p\",le=\"+Inf\"} 4\n"
				      "insync_t_seconds_sum{peer=\"p\"} 102.15\n"
				      "insync_t_seconds_count{peer=\"p\"} 4\n");
	out_reset(&o);
	metrics_hist_emit(&o, "insync_u", NULL, &h);
	assert_non_null(strstr(text(&o), "insync_u_bucket{le=\"+Inf\"} 4\ninsync_u_sum 102.15\n"));
	out_free(&o);
}

static int src_calls;

static void src(struct out *o, void *arg)
{
	src_calls++;
	metrics_family(o, "insync_test_gauge", "gauge", (const char *)arg);
	metrics_sample(o, "insync_test_gauge", NULL, 7);
}

static void test_render(void **s)
{
	struct out o;
	out_init(&o);
	metrics_inc(MC_RECOVERIES_OK);
	metrics_inc(MC_RECOVERIES_OK);
	metrics_add(MC_DPD_SENT, 5);
	metrics_inc((enum metrics_counter)MC_COUNT); /* out of range: ignored */
	metrics_observe(MH_RECOVERY_SECONDS, 0.7);
	metrics_observe(MH_IKE_SETUP_SECONDS, 0.02);
	metrics_observe((enum metrics_hist_id)MH_COUNT, 1);
	assert_int_equal(metrics_get(MC_RECOVERIES_OK), 2);
	assert_int_equal(metrics_register_source(src, "A test source."), 0);
	metrics_render(&o);
	char *t = text(&o);
	assert_non_null(strstr(t, "# TYPE insync_recoveries_total counter\n"
				  "insync_recoveries_total{result=\"ok\"} 2\n"
				  "insync_recoveries_total{result=\"failed\"} 0\n"));
	/* one HELP/TYPE per family */
	char *first = strstr(t, "# TYPE insync_recoveries_total");
	assert_null(strstr(first + 1, "# TYPE insync_recoveries_total"));
	assert_non_null(strstr(t, "insync_dpd_sent_total 5\n"));
	assert_non_null(strstr(t, "insync_invalid_spi_notify_total{direction=\"received\"} 0\n"));
	assert_non_null(strstr(t, "insync_rekeys_total{sa=\"child\"} 0\n"));
	assert_non_null(strstr(t, "# TYPE insync_recovery_duration_seconds histogram\n"));
	assert_non_null(strstr(t, "insync_recovery_duration_seconds_bucket{le=\"0.5\"} 0\n"
				  "insync_recovery_duration_seconds_bucket{le=\"1\"} 1\n"));
	assert_non_null(strstr(t, "insync_ike_setup_duration_seconds_count 1\n"));
	assert_non_null(strstr(t, "# HELP insync_test_gauge A test source.\n"));
	assert_int_equal(src_calls, 1);
	/* show metrics prints the same text */
	struct exec_ctx ctx = { 0 };
	metrics_register_commands();
	out_reset(&o);
	assert_int_equal(exec_run(&ctx, "show metrics", &o), 0);
	assert_non_null(strstr(text(&o), "insync_test_gauge 7\n"));
	assert_int_equal(src_calls, 2);
	metrics_unregister_source(src, "A test source.");
	out_reset(&o);
	metrics_render(&o);
	assert_null(strstr(text(&o), "insync_test_gauge"));
	assert_int_equal(metrics_register_source(NULL, NULL), -1);
	out_free(&o);
}

static int parse(const char *s, struct metrics_http_req *r)
{
	return metrics_http_parse((const uint8_t *)s, strlen(s), r);
}

static void test_http_ok(void **s)
{
	struct metrics_http_req r;
	const char *a = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nUser-Agent: x\r\n\r\n";
	assert_int_equal(parse(a, &r), (int)strlen(a));
	assert_int_equal(r.method, MHTTP_GET);
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.is_metrics, 1);
	assert_int_equal(r.n_headers, 2);
	/* bare LF, HTTP/1.0, no headers, trailing bytes after the head */
	assert_int_equal(parse("GET /metrics HTTP/1.0\n\nxyz", &r), 23);
	assert_int_equal(r.minor, 0);
	assert_int_equal(parse("HEAD /metrics?x=1 HTTP/1.1\r\n\r\n", &r), 30);
	assert_int_equal(r.method, MHTTP_HEAD);
	assert_int_equal(r.is_metrics, 1);
	assert_true(parse("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r) > 0);
	assert_int_equal(r.method, MHTTP_OTHER);
	assert_true(parse("GET / HTTP/1.1\r\n\r\n", &r) > 0);
	assert_int_equal(r.is_metrics, 0);
	assert_true(parse("GET /metricsX HTTP/1.1\r\n\r\n", &r) > 0);
	assert_int_equal(r.is_metrics, 0);
	assert_true(parse("GET /metrics HTTP/1.1\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\t\r\n\r\n", &r) > 0);
}

static void test_http_partial(void **s)
{
	struct metrics_http_req r;
	const char *a = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
	/* every strict prefix is "need more" */
	for (size_t i = 0; i < strlen(a); i++)
		assert_int_equal(metrics_http_parse((const uint8_t *)a, i, &r), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r", &r), 0);
}

static void test_http_bad(void **s)
{
	struct metrics_http_req r;
	static const char *const bad400[] = {
		"\r\n",
		" GET /metrics HTTP/1.1\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET /metrics  HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET\r\n\r\n",
		"GET /metrics HTTP/1.10\r\n\r\n",
		"GET /metrics HTTX/1.1\r\n\r\n",
		"GET /metrics HTTP/a.1\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\n\r\n",
		"GET /met\x01rics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\rX\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\x01z\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\x7fz\r\n\r\n",
		"ABCDEFGHIJKLMNOPQ /metrics HTTP/1.1\r\n\r\n",
		/* partial but already hopeless */
		"\x16\x03\x01\x02\x00",
		"GET /metrics HTTP/1.1\r\nHost: \x01",
		"GET /metrics HTTP/1.1\r\n\tx",
	};
	for (size_t i = 0; i < sizeof(bad400) / sizeof(bad400[0]); i++)
		if (parse(bad400[i], &r) != -400)
			fail_msg("case %zu: got %d", i, parse(bad400[i], &r));
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), -505);
	/* an embedded NUL is not a terminator */
	static const uint8_t nul[] = "GET /metrics HTTP/1.1\r\nA: \0\r\n\r\n";
	assert_int_equal(metrics_http_parse(nul, sizeof(nul) - 1, &r), -400);
	assert_int_equal(metrics_http_parse(nul, 0, &r), 0);

	/* too many header lines, an overlong header line, an overlong target */
	struct out o;
	out_init(&o);
	out_printf(&o, "GET /metrics HTTP/1.1\r\n");
	for (int i = 0; i < 70; i++)
		out_printf(&o, "X-%d: y\r\n", i);
	out_printf(&o, "\r\n");
	assert_int_equal(metrics_http_parse((uint8_t *)o.buf, o.len, &r), -431);
	out_reset(&o);
	out_printf(&o, "GET /metrics HTTP/1.1\r\nX: ");
	for (int i = 0; i < 5000; i++)
		out_write(&o, "a", 1);
	assert_int_equal(metrics_http_parse((uint8_t *)o.buf, o.len, &r), -431);
	out_printf(&o, "\r\n\r\n");
	assert_int_equal(metrics_http_parse((uint8_t *)o.buf, o.len, &r), -431);
	out_reset(&o);
	out_printf(&o, "GET /");
	for (int i = 0; i < 5000; i++)
		out_write(&o, "a", 1);
	assert_int_equal(metrics_http_parse((uint8_t *)o.buf, o.len, &r), -400);
	out_free(&o);
}

static void test_apply_off(void **s)
{
	/* Without a config or with port 0 nothing listens; shutdown is idempotent. */
	assert_int_equal(metrics_apply(NULL), 0);
	assert_int_equal(metrics_bound_port(), 0);
	metrics_shutdown();
	metrics_shutdown();
}

/* A free TCP port on 127.0.0.1, or (busy) one held open by *fd. */
static uint16_t tcp_port(int *fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	if (fd)
		*fd = s;
	else
		close(s);
	return ntohs(sin.sin_port);
}

/* A reload to a port that cannot be bound fails and keeps the old listener. */
static void test_apply_keeps_listener(void **s)
{
	struct config c;
	int busy;

	memset(&c, 0, sizeof(c));
	assert_int_equal(loop_init(), 0);
	c.metrics_port = tcp_port(NULL);
	assert_int_equal(metrics_apply(&c), 0);
	assert_int_equal(metrics_bound_port(), c.metrics_port);
	uint16_t first = c.metrics_port;
	c.metrics_port = tcp_port(&busy);
	assert_int_equal(metrics_apply(&c), -1);
	assert_int_equal(metrics_bound_port(), first);
	close(busy);
	metrics_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builders),     cmocka_unit_test(test_hist),
		cmocka_unit_test(test_render),	     cmocka_unit_test(test_http_ok),
		cmocka_unit_test(test_http_partial), cmocka_unit_test(test_http_bad),
		cmocka_unit_test(test_apply_off),
		cmocka_unit_test(test_apply_keeps_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
