/*
 * A realistic survey as JSON Lines, shared by test_store.c and test_report.c: a lab scan of
 * 10.77.1.0/24 with Mirai's credential table. One DVR accepts root/xc3511 over telnet (a Mirai
 * pair), a camera's HTTP admin accepts admin/admin, an MQTT broker needs no login, an SSH server
 * refuses everything, and one hostile banner tries markup, formula and terminal injection.
 * Addresses are documentation/lab data, never contacted.
 */
#ifndef TORIDE_TEST_EVENTS_FIXTURE_H
#define TORIDE_TEST_EVENTS_FIXTURE_H

#define FIX_SURVEY "s-20261122T001243Z-4f2a"

static const char *const fixture_events[] = {
	"{\"type\":\"survey\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:43.123Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"status\":\"started\",\"params\":{\"scope\":[\"10.77.1.0/24\"],\"ports\":[23,2323,22,80,1883],\"seed\":\"7f3c9a\","
	"\"shard\":\"1/1\",\"rate\":500,\"creds\":\"mirai\"}}",
	/* telnet DVR: open, banner, fingerprint, rejected then accepted Mirai pair, R2 fail */
	"{\"type\":\"observation\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:44.001Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.5\",\"port\":23,\"proto\":null,\"kind\":\"open\",\"data\":{}}",
	"{\"type\":\"observation\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:44.210Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.5\",\"port\":23,\"proto\":\"telnet\",\"kind\":\"service\",\"data\":{\"banner\":\"\\\\xff\\\\xfb\\\\x01\\\\r\\\\n(none) login: \"}}",
	"{\"type\":\"observation\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:44.220Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.5\",\"port\":23,\"proto\":\"telnet\",\"kind\":\"fingerprint\",\"data\":{\"vendor\":\"Dahua\","
	"\"product\":\"DVR\",\"type\":\"DVR\",\"source\":\"recog:telnet_banners\"}}",
	"{\"type\":\"observation\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:45.002Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.5\",\"port\":23,\"proto\":\"telnet\",\"kind\":\"login_attempt\",\"data\":{\"user\":\"root\","
	"\"password\":\"vizxv\",\"result\":\"rejected\",\"detail\":\"Login incorrect\"}}",
	"{\"type\":\"observation\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:46.117Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.5\",\"port\":23,\"proto\":\"telnet\",\"kind\":\"login_attempt\",\"data\":{\"user\":\"root\","
	"\"password\":\"xc3511\",\"result\":\"accepted\",\"detail\":\"shell prompt, marker echoed\"}}",
	"{\"type\":\"finding\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:46.301Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.5\",\"port\":23,\"proto\":\"telnet\",\"requirement\":\"JP-34-10-2\",\"verdict\":\"fail\","
	"\"proof\":\"strong\",\"summary\":\"telnet login accepted with Mirai default root/xc3511\","
	"\"credential\":{\"user\":\"root\",\"password\":\"xc3511\"},\"device\":{\"vendor\":\"\",\"product\":\"\",\"type\":\"\"},"
	"\"evidence\":{\"transcript\":\"(none) login: root\\\\r\\\\nPassword: \\\\r\\\\n# echo toride-7f3c9a\\\\r\\\\ntoride-7f3c9a\\\\r\\\\n# exit\\\\r\\\\n\","
	"\"started\":\"2026-11-22T00:12:45.990Z\",\"ended\":\"2026-11-22T00:12:46.300Z\",\"marker\":\"toride-7f3c9a\","
	"\"note\":\"logged out after the marker\"}}",
	"{\"type\":\"probe_done\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:46.310Z\",\"addr\":\"10.77.1.5\",\"port\":23,\"state\":\"open\"}",
	/* HTTP camera with admin/admin: R2 fail, weak proof first, then strong */
	"{\"type\":\"finding\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:47.000Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.10\",\"port\":80,\"proto\":\"http\",\"requirement\":\"JP-34-10-2\",\"verdict\":\"unknown\","
	"\"proof\":\"none\",\"summary\":\"HTTP Basic realm found, not yet tested\"}",
	"{\"type\":\"finding\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:47.512Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.10\",\"port\":80,\"proto\":\"http\",\"requirement\":\"JP-34-10-2\",\"verdict\":\"fail\","
	"\"proof\":\"strong\",\"summary\":\"HTTP Basic admin page with admin/admin\",\"credential\":{\"user\":\"admin\",\"password\":\"admin\"},"
	"\"device\":{\"vendor\":\"Hikvision\",\"product\":\"DS-2CD2032\",\"type\":\"IP camera\"},"
	"\"evidence\":{\"transcript\":\"GET / HTTP/1.1\\\\r\\\\nAuthorization: Basic YWRtaW46YWRtaW4=\\\\r\\\\n\\\\r\\\\nHTTP/1.1 200 OK\\\\r\\\\n\","
	"\"started\":\"2026-11-22T00:12:47.400Z\",\"ended\":\"2026-11-22T00:12:47.510Z\"}}",
	"{\"type\":\"probe_done\",\"survey\":\"" FIX_SURVEY "\",\"addr\":\"10.77.1.10\",\"port\":80,\"state\":\"open\"}",
	/* MQTT broker without authentication: R1 fail */
	"{\"type\":\"finding\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:48.000Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.9\",\"port\":1883,\"proto\":\"mqtt\",\"requirement\":\"JP-34-10-1\",\"verdict\":\"fail\","
	"\"proof\":\"strong\",\"summary\":\"MQTT CONNECT without username accepted (CONNACK 0)\","
	"\"evidence\":{\"transcript\":\"\\\\x10\\\\x0c\\\\x00\\\\x04MQTT\\\\x04\\\\x02\\\\x00<\\\\x00\\\\x00 \\\\x02\\\\x00\\\\x00\","
	"\"started\":\"2026-11-22T00:12:47.950Z\",\"ended\":\"2026-11-22T00:12:47.990Z\"}}",
	"{\"type\":\"probe_done\",\"survey\":\"" FIX_SURVEY "\",\"addr\":\"10.77.1.9\",\"port\":1883,\"state\":\"open\"}",
	/* SSH refuses the list: R2 pass */
	"{\"type\":\"finding\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:50.000Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.7\",\"port\":22,\"proto\":\"ssh\",\"requirement\":\"JP-34-10-2\",\"verdict\":\"pass\","
	"\"proof\":\"weak\",\"summary\":\"62 Mirai pairs rejected\",\"device\":{\"vendor\":\"OpenBSD\",\"product\":\"OpenSSH\",\"type\":\"\"}}",
	"{\"type\":\"probe_done\",\"survey\":\"" FIX_SURVEY "\",\"addr\":\"10.77.1.7\",\"port\":22,\"state\":\"open\"}",
	/* hostile device: markup, formula and terminal escapes in what it sent us */
	"{\"type\":\"finding\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:12:51.000Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"addr\":\"10.77.1.66\",\"port\":2323,\"proto\":\"telnet\",\"requirement\":\"JP-34-10-2\",\"verdict\":\"fail\","
	"\"proof\":\"weak\",\"summary\":\"=HYPERLINK(\\\"http://x\\\"), \\\"quoted\\\"\\u001b[2J\","
	"\"credential\":{\"user\":\"@admin\",\"password\":\"-1+1\"},"
	"\"device\":{\"vendor\":\"<b>Evil</b>\",\"product\":\"x\",\"type\":\"router\"},"
	"\"evidence\":{\"transcript\":\"<script>alert(1)</script>\\\\r\\\\n# \","
	"\"started\":\"2026-11-22T00:12:50.900Z\",\"ended\":\"2026-11-22T00:12:51.000Z\"}}",
	"{\"type\":\"probe_done\",\"survey\":\"" FIX_SURVEY "\",\"addr\":\"10.77.1.66\",\"port\":2323,\"state\":\"open\"}",
	"{\"type\":\"probe_done\",\"survey\":\"" FIX_SURVEY "\",\"addr\":\"10.77.1.6\",\"port\":23,\"state\":\"closed\"}",
	"{\"type\":\"probe_done\",\"survey\":\"" FIX_SURVEY "\",\"addr\":\"10.77.1.8\",\"port\":23,\"state\":\"timeout\"}",
	"{\"type\":\"survey\",\"survey\":\"" FIX_SURVEY "\",\"time\":\"2026-11-22T00:13:02.777Z\",\"sensor\":\"lab1 toride/0.1.0\","
	"\"status\":\"finished\",\"counts\":{\"probes\":8,\"open\":5,\"findings\":5}}",
};

#define FIXTURE_COUNT (sizeof fixture_events / sizeof fixture_events[0])

#endif
