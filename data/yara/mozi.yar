/*
 * Mozi. Facts: 360 Netlab, "Mozi, Another Botnet Using DHT" (Dec 2019): a DHT-based P2P bot that
 * joins the BitTorrent DHT through the public bootstrap nodes and carries a configuration of
 * bracketed tags; infected nodes serve the payload files Mozi.m / Mozi.a (maltrail lists
 * /Mozi.a../Mozi.j). Real samples are UPX-packed: the sample rule matches unpacked binaries.
 * See README.md.
 */

rule mozi_download_session
{
	meta:
		family = "mozi"
		target = "session"
		description = "Download of a Mozi payload file (Mozi.m, Mozi.a, ...) in a session"
	strings:
		$file = /\/Mozi\.[a-z]([ ;\r\n\\]|$)/
	condition:
		$file
}

rule mozi_dht_config_sample
{
	meta:
		family = "mozi"
		target = "sample"
		description = "Mozi bot binary (unpacked): BitTorrent DHT bootstrap nodes together with Mozi's bracketed configuration tags"
	strings:
		$dht1 = "dht.transmissionbt.com"
		$dht2 = "router.bittorrent.com"
		$dht3 = "router.utorrent.com"
		$dht4 = "bttracker.debian.org"
		$tag_ss = "[ss]"
		$tag_hp = "[hp]"
		$tag_cpu = "[cpu]"
		$tag_nd = "[nd]"
		$tag_ud = "[ud]"
		$tag_dr = "[dr]"
		$tag_rn = "[rn]"
		$tag_dip = "[dip]"
	condition:
		uint32(0) == 0x464c457f and 2 of ($dht*) and 4 of ($tag_*)
}
