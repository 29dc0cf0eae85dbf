/*
 * The single next hop of a scope, from rtnetlink. See synroute.h for the contract.
 *
 * The reasoning: the kernel resolves a destination by walking the policy rules in priority order and
 * taking the longest matching prefix of the first table that has one. The route R0 it picks for the
 * first target (asked with RTM_F_FIB_MATCH, so we get the table entry and its prefix P0) is the route
 * of every target when (1) every scope interval lies inside P0, so R0's table always has a match;
 * (2) every more specific route of that table overlapping the scope leads to the same next hop; and
 * (3) every route of a table that may be consulted before R0's table and overlaps the scope leads to
 * the same next hop too. Which tables come before is known when every rule up to R0's table is
 * unconditional ("from all lookup T"); with any selector, every other table counts as "before".
 */
#include "survey/synroute.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"

/* Receive buffer for rtnetlink answers: the kernel fills at most ~32 KiB per dump message batch. */
#define SYNROUTE_NL_BUF 65536
/* Rules remembered from the rule dump: real systems have a handful; more than this is treated as
 * "order unknown" (conservative: every other table counts as consulted first). */
#define SYNROUTE_MAX_RULES 64

struct route {
	uint32_t table;
	uint8_t type;
	uint8_t len;
	uint32_t flags;
	struct toride_addr dst;
	int oif;
	bool has_gw, multipath, via, nh_id;
	struct toride_addr gw;
};

struct rule {
	uint32_t priority, table;
	bool unconditional;
};

/* ------------------------------------------------------------------ netlink plumbing */

typedef int (*nl_cb)(const struct nlmsghdr *nh, void *arg);

/* Send one request and feed every answer message to cb until the end of the answer (NLMSG_DONE for a
 * dump, the single message or the error of a plain request). Returns 0, cb's error, or TORIDE_EIO. */
static int
nl_talk(struct nlmsghdr *req, nl_cb cb, void *arg)
{
	int r = TORIDE_EIO;
	char *buf = malloc(SYNROUTE_NL_BUF);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (buf == NULL || fd < 0)
		goto out;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	req->nlmsg_seq = 1;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) != (ssize_t)req->nlmsg_len)
		goto out;
	bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	for (;;) {
		ssize_t n = recv(fd, buf, SYNROUTE_NL_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		size_t left = (size_t)n;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE) {
				r = 0;
				goto out;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				r = nh->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error == 0 ? 0 : TORIDE_EIO;
				goto out;
			}
			int cr = cb(nh, arg);
			if (cr != 0) {
				r = cr;
				goto out;
			}
			if (!dump && !(nh->nlmsg_flags & NLM_F_MULTI)) {
				r = 0;
				goto out;
			}
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

static void
nl_attr(struct nlmsghdr *nh, size_t cap, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > cap)
		return; /* callers size their buffers for the attributes they add */
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	nh->nlmsg_len = (uint32_t)(NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len));
}

static size_t
alen(int family)
{
	return family == 4 ? 4 : 16;
}

static bool
addr_from_attr(const struct rtattr *a, int family, struct toride_addr *out)
{
	if (RTA_PAYLOAD(a) != alen(family))
		return false;
	memset(out, 0, sizeof *out);
	out->family = (uint8_t)family;
	memcpy(out->b, RTA_DATA(a), alen(family));
	return true;
}

/* ------------------------------------------------------------------ routes */

