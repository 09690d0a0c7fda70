/* espflood: send raw ESP packets with random SPIs at full rate (a benchmark
 * load generator, not a peer). Self-contained; links nothing from libinsync.
 *
 *   espflood -d DST [-u PORT] [-t SECONDS] [-b BATCH] [-l PAYLOAD] [-r PPS] [-n MAX]
 *
 * One raw IPPROTO_ESP socket (or, with -u, a UDP socket sending ESP in UDP to
 * PORT as RFC 3948 frames it: the SPI is never 0, so no non-ESP marker is
 * needed), sendmmsg() in batches of BATCH (default 256)
 * packets; each packet is SPI (random, >= 256) | sequence number | PAYLOAD
 * bytes (default 64) of random data, so its size on the wire is 20 + 8 + 64.
 * Stops after SECONDS (default 5, at most 600) or MAX packets. -r caps the
 * rate (0 = as fast as the socket takes them). Prints one line:
 *   espflood: sent N packets in S s = R pps (send errors E)
 * Run it inside a network namespace: the kernel forwards what it accepts, so
 * "sent" counts packets handed to the kernel, not packets that arrived. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define MAX_PAYLOAD 1400

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t xorshift64(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void usage(void)
{
	fprintf(stderr, "usage: espflood -d DST [-u PORT] [-t SECONDS] [-b BATCH] [-l PAYLOAD] [-r PPS] [-n MAX]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t bufs[MAX_BATCH][8 + MAX_PAYLOAD];
	static struct mmsghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	struct sockaddr_in to = {.sin_family = AF_INET};
	double secs = 5, rate = 0;
	unsigned batch = 256, payload = 64;
	unsigned long long max = 0, sent = 0, errs = 0, seq = 0;
	unsigned long port = 0;
	int c, fd, sz = 4 << 20;

	while ((c = getopt(argc, argv, "d:u:t:b:l:r:n:")) != -1) {
		switch (c) {
		case 'd':
			if (inet_pton(AF_INET, optarg, &to.sin_addr) != 1)
				usage();
			break;
		case 'u':
			port = strtoul(optarg, NULL, 0);
			if (port < 1 || port > 65535)
				usage();
			to.sin_port = htons((uint16_t)port);
			break;
		case 't': secs = atof(optarg); break;
		case 'b': batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': payload = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': rate = atof(optarg); break;
		case 'n': max = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (!to.sin_addr.s_addr || secs <= 0 || secs > 600 || batch < 1 || batch > MAX_BATCH ||
	    payload > MAX_PAYLOAD)
		usage();
	fd = port ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP)
		  : socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
	if (fd < 0) {
		perror("espflood: socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	rng_state ^= (uint64_t)getpid() << 32 ^ (uint64_t)(now_s() * 1e9);
	for (unsigned i = 0; i < batch; i++) {
		for (unsigned k = 8; k < 8 + payload; k++)
			bufs[i][k] = (uint8_t)xorshift64();
		iov[i] = (struct iovec){bufs[i], 8 + payload};
		m[i].msg_hdr = (struct msghdr){.msg_name = &to, .msg_namelen = sizeof(to),
					       .msg_iov = &iov[i], .msg_iovlen = 1};
	}
	double t0 = now_s(), t = t0;
	while (t - t0 < secs && (!max || sent < max)) {
		unsigned n = batch;
		if (max && max - sent < n)
			n = (unsigned)(max - sent);
		if (rate > 0) {
			/* Pace: never ahead of rate * elapsed. */
			double allowed = rate * (t - t0) - (double)sent;
			if (allowed < 1) {
				usleep(200);
				t = now_s();
				continue;
			}
			if (allowed < n)
				n = (unsigned)allowed;
		}
		for (unsigned i = 0; i < n; i++) {
			uint32_t spi = (uint32_t)xorshift64() | 0x100u, sq = (uint32_t)++seq;
			spi = htonl(spi), sq = htonl(sq);
			memcpy(bufs[i], &spi, 4);
			memcpy(bufs[i] + 4, &sq, 4);
		}
		int r = sendmmsg(fd, m, n, 0);
		if (r > 0)
			sent += (unsigned)r;
		else if (r < 0 && errno != EINTR) {
			errs++;
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("espflood: sendmmsg");
				break;
			}
		}
		t = now_s();
	}
	double dt = now_s() - t0;
	printf("espflood: sent %llu packets in %.3f s = %.0f pps (send errors %llu)\n", sent, dt,
	       dt > 0 ? (double)sent / dt : 0.0, errs);
	close(fd);
	return 0;
}
