/* Logging hosts and `logging trap`: what a remote syslog receiver gets, seen
 * by a real UDP socket on the loopback, and what `show logging` says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ops/log.h"
#include "util/out.h"

/* Every datagram waiting on fd, concatenated (one line each). */
static void drain(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	buf[0] = '\0';
	while (n + 1 < cap && (r = recv(fd, buf + n, cap - n - 1, MSG_DONTWAIT)) > 0) {
		n += (size_t)r;
		buf[n++] = '\n';
		buf[n] = '\0';
	}
}

static void test_trap_level(void **st)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char got[4096];
	struct out o;

	(void)st;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	log_set_stderr(0);
	assert_int_equal(log_set_host(sin.sin_addr.s_addr, ntohs(sin.sin_port)), 0);
	log_set_trap_level(LOG_SEV_WARN);
	log_ios(LOG_SEV_NOTICE, "TEST", "NOTICE", "below the trap level");
	log_ios(LOG_SEV_WARN, "TEST", "WARN", "at the trap level");
	log_ios(LOG_SEV_ERR, "TEST", "ERR", "above it");
	usleep(20000);
	drain(fd, got, sizeof(got));
	assert_null(strstr(got, "%TEST-5-NOTICE"));
	assert_non_null(strstr(got, "%TEST-4-WARN: at the trap level"));
	assert_non_null(strstr(got, "%TEST-3-ERR: above it"));
	out_init(&o);
	log_show(&o);
	assert_non_null(strstr(o.buf, "Trap logging: level warnings"));
	out_free(&o);
	log_set_trap_level(LOG_SEV_DEBUG);
	log_raw(LOG_SEV_DEBUG, "IKEv2:a debug line");
	usleep(20000);
	drain(fd, got, sizeof(got));
	assert_non_null(strstr(got, "IKEv2:a debug line"));
	log_clear_hosts();
	log_free();
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trap_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