static int
parse_route(const struct nlmsghdr *nh, int family, struct route *rt)
{
	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return TORIDE_EPARSE;
	const struct rtmsg *m = NLMSG_DATA(nh);
	if (m->rtm_family != (family == 4 ? AF_INET : AF_INET6))
		return TORIDE_EPARSE;
	memset(rt, 0, sizeof *rt);
	rt->table = m->rtm_table;
	rt->type = m->rtm_type;
	rt->len = m->rtm_dst_len;
	rt->flags = m->rtm_flags;
	rt->dst.family = (uint8_t)family;
	int left = (int)RTM_PAYLOAD(nh);
	for (const struct rtattr *a = RTM_RTA(m); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		switch (a->rta_type) {
		case RTA_TABLE:
			if (RTA_PAYLOAD(a) == 4)
				memcpy(&rt->table, RTA_DATA(a), 4);
			break;
		case RTA_DST:
			if (!addr_from_attr(a, family, &rt->dst))
				return TORIDE_EPARSE;
			break;
		case RTA_OIF:
			if (RTA_PAYLOAD(a) == 4)
				memcpy(&rt->oif, RTA_DATA(a), 4);
			break;
		case RTA_GATEWAY:
			rt->has_gw = addr_from_attr(a, family, &rt->gw);
			break;
		case RTA_MULTIPATH: rt->multipath = true; break;
		case RTA_VIA: rt->via = true; break;
		case RTA_NH_ID: rt->nh_id = true; break;
		default: break;
		}
	}
	if (rt->len > alen(family) * 8)
		return TORIDE_EPARSE;
	return 0;
}

/* First and last address of the route's prefix. */
static void
route_range(const struct route *rt, struct toride_addr *lo, struct toride_addr *hi)
{
	*lo = rt->dst;
	*hi = rt->dst;
	for (unsigned i = 0; i < alen(rt->dst.family); i++) {
		unsigned bits = rt->len > i * 8 ? rt->len - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
		lo->b[i] &= mask;
		hi->b[i] |= (uint8_t)~mask;
	}
}

struct scope_view {
	const struct toride_scope *scope;
	size_t first, end; /* the family's intervals: [first, end) (sorted, family first) */
};

static void
scope_view_init(struct scope_view *v, const struct toride_scope *s, int family)
{
	size_t n = toride_scope_nintervals(s);
	v->scope = s;
	v->first = n;
	v->end = n;
	for (size_t i = 0; i < n; i++) {
		struct toride_addr a, b;
		if (toride_scope_interval(s, i, &a, &b) != 0)
			continue;
		if (a.family == family && v->first == n)
			v->first = i;
		if (a.family == family)
			v->end = i + 1;
	}
	if (v->first == n)
		v->first = v->end = 0;
}

/* Does [lo, hi] meet any scope interval of the family? Binary search for the first interval whose
 * last address is >= lo (the intervals are sorted and disjoint). */
static bool
scope_overlaps(const struct scope_view *v, const struct toride_addr *lo, const struct toride_addr *hi)
{
	size_t a = v->first, b = v->end;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		struct toride_addr f, l;
		toride_scope_interval(v->scope, mid, &f, &l);
		if (toride_addr_cmp(&l, lo) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	if (a >= v->end)
		return false;
	struct toride_addr f, l;
	toride_scope_interval(v->scope, a, &f, &l);
	return toride_addr_cmp(&f, hi) <= 0;
}

static bool
scope_within(const struct scope_view *v, const struct toride_addr *lo, const struct toride_addr *hi)
{
	if (v->first == v->end)
		return false;
	struct toride_addr f0, l0, f1, l1;
	toride_scope_interval(v->scope, v->first, &f0, &l0);
	toride_scope_interval(v->scope, v->end - 1, &f1, &l1);
	return toride_addr_cmp(&f0, lo) >= 0 && toride_addr_cmp(&l1, hi) <= 0;
}

static int
route_get_cb(const struct nlmsghdr *nh, void *arg)
{
	struct route *rt = arg;
	return parse_route(nh, rt->dst.family, rt) == 0 ? 0 : TORIDE_EIO;
}

/* The FIB entry (with its prefix) the kernel uses towards dst. */
static int
route_get(const struct toride_addr *dst, struct route *rt)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.rt);
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.rt.rtm_family = dst->family == 4 ? AF_INET : AF_INET6;
	req.rt.rtm_dst_len = (unsigned char)(alen(dst->family) * 8);
	req.rt.rtm_flags = RTM_F_FIB_MATCH;
	nl_attr(&req.nh, sizeof req, RTA_DST, dst->b, alen(dst->family));
	memset(rt, 0, sizeof *rt);
	rt->dst.family = dst->family;
	rt->type = RTN_UNSPEC;
	int r = nl_talk(&req.nh, route_get_cb, rt);
	if (r == 0 && rt->type == RTN_UNSPEC)
		r = TORIDE_EIO;
	return r;
}

