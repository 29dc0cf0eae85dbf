/*
 * Where SYN probe frames can go without the kernel's per-packet routing (survey/syn.c's packet
 * socket path): the one next hop that the routing tables give for every address of a scope, its
 * interface and MAC addresses, asked of the kernel over rtnetlink. When there is no single such next
 * hop (local or on-link targets, several routes, policy rules with selectors, multipath, a
 * non-Ethernet interface), the caller sends through raw IP sockets and the kernel routes each packet.
 *
 * Only reads kernel state (route, rule, link and neighbour tables); sends nothing on the network.
 */
#ifndef TORIDE_SURVEY_SYNROUTE_H
#define TORIDE_SURVEY_SYNROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/scope.h"

#define SYNROUTE_ETH_ALEN 6

struct synroute_hop {
	int family;                        /* 4 or 6 */
	int ifindex;                       /* interface the frames leave through */
	char ifname[IF_NAMESIZE];
	struct toride_addr gateway;        /* the neighbour whose MAC frames carry */
	uint8_t src_mac[SYNROUTE_ETH_ALEN];
	uint8_t dst_mac[SYNROUTE_ETH_ALEN];
	bool mac_known;                    /* dst_mac is valid */
};

/* Find the single next hop for every address of `family` in the finalized scope, starting from the
 * route towards `first` (an in-scope address of that family). Returns 0 with hop filled (for a
 * gateway, hop->mac_known says whether the neighbour entry already had a usable MAC; if not, the
 * caller makes the kernel resolve it and asks synroute_neighbour() again); TORIDE_EUNSUPPORTED
 * when frames cannot be addressed that way, with the reason in why (then use raw IP sockets);
 * TORIDE_EIO when rtnetlink fails (reason in why). */
int synroute_plan(const struct toride_scope *scope, int family, const struct toride_addr *first,
                  struct synroute_hop *hop, char *why, size_t whylen);

/* Read the neighbour entry of hop->gateway on hop->ifindex. Returns 0 and sets hop->dst_mac and
 * hop->mac_known when the entry holds a usable link-layer address (REACHABLE, STALE, DELAY, PROBE,
 * PERMANENT, NOARP); TORIDE_ENOTFOUND when there is none yet (or it FAILED); TORIDE_EIO on error. */
int synroute_neighbour(struct synroute_hop *hop);

#endif
