/* rtnetlink through libmnl: link up/down and MTU, interface addresses, and the
 * `ip route PREFIX MASK TunnelN` routes. Control thread only; one short-lived
 * netlink socket per request keeps this simple (requests are rare). Routes we
 * install are remembered so a reload can remove the ones that went away. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "esp/dp_int.h"
#include "ops/log.h"

struct route_ent {
	uint32_t prefix, gw;
	int plen, ifindex;
	int keep;
	struct route_ent *next;
};
static struct route_ent *routes;

/* Send one request and wait for its ACK; returns 0 or -errno. */
static int nl_talk(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned seq = (unsigned)time(NULL), portid;
	int rc = -EIO;
	ssize_t n;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		goto out;
	rc = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return rc;
}

int route_mask_len(uint32_t mask_be)
{
	uint32_t m = ntohl(mask_be);
	int n = 0;

	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return m ? -1 : n;
}

int route_link_set(int ifindex, int up, unsigned mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nlh);
}

int route_addr(int ifindex, uint32_t addr, int plen, int add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	int rc;

	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
	rc = nl_talk(nlh);
	return rc == -EEXIST && add ? 0 : rc;
}

int route_route(uint32_t prefix, int plen, int ifindex, uint32_t gw, int add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_DST, prefix);
	if (ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (gw)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
	return nl_talk(nlh);
}

static struct route_ent *find(uint32_t prefix, int plen, int ifindex, uint32_t gw)
{
	for (struct route_ent *r = routes; r; r = r->next)
		if (r->prefix == prefix && r->plen == plen && r->ifindex == ifindex && r->gw == gw)
			return r;
	return NULL;
}

static void log_route(const char *what, uint32_t prefix, int plen, const char *dev, int err)
{
	char p[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = prefix};

	inet_ntop(AF_INET, &a, p, sizeof(p));
	log_ios(LOG_SEV_ERR, "IP", "ROUTE_FAIL", "cannot %s route %s/%d via %s: %s", what, p, plen,
		dev, strerror(-err));
}

void route_apply(const struct config *cfg)
{
	struct route_ent **pp, *r;

	for (r = routes; r; r = r->next)
		r->keep = 0;
	for (const struct cfg_route *cr = cfg ? cfg->routes : NULL; cr; cr = cr->next) {
		struct dp_tunnel *t = NULL;
		int plen = route_mask_len(cr->mask), ifindex = 0, rc;
		unsigned num;

		if (plen < 0)
			continue;
		if (cr->ifname[0]) {
			/* Only our tunnels: other interfaces are not ours to manage. */
			if (sscanf(cr->ifname, "Tunnel%u", &num) != 1 || !(t = dp_tunnel_find(num)))
				continue;
			ifindex = t->ifindex;
		} else {
			continue; /* next-hop-only routes belong to the host's own routing */
		}
		if ((r = find(cr->prefix & cr->mask, plen, ifindex, cr->nexthop))) {
			r->keep = 1;
			continue;
		}
		rc = route_route(cr->prefix & cr->mask, plen, ifindex, cr->nexthop, 1);
		if (rc) {
			log_route("add", cr->prefix, plen, cr->ifname, rc);
			continue;
		}
		if ((r = calloc(1, sizeof(*r)))) {
			*r = (struct route_ent){cr->prefix & cr->mask, cr->nexthop, plen, ifindex, 1, routes};
			routes = r;
		}
	}
	for (pp = &routes; (r = *pp);) {
		if (r->keep) {
			pp = &r->next;
			continue;
		}
		/* The device may be gone already, which removed the route with it. */
		route_route(r->prefix, r->plen, r->ifindex, r->gw, 0);
		*pp = r->next;
		free(r);
	}
}

void route_flush(void)
{
	route_apply(NULL);
}

uint32_t route_if_addr(const char *ifname)
{
	struct ifaddrs *ifa, *i;
	uint32_t a = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, ifname)) {
			a = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr;
			break;
		}
	freeifaddrs(ifa);
	return a;
}