/* ------------------------------------------------------------------ rules */

struct rules {
	int family;
	struct rule r[SYNROUTE_MAX_RULES];
	size_t n;
	bool overflow;
};

static int
rules_cb(const struct nlmsghdr *nh, void *arg)
{
	struct rules *rs = arg;
	if (nh->nlmsg_type != RTM_NEWRULE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct fib_rule_hdr)))
		return 0;
	const struct fib_rule_hdr *h = NLMSG_DATA(nh);
	if (h->family != (rs->family == 4 ? AF_INET : AF_INET6))
		return 0;
	struct rule ru = {.table = h->table};
	ru.unconditional = h->dst_len == 0 && h->src_len == 0 && h->tos == 0 && h->action == FR_ACT_TO_TBL &&
	                   !(h->flags & FIB_RULE_INVERT);
	int left = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof *h));
	for (const struct rtattr *a = (const struct rtattr *)((const char *)h + NLMSG_ALIGN(sizeof *h));
	     RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		uint32_t v = 0;
		if (RTA_PAYLOAD(a) == 4)
			memcpy(&v, RTA_DATA(a), 4);
		switch (a->rta_type) {
		case FRA_PRIORITY: ru.priority = v; break;
		case FRA_TABLE: ru.table = v; break;
		case FRA_PROTOCOL: break;
		case FRA_SUPPRESS_PREFIXLEN:
		case FRA_SUPPRESS_IFGROUP:
			if (v != UINT32_MAX)
				ru.unconditional = false;
			break;
		default: ru.unconditional = false; break; /* any selector: order depends on the packet */
		}
	}
	if (rs->n < SYNROUTE_MAX_RULES)
		rs->r[rs->n++] = ru;
	else
		rs->overflow = true;
	return 0;
}

/* Tables surely consulted after `table` for every destination: filled into after[] (a bitmap of
 * tables < 256 plus a flag for the rest); false when the order is unknown. */
static bool
tables_after(const struct rules *rs, uint32_t table, uint8_t after[32])
{
	memset(after, 0, 32);
	if (rs->overflow)
		return false;
	/* Priority of the first rule leading to `table`; every rule before it must be unconditional. */
	uint32_t first = UINT32_MAX;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].table == table && rs->r[i].priority < first)
			first = rs->r[i].priority;
	if (first == UINT32_MAX)
		return false;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].priority < first && !rs->r[i].unconditional)
			return false;
	/* A table is "after" when it is never reached by a rule before `first`. */
	uint8_t before[32] = {0};
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->r[i].priority >= first)
			continue;
		if (rs->r[i].table >= 256)
			return false; /* keep the bitmap small: unusual, treat as unknown */
		before[rs->r[i].table / 8] |= (uint8_t)(1u << (rs->r[i].table % 8));
	}
	for (unsigned t = 0; t < 256; t++)
		if (!(before[t / 8] & (1u << (t % 8))) && t != table)
			after[t / 8] |= (uint8_t)(1u << (t % 8));
	return true;
}

/* ------------------------------------------------------------------ the route dump check */

struct check {
	int family;
	const struct route *r0;
	const struct scope_view *view;
	const uint8_t *after; /* NULL: order unknown */
	char *why;
	size_t whylen;
};

static bool
same_next_hop(const struct route *a, const struct route *b)
{
	if (a->type != b->type || a->multipath || b->multipath || a->via || b->via)
		return false;
	return a->oif == b->oif && a->has_gw == b->has_gw && (!a->has_gw || toride_addr_cmp(&a->gw, &b->gw) == 0);
}

