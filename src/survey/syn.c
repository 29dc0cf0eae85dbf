/*
 * Stateless SYN discovery: the I/O around survey/synpkt.c. See syn.h for the contract and
 * docs/survey-scale.md for the design (keyed check, back-pressure, cool-down, checkpoint).
 *
 * Threads: the sender owns the order, the packet buffers and the raw sockets; the receiver owns
 * the capture and the duplicate set. The queue, the checkpoint samples and the flags are shared
 * under `mu`; counters are atomics. The survey loop calls pop/stats/checkpoint.
 */
#include "survey/syn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/order.h"
#include "survey/synpkt.h"
#include "survey/synroute.h"

/* Pairs per sendmmsg batch: large enough that the syscall cost is spread over many packets, small
 * enough that a batch (x SYN_MAX_PROBES messages) stays a few hundred KiB. Measured at --rate 0 on
 * the big discovery lab (6 runs each, median send time for 261,120 probes): 64: 0.320 s, 256:
 * 0.334 s, 1024: 0.317 s -- within the noise, so the middle value stays. */
#define SYN_BATCH 256
/* Source ports used by default: 256 keeps the keyed spread over ports (a middlebox that tracks
 * flows sees few per port) while staying clear of ip_local_port_range. */
#define SYN_SPORT_COUNT 256
/* Fallback source port base when ip_local_port_range cannot be read (Linux default upper bound + 1). */
#define SYN_SPORT_FALLBACK 61000
/* Bytes captured per frame: Ethernet + 2 VLAN tags + IPv6 + TCP with options fit in 128. */
#define SYN_SNAPLEN 128
/* Capture ring: 64 MB holds ~0.25 M frames, a few hundred ms of replies at line rate. The ring is
 * resident memory, so a small survey gets a ring sized to its own probes (SYN_CAPTURE_PER_PACKET
 * each, the slot a 128-byte snapshot takes with its headers), but never below the minimum. */
#define SYN_CAPTURE_BUFFER (64 * 1024 * 1024)
#define SYN_CAPTURE_BUFFER_MIN (2 * 1024 * 1024)
#define SYN_CAPTURE_PER_PACKET 256
/* Raw socket send buffer: deep enough that sendmmsg of a batch rarely meets ENOBUFS. */
#define SYN_SNDBUF (4 * 1024 * 1024)
/* Receiver poll timeout: how quickly a stop request or the end of the cool-down is noticed. */
#define SYN_POLL_MS 100
/* Capture block timeout (TPACKET_V3, immediate mode off): the kernel hands over a block of replies
 * when it is full or this old, so the receiver wakes ~1/SYN_RX_BLOCK_MS times a second instead of
 * once per reply (per-reply wake-ups took ~20 % of the sender's CPU at 0.5 Mpps). 10 ms keeps the
 * added latency far below any cool-down. */
#define SYN_RX_BLOCK_MS 10
/* A reply that arrived at t is readable by t + this: the kernel retires a block on the first timer
 * tick that finds it unchanged for a whole period (up to two periods), plus scheduling slack. */
#define SYN_RX_LATENCY (2 * SYN_RX_BLOCK_MS / 1000.0 + 0.01)
/* Pacing slice: with --rate, a batch holds at most this many seconds' worth of packets, so the
 * sending is smooth at low rates. */
#define SYN_PACE_SLICE 0.01
/* How far behind schedule the pacer may fall and still catch up at full speed (after a pause the
 * schedule restarts instead of bursting). */
#define SYN_PACE_SLACK 0.01
/* Back-off when the kernel says ENOBUFS/EAGAIN: short enough to keep the link busy. */
#define SYN_ENOBUFS_SLEEP_NS 50000L
/* Ethernet header in front of a probe on the packet socket path. */
#define SYN_ETH_HLEN 14
/* Waiting for the next hop's MAC (the first probes go through the raw IP socket, which makes the
 * kernel resolve it): look every SYN_NEIGH_POLL seconds, give up after SYN_NEIGH_WAIT (ARP/ND answer
 * in milliseconds; a gateway silent for a second will not be faster later). */
#define SYN_NEIGH_POLL 0.01
#define SYN_NEIGH_WAIT 1.0
/* Checkpoint samples (time, position): a ring covering several cool-downs. */
#define SYN_SAMPLES 256
/* Shortest time between two samples. */
#define SYN_SAMPLE_MIN 0.1
/* First duplicate-set size (power of two); it doubles at half load. */
#define SYN_SET_INITIAL 1024
/* First queue ring size (power of two); it doubles when full (back-pressure keeps it below the cap). */
#define SYN_QUEUE_INITIAL 4096

/* How a family's probes leave. */
enum syn_path {
	SYN_PATH_RAW = 0,  /* raw IP socket: the kernel routes and resolves each packet */
	SYN_PATH_PACKET,   /* packet socket: ready Ethernet frames to the scope's single next hop */
	SYN_PATH_PENDING,  /* packet path once the next hop's MAC is known; raw until then */
};

struct syn_family {
	enum syn_path path;        /* written by the sender only after start */
	struct synroute_hop hop;
	struct sockaddr_ll ll;     /* destination of every frame (interface, EtherType, MAC) */
	uint8_t eth[SYN_ETH_HLEN]; /* the header written in front of each probe */
	char why[160];             /* why the raw path (for syn_disc_describe) */
	double pend_start, pend_next;
};

struct sample {
	double t;      /* when every probe of pairs below pos had been sent */
	uint64_t pos;
	uint64_t enq;  /* hits queued by t + cool-down (valid when matured) */
	bool matured;
};

struct syn_disc {
	struct syn_config cfg;
	uint16_t *ports;
	uint8_t port_bits[65536 / 8];
	struct synpkt_key key;
	struct synpkt_ports sports;
	int fd4, fd6;
	int pkt_fd;                /* AF_PACKET socket for SYN_PATH_PACKET families, or -1 */
	struct syn_family fam[2];  /* [0] IPv4, [1] IPv6 */
	bool have4, have6;
	struct toride_addr src4, src6;
	char ifname[IF_NAMESIZE + 8];
	pcap_t *pcap;
	enum synpkt_link link;
	struct toride_order *order;
	uint64_t total;
	double cooldown;       /* seconds */
	double sample_every;   /* seconds */

