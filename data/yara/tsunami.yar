/*
 * Tsunami / Kaiten: an IRC bot whose source (kaiten.c) has circulated since the early 2000s. Its
 * commands and help text are plain strings sent as IRC NOTICEs. Droppers for it are generic shell
 * scripts, so there is no session rule. See README.md.
 */

rule tsunami_irc_commands_sample
{
	meta:
		family = "tsunami"
		target = "sample"
		description = "Tsunami/Kaiten bot binary: IRC 'NOTICE %s :' replies with its command names (TSUNAMI, GETSPOOFS, SPOOFS, KILLALL)"
	strings:
		$notice = "NOTICE %s :"
		$tsunami = "TSUNAMI" fullword
		$getspoofs = "GETSPOOFS" fullword
		$spoofs = "SPOOFS" fullword
		$killall = "KILLALL" fullword
	condition:
		uint32(0) == 0x464c457f and $notice and 3 of ($tsunami, $getspoofs, $spoofs, $killall)
}