static int
check_cb(const struct nlmsghdr *nh, void *arg)
{
	struct check *c = arg;
	struct route rt;
	if (parse_route(nh, c->family, &rt) != 0 || (rt.flags & RTM_F_CLONED))
		return 0;
	const struct route *r0 = c->r0;
	if (rt.table == r0->table && rt.len < r0->len)
		return 0; /* shadowed by R0 for every scope address (the scope lies inside P0) */
	if (rt.table != r0->table && c->after != NULL && rt.table < 256 && (c->after[rt.table / 8] & (1u << (rt.table % 8))))
		return 0; /* never consulted: R0's table matches every scope address first */
	struct toride_addr lo, hi;
	route_range(&rt, &lo, &hi);
	if (!scope_overlaps(c->view, &lo, &hi) || same_next_hop(&rt, r0))
		return 0;
	char as[TORIDE_ADDR_STRLEN];
	toride_addr_format(&rt.dst, as, sizeof as);
	snprintf(c->why, c->whylen, "route %s/%u (table %u) covers part of the scope with another next hop", as,
	         rt.len, rt.table);
	return TORIDE_EUNSUPPORTED;
}

/* ------------------------------------------------------------------ interface */

static int
iface_info(struct synroute_hop *hop, unsigned short *hwtype, short *flags)
{
	struct ifreq ifr;
	int r = TORIDE_EIO;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return TORIDE_EIO;
	if (if_indextoname((unsigned)hop->ifindex, hop->ifname) == NULL)
		goto out;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", hop->ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		goto out;
	*flags = ifr.ifr_flags;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0)
		goto out;
	*hwtype = ifr.ifr_hwaddr.sa_family;
	memcpy(hop->src_mac, ifr.ifr_hwaddr.sa_data, SYNROUTE_ETH_ALEN);
	r = 0;
out:
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ public */

int
synroute_plan(const struct toride_scope *scope, int family, const struct toride_addr *first,
              struct synroute_hop *hop, char *why, size_t whylen)
{
	struct route r0;
	struct scope_view view;
	int r;
	memset(hop, 0, sizeof *hop);
	hop->family = family;
	if (first->family != family) {
		snprintf(why, whylen, "bad family");
		return TORIDE_EINVAL;
	}
	if ((r = route_get(first, &r0)) != 0) {
		snprintf(why, whylen, "no route from rtnetlink");
		return r == TORIDE_EUNSUPPORTED ? r : TORIDE_EIO;
	}
	if (r0.multipath || r0.via || (r0.nh_id && r0.oif == 0)) {
		snprintf(why, whylen, "the route has several or indirect next hops");
		return TORIDE_EUNSUPPORTED;
	}
	if (r0.type == RTN_LOCAL) {
		/* A frame written to lo is received like one from a wire: without the dst the output path
		 * attaches, a 127/8 source is a martian and is dropped. */
		snprintf(why, whylen, "local targets: the kernel delivers them itself");
		return TORIDE_EUNSUPPORTED;
	}
	if (r0.type == RTN_UNICAST) {
		if (!r0.has_gw) {
			snprintf(why, whylen, "the targets are on-link (each has its own neighbour)");
			return TORIDE_EUNSUPPORTED;
		}
		hop->ifindex = r0.oif;
		hop->gateway = r0.gw;
	} else {
		snprintf(why, whylen, "the route is not unicast (type %u)", r0.type);
		return TORIDE_EUNSUPPORTED;
	}
	if (hop->ifindex <= 0) {
		snprintf(why, whylen, "no output interface");
		return TORIDE_EUNSUPPORTED;
	}
	unsigned short hw = 0;
	short flags = 0;
	if (iface_info(hop, &hw, &flags) != 0) {
		snprintf(why, whylen, "cannot read the output interface");
		return TORIDE_EIO;
	}
	if (hw != ARPHRD_ETHER || (flags & IFF_NOARP)) {
		snprintf(why, whylen, "%s is not an Ethernet interface with ARP/ND", hop->ifname);
		return TORIDE_EUNSUPPORTED;
	}
	if (!(flags & IFF_UP)) {
		snprintf(why, whylen, "%s is down", hop->ifname);
		return TORIDE_EUNSUPPORTED;
	}