	pthread_t sender, receiver;
	bool sender_started, receiver_started;
	atomic_bool stop;

	pthread_mutex_t mu;
	pthread_cond_t room;
	/* under mu: */
	struct syn_hit *q;
	size_t qcap, qhead, qlen;
	uint64_t enq_total, popped_total;
	struct sample samples[SYN_SAMPLES];
	size_t nsamples, sample_next; /* ring: nsamples valid, next slot to write */
	uint64_t checkpoint;
	bool sending_done, finished;
	double first_probe, last_probe;
	int error;

	/* receiver only: */
	struct syn_hit *set;
	bool *set_used;
	size_t set_cap, set_len;
	bool rx_new;

	/* sender only: */
	uint8_t (*pkts)[SYN_ETH_HLEN + SYNPKT_MAX_PROBE];
	struct sockaddr_storage *dsts;
	struct iovec *iov;
	struct mmsghdr *m4, *m6;
	uint16_t ip_id;

	atomic_uint_fast64_t position, packets, replies, open, closed, duplicates, not_ours, kernel_drops,
		send_errors;
};

static double
mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_until(double t)
{
	struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - floor(t)) * 1e9)};
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* ------------------------------------------------------------------ setup helpers */

/* Default source ports: just above the kernel's ephemeral range (so no connect() of the check
 * stage can ever own one and take our replies), or just below it when above does not fit. */
static void
default_sports(struct synpkt_ports *sp)
{
	unsigned lo = 0, hi = 0;
	sp->count = SYN_SPORT_COUNT;
	sp->base = SYN_SPORT_FALLBACK;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f == NULL)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= hi && hi <= 65535) {
		if (hi + SYN_SPORT_COUNT <= 65535)
			sp->base = (uint16_t)(hi + 1);
		else if (lo > 1024 + SYN_SPORT_COUNT)
			sp->base = (uint16_t)(lo - SYN_SPORT_COUNT);
	}
	fclose(f);
}

static bool
first_of_family(const struct toride_scope *s, int family, struct toride_addr *out)
{
	size_t n = toride_scope_nintervals(s);
	for (size_t i = 0; i < n; i++) {
		struct toride_addr first, last;
		if (toride_scope_interval(s, i, &first, &last) == 0 && first.family == family) {
			*out = first;
			return true;
		}
	}
	return false;
}

/* The source address the kernel would use towards dst: connect() a UDP socket (nothing is sent)
 * and read its local address. */
static int
route_source(const struct toride_addr *dst, struct toride_addr *src, char *err, size_t errlen)
{
	struct sockaddr_storage ss, local;
	socklen_t sl, ll = sizeof local;
	char as[TORIDE_ADDR_STRLEN];
	int r = TORIDE_EIO;
	toride_addr_format(dst, as, sizeof as);
	if (toride_addr_to_sockaddr(dst, 9, &ss, &sl) != 0)
		return TORIDE_EINVAL;
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "SYN discovery: UDP socket: %s", strerror(errno));
		return TORIDE_EIO;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		snprintf(err, errlen, "SYN discovery: no route to %s: %s", as, strerror(errno));
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0 ||
	    toride_addr_from_sockaddr((struct sockaddr *)&local, src, NULL) != 0) {
		snprintf(err, errlen, "SYN discovery: no source address towards %s", as);
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

/* Name of the interface holding address a (getifaddrs). */
static int
iface_of(const struct toride_addr *a, char *name, size_t namelen)
{
	struct ifaddrs *ifs = NULL;
	int r = TORIDE_ENOTFOUND;
	if (getifaddrs(&ifs) != 0)
		return TORIDE_EIO;
	for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
		struct toride_addr x;
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (toride_addr_from_sockaddr(i->ifa_addr, &x, NULL) == 0 && toride_addr_cmp(&x, a) == 0) {
			snprintf(name, namelen, "%s", i->ifa_name);
			r = 0;
			break;
		}
	}
	freeifaddrs(ifs);
	/* Every 127/8 address is local on lo even when only 127.0.0.1 is configured. */
	if (r != 0 && a->family == 4 && a->b[0] == 127) {
		snprintf(name, namelen, "lo");
		r = 0;
	}
	return r;
}

