/*
 * Hide 'N Seek (HNS). Public descriptions (Bitdefender, Jan and May 2018; press accounts of them)
 * give no distinctive string that the bot types: they document a telnet dictionary attack and
 * that every infected device serves the payload itself from a random port. The rule keys on that
 * documented behaviour, so it is weak (confidence low). See README.md.
 */

rule hide_and_seek_peer_download_session
{
	meta:
		family = "hide-and-seek"
		target = "session"
		confidence = "low"
		description = "Payload fetched by wget or tftp from an IPv4 literal on a random high port (an HNS peer serving itself), with none of the Mirai tokens or Mozi file names"
	strings:
		$wget_peer = /wget [^\r\n;]{0,40}http:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}:[1-6][0-9]{4}\//
		$tftp_peer = /tftp [^\r\n;]{0,60}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3} [1-6][0-9]{4}([ ;\r\n\\]|$)/
		$mirai = "/bin/busybox MIRAI"
		$ecchi = "/bin/busybox ECCHI"
		$mozi = /\/Mozi\.[a-z]([ ;\r\n\\]|$)/
	condition:
		1 of ($wget_peer, $tftp_peer) and not $mirai and not $ecchi and not $mozi
}
