/*
 * Mirai (and variants that keep its scanner/loader dialogue). Facts: the released source
 * (github.com/jgamblin/Mirai-Source-Code, GPL-3.0), summarised in
 * data/credentials/mirai_telnet_sequences.tsv and mirai_table_strings.tsv. See README.md.
 */

rule mirai_scanner_session
{
	meta:
		family = "mirai"
		target = "session"
		description = "Mirai bot scanner: the '/bin/busybox MIRAI' shell check after enable/system/shell/sh (scanner.c, TABLE_SCAN_QUERY)"
	strings:
		$query = "/bin/busybox MIRAI"
	condition:
		$query
}

rule mirai_loader_session
{
	meta:
		family = "mirai"
		target = "session"
		description = "Mirai loader: '/bin/busybox ECCHI' prompt token with its .nippon write test, dvrHelper/upnp droppers or the IHCCE run token (loader/src/connection.c, includes.h)"
	strings:
		$token = "/bin/busybox ECCHI"
		$nippon = "/.nippon"
		$binary = "dvrHelper"
		$run = "/bin/busybox IHCCE"
	condition:
		$token and 1 of ($nippon, $binary, $run)
}

rule mirai_variant_session
{
	meta:
		family = "mirai"
		target = "session"
		description = "Mirai-derived scanner or loader with a renamed token: repeated '/bin/busybox WORD' probes with an upper-case non-applet name (the 'applet not found' test of scanner.c/connection.c), without the original tokens"
	strings:
		$probe = /\/bin\/busybox [A-Z][A-Z0-9]{3,15}([ ;\r\n\\]|$)/
		$mirai = "/bin/busybox MIRAI"
		$ecchi = "/bin/busybox ECCHI"
	condition:
		#probe >= 2 and not $mirai and not $ecchi
}

rule mirai_table_xor22
{
	meta:
		family = "mirai"
		target = "sample"
		description = "Mirai bot binary: its configuration table and credential list as stored, every byte XOR 0x22 (table.c, scanner.c add_auth_entry)"
	strings:
		// "/bin/busybox MIRAI\0"
		$scan_query = { 0D 40 4B 4C 0D 40 57 51 5B 40 4D 5A 02 6F 6B 70 63 6B 22 }
		// "MIRAI: applet not found\0"
		$scan_resp = { 6F 6B 70 63 6B 18 02 43 52 52 4E 47 56 02 4C 4D 56 02 44 4D 57 4C 46 22 }
		// "ncorrect\0"
		$scan_ncorrect = { 4C 41 4D 50 50 47 41 56 22 }
		// "/bin/busybox kill -9 \0"
		$scan_kill = { 0D 40 4B 4C 0D 40 57 51 5B 40 4D 5A 02 49 4B 4E 4E 02 0F 1B 02 22 }
		// "listening tun0\0"
		$exec_success = { 4E 4B 51 56 47 4C 4B 4C 45 02 56 57 4C 12 22 }
		// "https://youtu.be/dQw4w9WgXcQ\0" (killer's safe string)
		$killer_safe = { 4A 56 56 52 51 18 0D 0D 5B 4D 57 56 57 0C 40 47 0D 46 73 55 16 55 1B 75 45 7A 41 73 22 }
		// "TSource Engine Query\0" (VSE attack vector payload)
		$atk_vse = { 76 71 4D 57 50 41 47 02 67 4C 45 4B 4C 47 02 73 57 47 50 5B 22 }
		// "LOLNOGTFO\0" (killer's memory scan for QBOT)
		$mem_qbot3 = { 6E 6D 6E 6C 6D 65 76 64 6D 22 }
		// scanner credentials "xc3511", "vizxv", "7ujMko0admin" (no terminator: lengths are passed)
		$cred_xc3511 = { 5A 41 11 17 13 13 }
		$cred_vizxv = { 54 4B 58 5A 54 }
		$cred_7ujmko0admin = { 15 57 48 6F 49 4D 12 43 46 4F 4B 4C }
	condition:
		uint32(0) == 0x464c457f and 3 of them
}