static int
open_raw(int family, int *fd, char *err, size_t errlen)
{
	*fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (*fd < 0) {
		if (errno == EPERM || errno == EACCES) {
			snprintf(err, errlen, "SYN discovery needs CAP_NET_RAW (run as root or setcap cap_net_raw+ep)");
			return TORIDE_EUNSUPPORTED;
		}
		snprintf(err, errlen, "SYN discovery: raw socket: %s", strerror(errno));
		return TORIDE_EIO;
	}
	/* IPPROTO_RAW implies that we write the IP header (IP_HDRINCL; IPv6 likewise on Linux). */
	int sz = SYN_SNDBUF;
	if (setsockopt(*fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
		(void)setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	return 0;
}

/* The packet socket for ready frames: protocol 0 (it never receives). No PACKET_QDISC_BYPASS:
 * frames that bypass the qdisc also bypass the taps, so tcpdump on the interface would not see a
 * single probe, and an operator (and test_survey_discovery.sh) must be able to audit what leaves. */
static int
open_packet(int *fd)
{
	*fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return TORIDE_EIO;
	int sz = SYN_SNDBUF;
	if (setsockopt(*fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
		(void)setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	return 0;
}

/* The next hop's MAC is known: frames can be addressed. */
static void
family_ready(struct syn_family *f)
{
	uint16_t type = htons(f->hop.family == 4 ? ETH_P_IP : ETH_P_IPV6);
	memset(&f->ll, 0, sizeof f->ll);
	f->ll.sll_family = AF_PACKET;
	f->ll.sll_protocol = type;
	f->ll.sll_ifindex = f->hop.ifindex;
	f->ll.sll_halen = SYNROUTE_ETH_ALEN;
	memcpy(f->ll.sll_addr, f->hop.dst_mac, SYNROUTE_ETH_ALEN);
	memcpy(f->eth, f->hop.dst_mac, SYNROUTE_ETH_ALEN);
	memcpy(f->eth + SYNROUTE_ETH_ALEN, f->hop.src_mac, SYNROUTE_ETH_ALEN);
	memcpy(f->eth + 2 * SYNROUTE_ETH_ALEN, &type, sizeof type);
	f->path = SYN_PATH_PACKET;
}

/* Choose how a family's probes leave: ready frames on a packet socket when the whole scope has one
 * next hop (no route lookup, no dst allocation per packet: the raw IP path spends ~10 % of the
 * sender's CPU there), the raw IP socket otherwise. Never fails: the raw path always works. */
static void
plan_family(struct syn_disc *d, int family, const struct toride_addr *first)
{
	struct syn_family *f = &d->fam[family == 4 ? 0 : 1];
	f->path = SYN_PATH_RAW;
	if (synroute_plan(d->cfg.scope, family, first, &f->hop, f->why, sizeof f->why) != 0)
		return;
	if (d->pkt_fd < 0 && open_packet(&d->pkt_fd) != 0) {
		snprintf(f->why, sizeof f->why, "no packet socket: %s", strerror(errno));
		return;
	}
	if (f->hop.mac_known)
		family_ready(f);
	else
		f->path = SYN_PATH_PENDING;
}

static int
map_link(int dlt, enum synpkt_link *out)
{
	switch (dlt) {
	case DLT_EN10MB: *out = SYNPKT_LINK_ETHERNET; return 0;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
#endif
#ifdef DLT_IPV6
	case DLT_IPV6:
#endif
		*out = SYNPKT_LINK_RAW;
		return 0;
	case DLT_LINUX_SLL: *out = SYNPKT_LINK_SLL; return 0;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2: *out = SYNPKT_LINK_SLL2; return 0;
#endif
	default: return TORIDE_EUNSUPPORTED;
	}
}

static int
open_capture(struct syn_disc *d, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	char filter[512];
	struct bpf_program prog;
	unsigned lo = d->sports.base, hi = (unsigned)d->sports.base + d->sports.count - 1;
	d->pcap = pcap_create(d->ifname, ebuf);
	if (d->pcap == NULL) {
		snprintf(err, errlen, "SYN discovery: capture on %s: %s", d->ifname, ebuf);
		return TORIDE_EIO;
	}
	pcap_set_snaplen(d->pcap, SYN_SNAPLEN);
	pcap_set_promisc(d->pcap, 0);
	/* Block batching: libpcap uses TPACKET_V3 unless immediate mode is on (then TPACKET_V2 and a
	 * wake-up per frame). */
	pcap_set_immediate_mode(d->pcap, 0);
	pcap_set_timeout(d->pcap, SYN_RX_BLOCK_MS);
	uint64_t want = d->total * d->cfg.probes * SYN_CAPTURE_PER_PACKET;
	if (d->total > SYN_CAPTURE_BUFFER || want > SYN_CAPTURE_BUFFER)
		want = SYN_CAPTURE_BUFFER;
	if (want < SYN_CAPTURE_BUFFER_MIN)
		want = SYN_CAPTURE_BUFFER_MIN;
	pcap_set_buffer_size(d->pcap, (int)want);
	int a = pcap_activate(d->pcap);
	if (a < 0) {
		snprintf(err, errlen, "SYN discovery: capture on %s: %s", d->ifname, pcap_geterr(d->pcap));
		return a == PCAP_ERROR_PERM_DENIED ? TORIDE_EUNSUPPORTED : TORIDE_EIO;
	}
#ifdef PACKET_IGNORE_OUTGOING
	/* Only replies matter: our own probes (and, on lo, the outgoing copy of every reply) would each
	 * be cloned and run through the filter. Best effort (Linux >= 4.20); the filter copes anyway. */
	int one = 1;
	(void)setsockopt(pcap_fileno(d->pcap), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
#endif
	if (map_link(pcap_datalink(d->pcap), &d->link) != 0) {
		snprintf(err, errlen, "SYN discovery: capture on %s: link type %s not supported", d->ifname,
		         pcap_datalink_val_to_name(pcap_datalink(d->pcap)));
		return TORIDE_EIO;
	}
	/* SYN or RST to our source ports. BPF's tcp[] only works for IPv4; for IPv6 the flags are at
	 * ip6[40+13] when TCP follows the fixed header (real replies carry no extension header, and
	 * synpkt_classify decides anyway). */
	int n;
	if (d->have4 && d->have6)
		n = snprintf(filter, sizeof filter,
		             "(ip and tcp dst portrange %u-%u and tcp[13] & 0x06 != 0) or "
		             "(ip6 and tcp dst portrange %u-%u and ip6[53] & 0x06 != 0)", lo, hi, lo, hi);
	else if (d->have6)
		n = snprintf(filter, sizeof filter, "ip6 and tcp dst portrange %u-%u and ip6[53] & 0x06 != 0", lo, hi);
	else
		n = snprintf(filter, sizeof filter, "ip and tcp dst portrange %u-%u and tcp[13] & 0x06 != 0", lo, hi);
	if (n < 0 || (size_t)n >= sizeof filter) {
		snprintf(err, errlen, "SYN discovery: capture filter too long");
		return TORIDE_EIO;
	}
	if (pcap_compile(d->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "SYN discovery: capture filter: %s", pcap_geterr(d->pcap));
		return TORIDE_EIO;
	}
	int sr = pcap_setfilter(d->pcap, &prog);
	pcap_freecode(&prog);
	if (sr != 0) {
		snprintf(err, errlen, "SYN discovery: capture filter: %s", pcap_geterr(d->pcap));
		return TORIDE_EIO;
	}
	if (pcap_setnonblock(d->pcap, 1, ebuf) != 0 || pcap_get_selectable_fd(d->pcap) < 0) {
		snprintf(err, errlen, "SYN discovery: capture on %s cannot be polled", d->ifname);
		return TORIDE_EIO;
	}
	return 0;
}

/* ------------------------------------------------------------------ new / free */

int
syn_disc_new(struct syn_disc **out, const struct syn_config *cfg, char *err, size_t errlen)
{
	int r;
	struct syn_disc *d = calloc(1, sizeof *d);
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (d == NULL)
		return TORIDE_ENOMEM;
	d->fd4 = d->fd6 = d->pkt_fd = -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->room, NULL);
	d->cfg = *cfg;
	if (d->cfg.probes == 0)
		d->cfg.probes = 1;
	if (d->cfg.probes > SYN_MAX_PROBES || cfg->nports == 0 || cfg->scope == NULL ||
	    (cfg->sport_count > 0 && (unsigned)cfg->sport_base + cfg->sport_count - 1 > 65535) ||
	    (cfg->sport_count > 0 && cfg->sport_base == 0)) {
		snprintf(err, errlen, "SYN discovery: bad configuration (probes 1..%d, ports, source ports)",
		         SYN_MAX_PROBES);
		r = TORIDE_EINVAL;
		goto out;
	}
	if (d->cfg.queue_cap == 0)
		d->cfg.queue_cap = SYN_QUEUE_DEFAULT;
	d->cooldown = cfg->cooldown_ms / 1000.0;
	d->sample_every = fmax(SYN_SAMPLE_MIN, d->cooldown / (SYN_SAMPLES / 4));
	d->ports = malloc(cfg->nports * sizeof *d->ports);
	if (d->ports == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	memcpy(d->ports, cfg->ports, cfg->nports * sizeof *d->ports);
	d->cfg.ports = d->ports;
	for (size_t i = 0; i < cfg->nports; i++)
		d->port_bits[cfg->ports[i] >> 3] |= (uint8_t)(1u << (cfg->ports[i] & 7));
	if (cfg->sport_count > 0) {
		d->sports.base = cfg->sport_base;
		d->sports.count = cfg->sport_count;
	} else {
		default_sports(&d->sports);
	}
	if (sodium_init() < 0) {
		r = TORIDE_EIO;
		goto out;
	}
	synpkt_key_random(&d->key);

	r = toride_order_new(&d->order, cfg->scope, cfg->ports, cfg->nports, cfg->seed, cfg->shard_index,
	                     cfg->shard_count);
	if (r != 0) {
		snprintf(err, errlen, "SYN discovery: probe order: %s", toride_strerror(r));
		goto out;
	}
	d->total = toride_order_total(d->order);
	if ((r = toride_order_seek(d->order, cfg->start_position)) != 0) {
		snprintf(err, errlen, "SYN discovery: resume position %llu is beyond the %llu pairs of this survey",
		         (unsigned long long)cfg->start_position, (unsigned long long)d->total);
		goto out;
	}
	atomic_store(&d->position, cfg->start_position);
	d->checkpoint = cfg->start_position;

	/* Families and source addresses. */
	struct toride_addr first4, first6;
	d->have4 = first_of_family(cfg->scope, 4, &first4);
	d->have6 = first_of_family(cfg->scope, 6, &first6);
	if (d->have4 && (r = open_raw(AF_INET, &d->fd4, err, errlen)) != 0)
		goto out;
	if (d->have6 && (r = open_raw(AF_INET6, &d->fd6, err, errlen)) != 0)
		goto out;
	if (d->have4) {
		if (cfg->source4 != NULL)
			d->src4 = *cfg->source4;
		else if ((r = route_source(&first4, &d->src4, err, errlen)) != 0)
			goto out;
		if (d->src4.family != 4) {
			snprintf(err, errlen, "SYN discovery: the IPv4 source address is not IPv4");
			r = TORIDE_EINVAL;
			goto out;
		}
	}
	if (d->have6) {
		if (cfg->source6 != NULL)
			d->src6 = *cfg->source6;
		else if ((r = route_source(&first6, &d->src6, err, errlen)) != 0)
			goto out;
		if (d->src6.family != 6) {
			snprintf(err, errlen, "SYN discovery: the IPv6 source address is not IPv6");
			r = TORIDE_EINVAL;
			goto out;
		}
	}

	if (d->have4)
		plan_family(d, 4, &first4);
	if (d->have6)
		plan_family(d, 6, &first6);

	/* Capture interface: asked for, or the one holding the source address ("any" when the two
	 * families leave through different interfaces). */
	if (cfg->interface != NULL) {
		snprintf(d->ifname, sizeof d->ifname, "%s", cfg->interface);
	} else {
		char n4[sizeof d->ifname] = "", n6[sizeof d->ifname] = "";
		char as[TORIDE_ADDR_STRLEN];
		if (d->have4 && iface_of(&d->src4, n4, sizeof n4) != 0) {
			toride_addr_format(&d->src4, as, sizeof as);
			snprintf(err, errlen, "SYN discovery: no interface holds the source address %s (use --interface)", as);
			r = TORIDE_EIO;
			goto out;
		}
		if (d->have6 && iface_of(&d->src6, n6, sizeof n6) != 0) {
			toride_addr_format(&d->src6, as, sizeof as);
			snprintf(err, errlen, "SYN discovery: no interface holds the source address %s (use --interface)", as);
			r = TORIDE_EIO;
			goto out;
		}
		if (d->have4 && d->have6 && strcmp(n4, n6) != 0)
			snprintf(d->ifname, sizeof d->ifname, "any");
		else
			snprintf(d->ifname, sizeof d->ifname, "%s", d->have4 ? n4 : n6);
	}
	if ((r = open_capture(d, err, errlen)) != 0)
		goto out;

	d->qcap = SYN_QUEUE_INITIAL;
	d->q = malloc(d->qcap * sizeof *d->q);
	d->set_cap = SYN_SET_INITIAL;
	d->set = calloc(d->set_cap, sizeof *d->set);
	d->set_used = calloc(d->set_cap, sizeof *d->set_used);
	d->pkts = malloc(SYN_BATCH * sizeof *d->pkts);
	d->dsts = calloc(SYN_BATCH, sizeof *d->dsts);
	d->iov = calloc(SYN_BATCH, sizeof *d->iov);
	d->m4 = calloc((size_t)SYN_BATCH * SYN_MAX_PROBES, sizeof *d->m4);
	d->m6 = calloc((size_t)SYN_BATCH * SYN_MAX_PROBES, sizeof *d->m6);
	if (d->q == NULL || d->set == NULL || d->set_used == NULL || d->pkts == NULL || d->dsts == NULL ||
	    d->iov == NULL || d->m4 == NULL || d->m6 == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	d->ip_id = (uint16_t)randombytes_uniform(65536);
	*out = d;
	d = NULL;
	r = 0;
out:
	if (r != 0 && err != NULL && errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "SYN discovery: %s", toride_strerror(r));
	syn_disc_free(d);
	return r;
}

void
syn_disc_free(struct syn_disc *d)
{
	if (d == NULL)
		return;
	syn_disc_stop(d);
	if (d->sender_started)
		pthread_join(d->sender, NULL);
	if (d->receiver_started)
		pthread_join(d->receiver, NULL);
	if (d->pcap != NULL)
		pcap_close(d->pcap);
	if (d->fd4 >= 0)
		close(d->fd4);
	if (d->fd6 >= 0)
		close(d->fd6);
	if (d->pkt_fd >= 0)
		close(d->pkt_fd);
	toride_order_free(d->order);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->room);
	free(d->ports);
	free(d->q);
	free(d->set);
	free(d->set_used);
	free(d->pkts);
	free(d->dsts);
	free(d->iov);
	free(d->m4);
	free(d->m6);
	free(d);
}

void
syn_disc_describe(struct syn_disc *d, char *out, size_t outlen)
{
	char a4[TORIDE_ADDR_STRLEN] = "", a6[TORIDE_ADDR_STRLEN] = "";
	if (d->have4)
		toride_addr_format(&d->src4, a4, sizeof a4);
	if (d->have6)
		toride_addr_format(&d->src6, a6, sizeof a6);
	char paths[2][256] = {"", ""};
	pthread_mutex_lock(&d->mu);
	for (int fi = 0; fi < 2; fi++) {
		const struct syn_family *f = &d->fam[fi];
		const char *fam = fi == 0 ? "IPv4" : "IPv6";
		if (!(fi == 0 ? d->have4 : d->have6))
			continue;
		if (f->path == SYN_PATH_RAW) {
			snprintf(paths[fi], sizeof paths[fi], "; %s probes: raw IP socket (%s)", fam, f->why);
		} else {
			char gw[TORIDE_ADDR_STRLEN] = "";
			const uint8_t *m = f->hop.dst_mac;
			toride_addr_format(&f->hop.gateway, gw, sizeof gw);
			if (f->path == SYN_PATH_PENDING)
				snprintf(paths[fi], sizeof paths[fi],
				         "; %s probes: raw IP socket until the next hop %s resolves, then frames on %s", fam, gw,
				         f->hop.ifname);
			else
				snprintf(paths[fi], sizeof paths[fi],
				         "; %s probes: frames on a packet socket on %s to %02x:%02x:%02x:%02x:%02x:%02x (%s, "
				         "the one next hop for the whole scope)",
				         fam, f->hop.ifname, m[0], m[1], m[2], m[3], m[4], m[5], gw);
		}
	}
	pthread_mutex_unlock(&d->mu);
	snprintf(out, outlen, "capture on %s, source %s%s%s, source ports %u-%u, %u probe%s per pair%s%s", d->ifname,
	         a4, d->have4 && d->have6 ? " and " : "", a6, d->sports.base,
	         (unsigned)d->sports.base + d->sports.count - 1, d->cfg.probes, d->cfg.probes == 1 ? "" : "s",
	         paths[0], paths[1]);
}

/* ------------------------------------------------------------------ checkpoint samples (under mu) */

static void
sample_add(struct syn_disc *d, double t, uint64_t pos)
{
	struct sample *s = &d->samples[d->sample_next];
	*s = (struct sample){.t = t, .pos = pos};
	d->sample_next = (d->sample_next + 1) % SYN_SAMPLES;
	if (d->nsamples < SYN_SAMPLES)
		d->nsamples++;
}

static struct sample *
sample_at(struct syn_disc *d, size_t age)
{
	/* age 0 = newest */
	return &d->samples[(d->sample_next + SYN_SAMPLES - 1 - age) % SYN_SAMPLES];
}

/* Samples whose cool-down has passed by `cutoff` (a time at which every reply that arrived before
 * it has been processed) learn how many hits had been queued by then. */
static void
samples_mature(struct syn_disc *d, double cutoff)
{
	for (size_t age = 0; age < d->nsamples; age++) {
		struct sample *s = sample_at(d, age);
		if (s->matured)
			break; /* older ones matured before */
		if (s->t + d->cooldown <= cutoff) {
			/* This one and every older unmatured one: same count (conservative for older). */
			for (size_t a = age; a < d->nsamples && !sample_at(d, a)->matured; a++) {
				sample_at(d, a)->enq = d->enq_total;
				sample_at(d, a)->matured = true;
			}
			break;
		}
	}
}

/* Pairs sent within the last cool-down (each can add at most one hit to the queue). */
static uint64_t
window_pairs(struct syn_disc *d, double now, uint64_t pos)
{
	uint64_t base = d->cfg.start_position;
	for (size_t age = 0; age < d->nsamples; age++) {
		struct sample *s = sample_at(d, age);
		base = s->pos;
		if (s->t <= now - d->cooldown)
			break;
	}
	return pos > base ? pos - base : 0;
}

/* ------------------------------------------------------------------ sender */

static void
fail(struct syn_disc *d, int err)
{
	pthread_mutex_lock(&d->mu);
	if (d->error == 0)
		d->error = err;
	pthread_mutex_unlock(&d->mu);
	atomic_store(&d->stop, true);
}

static void
send_all(struct syn_disc *d, int fd, struct mmsghdr *m, unsigned n)
{
	unsigned off = 0;
	while (off < n && !atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		int k = sendmmsg(fd, m + off, n - off, 0);
		if (k > 0) {
			off += (unsigned)k;
			atomic_fetch_add_explicit(&d->packets, (uint64_t)k, memory_order_relaxed);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The device queue is full: wait a moment and send the rest (never drop). */
			struct timespec ts = {0, SYN_ENOBUFS_SLEEP_NS};
			nanosleep(&ts, NULL);
			continue;
		}
		/* This one message failed for good (unreachable, filtered): count it, go on. */
		atomic_fetch_add_explicit(&d->send_errors, 1, memory_order_relaxed);
		off++;
	}
}

/* Back-pressure: wait while the queue plus every hit the last cool-down's probes could still
 * bring would not fit under the cap. Returns how many more pairs may be sent now. */
static uint64_t
wait_for_room(struct syn_disc *d)
{
	uint64_t room = 0;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (atomic_load(&d->stop))
			break;
		uint64_t pos = atomic_load_explicit(&d->position, memory_order_relaxed);
		double now = mono_now();
		uint64_t used = d->qlen + window_pairs(d, now, pos);
		if (used < d->cfg.queue_cap) {
			room = d->cfg.queue_cap - used;
			break;
		}
		/* Pausing: record where we stand, so that the window empties one cool-down from now
		 * (without this sample the pairs sent since the last one would count forever). */
		if (d->nsamples == 0 || sample_at(d, 0)->pos < pos) {
			sample_add(d, now, pos);
			d->last_probe = now;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SYN_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->room, &d->mu, &ts);
	}
	pthread_mutex_unlock(&d->mu);
	return room;
}

/* A family waiting for its next hop's MAC has just sent probes through the raw IP socket (which
 * makes the kernel resolve the neighbour): switch to frames once the entry holds a MAC, or stay on
 * the raw path after SYN_NEIGH_WAIT. */
static void
neighbour_wait(struct syn_disc *d, int fi)
{
	struct syn_family *f = &d->fam[fi];
	double now = mono_now();
	if (f->pend_start == 0)
		f->pend_start = f->pend_next = now;
	if (now < f->pend_next)
		return;
	f->pend_next = now + SYN_NEIGH_POLL;
	/* The sender is the only writer of path; describe reads under mu. */
	if (synroute_neighbour(&f->hop) == 0) {
		pthread_mutex_lock(&d->mu);
		family_ready(f);
		pthread_mutex_unlock(&d->mu);
	} else if (now - f->pend_start >= SYN_NEIGH_WAIT) {
		char gw[TORIDE_ADDR_STRLEN];
		toride_addr_format(&f->hop.gateway, gw, sizeof gw);
		pthread_mutex_lock(&d->mu);
		snprintf(f->why, sizeof f->why, "the next hop %s did not resolve within %.0f s", gw, SYN_NEIGH_WAIT);
		f->path = SYN_PATH_RAW;
		pthread_mutex_unlock(&d->mu);
	}
}

static void *
sender_main(void *arg)
{
	struct syn_disc *d = arg;
	unsigned probes = d->cfg.probes;
	unsigned batch = SYN_BATCH;
	if (d->cfg.rate > 0) {
		double b = d->cfg.rate * SYN_PACE_SLICE / probes;
		batch = b < 1 ? 1 : b > SYN_BATCH ? SYN_BATCH : (unsigned)b;
	}
	double next = mono_now(), last_sample = 0;
	bool done = false, first = true;
	pthread_mutex_lock(&d->mu);
	sample_add(d, next, atomic_load(&d->position));
	pthread_mutex_unlock(&d->mu);
	while (!done && !atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		uint64_t room = wait_for_room(d);
		if (atomic_load(&d->stop))
			break;
		unsigned n = 0, n4 = 0, n6 = 0, limit = room < batch ? (unsigned)room : batch;
		/* The path of each family for this whole batch (a pending one may switch after it). */
		bool frame[2] = {d->fam[0].path == SYN_PATH_PACKET, d->fam[1].path == SYN_PATH_PACKET};
		while (n < limit) {
			struct toride_addr a;
			uint16_t port;
			int r = toride_order_next(d->order, &a, &port);
			if (r == 0) {
				done = true;
				break;
			}
			/* The order re-checks the scope; so do we, right before the packet is written:
			 * nothing outside the finalized scope is ever probed. */
			if (r < 0 || !toride_scope_contains(d->cfg.scope, &a)) {
				fail(d, TORIDE_ESCOPE);
				done = true;
				n = n4 = n6 = 0;
				break;
			}
			struct synpkt_probe p;
			const struct toride_addr *src = a.family == 4 ? &d->src4 : &d->src6;
			int fi = a.family == 4 ? 0 : 1;
			uint8_t *ip = d->pkts[n] + SYN_ETH_HLEN;
			socklen_t sl = 0;
			int len;
			if ((a.family == 4 ? !d->have4 : !d->have6) ||
			    synpkt_probe_init(&p, &d->key, &d->sports, src, &a, port) != 0 ||
			    (len = synpkt_build(ip, SYNPKT_MAX_PROBE, &p, d->ip_id++)) < 0 ||
			    (!frame[fi] && toride_addr_to_sockaddr(&a, 0, &d->dsts[n], &sl) != 0)) {
				fail(d, TORIDE_EINVAL);
				done = true;
				n = n4 = n6 = 0;
				break;
			}
			void *name = &d->dsts[n];
			if (frame[fi]) {
				/* A ready frame: Ethernet header in front, addressed to the next hop. */
				memcpy(d->pkts[n], d->fam[fi].eth, SYN_ETH_HLEN);
				d->iov[n] = (struct iovec){.iov_base = d->pkts[n], .iov_len = (size_t)len + SYN_ETH_HLEN};
				name = &d->fam[fi].ll;
				sl = sizeof d->fam[fi].ll;
			} else {
				d->iov[n] = (struct iovec){.iov_base = ip, .iov_len = (size_t)len};
			}
			struct mmsghdr *m = a.family == 4 ? d->m4 : d->m6;
			unsigned *k = a.family == 4 ? &n4 : &n6;
			/* --probes: the same bytes several times, back to back. */
			for (unsigned j = 0; j < probes; j++) {
				m[*k] = (struct mmsghdr){.msg_hdr = {.msg_name = name, .msg_namelen = sl,
				                                     .msg_iov = &d->iov[n], .msg_iovlen = 1}};
				(*k)++;
			}
			n++;
		}
		if (n > 0 && d->cfg.rate > 0) {
			double now = mono_now();
			if (next < now - SYN_PACE_SLACK)
				next = now - SYN_PACE_SLACK; /* fell behind (a pause): do not burst */
			if (next > now)
				sleep_until(next);
			next += (double)(n * probes) / d->cfg.rate;
		}
		if (n > 0 && first) {
			first = false;
			pthread_mutex_lock(&d->mu);
			d->first_probe = mono_now();
			pthread_mutex_unlock(&d->mu);
		}
		if (n4 > 0)
			send_all(d, frame[0] ? d->pkt_fd : d->fd4, d->m4, n4);
		if (n6 > 0)
			send_all(d, frame[1] ? d->pkt_fd : d->fd6, d->m6, n6);
		if (n4 > 0 && d->fam[0].path == SYN_PATH_PENDING)
			neighbour_wait(d, 0);
		if (n6 > 0 && d->fam[1].path == SYN_PATH_PENDING)
			neighbour_wait(d, 1);
		if (atomic_load(&d->stop))
			break;
		uint64_t pos = toride_order_position(d->order);
		atomic_store(&d->position, pos);
		double now = mono_now();
		if (done || now - last_sample >= d->sample_every) {
			last_sample = now;
			pthread_mutex_lock(&d->mu);
			sample_add(d, now, pos);
			d->last_probe = now;
			pthread_mutex_unlock(&d->mu);
		}
	}
	pthread_mutex_lock(&d->mu);
	d->sending_done = true;
	d->last_probe = mono_now();
	if (d->first_probe == 0)
		d->first_probe = d->last_probe;
	sample_add(d, d->last_probe, atomic_load(&d->position));
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ------------------------------------------------------------------ receiver */

static uint64_t
hit_hash(const struct syn_hit *h)
{
	uint64_t x = 1469598103934665603ull;
	for (size_t i = 0; i < 16; i++)
		x = (x ^ h->addr.b[i]) * 1099511628211ull;
	x = (x ^ h->addr.family) * 1099511628211ull;
	x = (x ^ h->port) * 1099511628211ull;
	return x ^ (x >> 29);
}

static bool
hit_eq(const struct syn_hit *a, const struct syn_hit *b)
{
	return a->port == b->port && a->addr.family == b->addr.family && memcmp(a->addr.b, b->addr.b, 16) == 0;
}

static bool
set_put_nogrow(struct syn_hit *set, bool *used, size_t cap, const struct syn_hit *h)
{
	size_t i = hit_hash(h) & (cap - 1);
	while (used[i]) {
		if (hit_eq(&set[i], h))
			return false;
		i = (i + 1) & (cap - 1);
	}
	used[i] = true;
	set[i] = *h;
	return true;
}

/* Insert; false if the pair was there already. On allocation failure the set stays as it is and
 * the hit counts as new (a duplicate check may repeat; a hit is never lost). */
static bool
set_insert(struct syn_disc *d, const struct syn_hit *h)
{
	if ((d->set_len + 1) * 2 > d->set_cap) {
		size_t ncap = d->set_cap * 2;
		struct syn_hit *ns = calloc(ncap, sizeof *ns);
		bool *nu = calloc(ncap, sizeof *nu);
		if (ns != NULL && nu != NULL) {
			for (size_t i = 0; i < d->set_cap; i++)
				if (d->set_used[i])
					set_put_nogrow(ns, nu, ncap, &d->set[i]);
			free(d->set);
			free(d->set_used);
			d->set = ns;
			d->set_used = nu;
			d->set_cap = ncap;
		} else {
			free(ns);
			free(nu);
			if (d->set_len + 1 >= d->set_cap)
				return true;
		}
	}
	if (!set_put_nogrow(d->set, d->set_used, d->set_cap, h))
		return false;
	d->set_len++;
	return true;
}

/* Append to the queue (under mu), growing the ring when full. */
static void
queue_push(struct syn_disc *d, const struct syn_hit *h)
{
	if (d->qlen == d->qcap) {
		size_t ncap = d->qcap * 2;
		struct syn_hit *nq = malloc(ncap * sizeof *nq);
		if (nq == NULL) {
			d->error = d->error ? d->error : TORIDE_ENOMEM;
			atomic_store(&d->stop, true);
			return;
		}
		for (size_t i = 0; i < d->qlen; i++)
			nq[i] = d->q[(d->qhead + i) & (d->qcap - 1)];
		free(d->q);
		d->q = nq;
		d->qcap = ncap;
		d->qhead = 0;
	}
	d->q[(d->qhead + d->qlen) & (d->qcap - 1)] = *h;
	d->qlen++;
	d->enq_total++;
}

static void
rx_packet(u_char *arg, const struct pcap_pkthdr *hdr, const u_char *bytes)
{
	struct syn_disc *d = (struct syn_disc *)arg;
	struct synpkt_reply r;
	if (synpkt_parse(bytes, hdr->caplen, d->link, &r) != 0) {
		atomic_fetch_add_explicit(&d->not_ours, 1, memory_order_relaxed);
		return;
	}
	enum synpkt_kind k = synpkt_classify(&d->key, &d->sports, &r);
	/* The keyed check says we probed (r.src, r.sport); the scope and the port list say we were
	 * allowed to: a stray or forged packet never creates a target. */
	if (k == SYNPKT_NOT_OURS || !toride_scope_contains(d->cfg.scope, &r.src) ||
	    !(d->port_bits[r.sport >> 3] & (1u << (r.sport & 7)))) {
		atomic_fetch_add_explicit(&d->not_ours, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&d->replies, 1, memory_order_relaxed);
	if (k == SYNPKT_CLOSED) {
		atomic_fetch_add_explicit(&d->closed, 1, memory_order_relaxed);
		return;
	}
	struct syn_hit h;
	memset(&h, 0, sizeof h);
	h.addr = r.src;
	h.port = r.sport;
	if (!set_insert(d, &h)) {
		atomic_fetch_add_explicit(&d->duplicates, 1, memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&d->mu);
	queue_push(d, &h);
	pthread_mutex_unlock(&d->mu);
	atomic_fetch_add_explicit(&d->open, 1, memory_order_relaxed);
	d->rx_new = true;
}

static void
rx_drops(struct syn_disc *d)
{
	struct pcap_stat ps;
	if (pcap_stats(d->pcap, &ps) == 0)
		atomic_store(&d->kernel_drops, (uint64_t)ps.ps_drop);
}

/* Read every frame waiting in the capture ring. */
static void
rx_drain(struct syn_disc *d)
{
	for (;;) {
		int n = pcap_dispatch(d->pcap, -1, rx_packet, (u_char *)d);
		if (n <= 0)
			break;
	}
	if (d->rx_new) {
		d->rx_new = false;
		if (d->cfg.notify != NULL)
			d->cfg.notify(d->cfg.notify_arg);
	}
}

static void *
receiver_main(void *arg)
{
	struct syn_disc *d = arg;
	struct pollfd pfd = {.fd = pcap_get_selectable_fd(d->pcap), .events = POLLIN};
	double last_stats = mono_now();
	while (!atomic_load(&d->stop)) {
		(void)poll(&pfd, 1, SYN_POLL_MS);
		/* Every reply that arrived before `cutoff` sits in a retired block by now. */
		double cutoff = mono_now() - SYN_RX_LATENCY;
		rx_drain(d);
		pthread_mutex_lock(&d->mu);
		samples_mature(d, cutoff);
		bool finished = d->sending_done && cutoff >= d->last_probe + d->cooldown;
		if (finished)
			d->finished = true;
		pthread_mutex_unlock(&d->mu);
		if (cutoff - last_stats >= 1.0) {
			last_stats = cutoff;
			rx_drops(d);
		}
		if (finished)
			break;
	}
	rx_drops(d);
	pthread_mutex_lock(&d->mu);
	if (atomic_load(&d->stop))
		d->finished = true; /* stopped: no more hits will come either */
	pthread_mutex_unlock(&d->mu);
	/* Wake the loop: it ends the survey (or the stop) when discovery is finished. */
	if (d->cfg.notify != NULL)
		d->cfg.notify(d->cfg.notify_arg);
	return NULL;
}

/* ------------------------------------------------------------------ loop-side calls */

int
syn_disc_start(struct syn_disc *d)
{
	if (d->receiver_started || d->sender_started)
		return TORIDE_ESTATE;
	if (pthread_create(&d->receiver, NULL, receiver_main, d) != 0)
		return TORIDE_EIO;
	d->receiver_started = true;
	if (pthread_create(&d->sender, NULL, sender_main, d) != 0) {
		atomic_store(&d->stop, true);
		return TORIDE_EIO;
	}
	d->sender_started = true;
	return 0;
}

size_t
syn_disc_pop(struct syn_disc *d, struct syn_hit *out, size_t max)
{
	size_t k = 0;
	pthread_mutex_lock(&d->mu);
	while (k < max && d->qlen > 0) {
		out[k++] = d->q[d->qhead];
		d->qhead = (d->qhead + 1) & (d->qcap - 1);
		d->qlen--;
	}
	d->popped_total += k;
	if (k > 0)
		pthread_cond_signal(&d->room);
	pthread_mutex_unlock(&d->mu);
	return k;
}

void
syn_disc_stats(struct syn_disc *d, struct syn_stats *st)
{
	memset(st, 0, sizeof *st);
	st->total = d->total;
	st->position = atomic_load(&d->position);
	st->packets = atomic_load(&d->packets);
	st->replies = atomic_load(&d->replies);
	st->open = atomic_load(&d->open);
	st->closed = atomic_load(&d->closed);
	st->duplicates = atomic_load(&d->duplicates);
	st->not_ours = atomic_load(&d->not_ours);
	st->kernel_drops = atomic_load(&d->kernel_drops);
	st->send_errors = atomic_load(&d->send_errors);
	pthread_mutex_lock(&d->mu);
	st->queued = d->qlen;
	st->sending_done = d->sending_done;
	st->finished = d->finished;
	st->error = d->error;
	st->send_seconds = d->first_probe > 0 ? d->last_probe - d->first_probe : 0;
	pthread_mutex_unlock(&d->mu);
}

uint64_t
syn_disc_checkpoint(struct syn_disc *d)
{
	pthread_mutex_lock(&d->mu);
	/* Newest matured sample whose hits have all been popped. */
	for (size_t age = 0; age < d->nsamples; age++) {
		struct sample *s = sample_at(d, age);
		if (s->matured && s->enq <= d->popped_total) {
			if (s->pos > d->checkpoint)
				d->checkpoint = s->pos;
			break;
		}
	}
	uint64_t p = d->checkpoint;
	pthread_mutex_unlock(&d->mu);
	return p;
}

void
syn_disc_stop(struct syn_disc *d)
{
	if (d == NULL)
		return;
	atomic_store(&d->stop, true);
	pthread_mutex_lock(&d->mu);
	pthread_cond_broadcast(&d->room);
	pthread_mutex_unlock(&d->mu);
}