	/* (1) the scope lies inside P0. */
	scope_view_init(&view, scope, family);
	struct toride_addr lo, hi;
	route_range(&r0, &lo, &hi);
	if (!scope_within(&view, &lo, &hi)) {
		char as[TORIDE_ADDR_STRLEN];
		toride_addr_format(&r0.dst, as, sizeof as);
		snprintf(why, whylen, "the scope is larger than the route %s/%u", as, r0.len);
		return TORIDE_EUNSUPPORTED;
	}
	/* (2) and (3): every other route that may apply. */
	struct rules *rs = calloc(1, sizeof *rs);
	if (rs == NULL)
		return TORIDE_ENOMEM;
	rs->family = family;
	struct {
		struct nlmsghdr nh;
		struct fib_rule_hdr h;
	} rreq;
	memset(&rreq, 0, sizeof rreq);
	rreq.nh.nlmsg_len = NLMSG_LENGTH(sizeof rreq.h);
	rreq.nh.nlmsg_type = RTM_GETRULE;
	rreq.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rreq.h.family = family == 4 ? AF_INET : AF_INET6;
	uint8_t after[32];
	bool known = nl_talk(&rreq.nh, rules_cb, rs) == 0 && tables_after(rs, r0.table, after);
	free(rs);
	struct check c = {.family = family, .r0 = &r0, .view = &view, .after = known ? after : NULL, .why = why,
	                  .whylen = whylen};
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} dreq;
	memset(&dreq, 0, sizeof dreq);
	dreq.nh.nlmsg_len = NLMSG_LENGTH(sizeof dreq.rt);
	dreq.nh.nlmsg_type = RTM_GETROUTE;
	dreq.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	dreq.rt.rtm_family = family == 4 ? AF_INET : AF_INET6;
	r = nl_talk(&dreq.nh, check_cb, &c);
	if (r == TORIDE_EUNSUPPORTED)
		return r;
	if (r != 0) {
		snprintf(why, whylen, "cannot read the routing tables");
		return TORIDE_EIO;
	}
	(void)synroute_neighbour(hop);
	return 0;
}

struct neigh_find {
	struct synroute_hop *hop;
	bool found;
};

static int
neigh_cb(const struct nlmsghdr *nh, void *arg)
{
	struct neigh_find *f = arg;
	if (nh->nlmsg_type != RTM_NEWNEIGH || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg)))
		return 0;
	const struct ndmsg *m = NLMSG_DATA(nh);
	if (m->ndm_ifindex != f->hop->ifindex ||
	    !(m->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)))
		return 0;
	int left = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof *m));
	struct toride_addr dst;
	bool match = false;
	const uint8_t *mac = NULL;
	for (const struct rtattr *a = (const struct rtattr *)((const char *)m + NLMSG_ALIGN(sizeof *m));
	     RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type == NDA_DST)
			match = addr_from_attr(a, f->hop->family, &dst) && toride_addr_cmp(&dst, &f->hop->gateway) == 0;
		else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == SYNROUTE_ETH_ALEN)
			mac = RTA_DATA(a);
	}
	if (match && mac != NULL) {
		memcpy(f->hop->dst_mac, mac, SYNROUTE_ETH_ALEN);
		f->found = true;
	}
	return 0;
}

int
synroute_neighbour(struct synroute_hop *hop)
{
	struct {
		struct nlmsghdr nh;
		struct ndmsg nd;
	} req;
	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.nd);
	req.nh.nlmsg_type = RTM_GETNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nd.ndm_family = hop->family == 4 ? AF_INET : AF_INET6;
	req.nd.ndm_ifindex = hop->ifindex;
	struct neigh_find f = {.hop = hop};
	if (nl_talk(&req.nh, neigh_cb, &f) != 0)
		return TORIDE_EIO;
	if (!f.found)
		return TORIDE_ENOTFOUND;
	hop->mac_known = true;
	return 0;
}
