/* Control protocol request validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "ops/control.h"
#include "daemon/loop.h"
#include "util/out.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void test_parse(void **s)
{
	char line[CTL_REQ_MAX];
	int type;
	const uint8_t ok[] = {CTL_EXEC, 's', 'h', ' ', 'r', 'u', 'n'};
	assert_int_equal(control_parse_request(ok, sizeof(ok), &type, line, sizeof(line)), 0);
	assert_int_equal(type, CTL_EXEC);
	assert_string_equal(line, "sh run");
	const uint8_t empty[] = {CTL_HELP};
	assert_int_equal(control_parse_request(empty, 1, &type, line, sizeof(line)), 0);
	assert_string_equal(line, "");
	/* malformed */
	assert_int_equal(control_parse_request(ok, 0, &type, line, sizeof(line)), -1);
	const uint8_t badtype[] = {9, 'a'};
	assert_int_equal(control_parse_request(badtype, 2, &type, line, sizeof(line)), -1);
	const uint8_t nul[] = {CTL_EXEC, 'a', 0, 'b'};
	assert_int_equal(control_parse_request(nul, 4, &type, line, sizeof(line)), -1);
	const uint8_t ctl[] = {CTL_EXEC, 'a', '\n'};
	assert_int_equal(control_parse_request(ctl, 3, &type, line, sizeof(line)), -1);
	assert_int_equal(control_parse_request(ok, sizeof(ok), &type, line, 4), -1);
	static uint8_t big[CTL_REQ_MAX + 2];
	memset(big, 'a', sizeof(big));
	big[0] = CTL_EXEC;
	assert_int_equal(control_parse_request(big, sizeof(big), &type, line, sizeof(line)), -1);
}

/* The server's loop runs on its own thread; the test is the clients. */
static atomic_int srv_stop;

static void srv_poll(struct timer *t, void *arg)
{
	(void)arg;
	if (atomic_load(&srv_stop))
		loop_stop();
	else
		timer_arm(t, 20);
}

static void *srv_main(void *path)
{
	struct timer t = {0};

	timer_init(&t, srv_poll, NULL);
	timer_arm(&t, 20);
	loop_run();
	timer_cancel(&t);
	return NULL;
}

/* With every session slot held by an idle client, a new one is told the
 * daemon is busy (it used to read "cannot reach insyncd"). */
static void test_busy(void **st)
{
	char path[] = "/tmp/insync-ctl-XXXXXX";
	char sock[64];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int idle[CTL_MAX_CLIENTS];
	pthread_t th;
	struct out o;

	(void)st;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/c.sock", path);
	assert_int_equal(loop_init(), 0);
	assert_int_equal(control_listen(sock), 0);
	assert_int_equal(control_publish(), 0);
	assert_int_equal(pthread_create(&th, NULL, srv_main, sock), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		idle[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(connect(idle[i], (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	/* The accept queue is FIFO: the server takes all of them before ours. */
	out_init(&o);
	assert_int_equal(control_request(sock, CTL_EXEC, "show version", &o), 1);
	assert_non_null(o.buf);
	assert_non_null(strstr(o.buf, "too many control sessions"));
	out_free(&o);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		close(idle[i]);
	atomic_store(&srv_stop, 1);
	pthread_join(th, NULL);
	control_close();
	loop_free();
	unlink(sock);
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_busy)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
