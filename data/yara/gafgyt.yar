/*
 * Gafgyt / BASHLITE / Qbot. Facts: the strings Mirai's own killer uses to recognise Qbot in
 * memory (mirai/bot/table.c TABLE_MEM_QBOT*, TABLE_MEM_REMAITEN), public analyses of the leaked
 * BASHLITE source, and the classic telnet "infection line" of its scanners. See README.md.
 */

rule gafgyt_dropper_session
{
	meta:
		family = "gafgyt"
		target = "session"
		description = "Gafgyt/BASHLITE scanner infection line: 'cd /tmp || cd /var/run ...' then bins.sh over wget, tftp1.sh/tftp2.sh over tftp, ftp1.sh over ftpget"
	strings:
		$cd_chain = /cd \/tmp *\|\| *cd \/var\/run/
		$bins = /\/bins\.sh([ ;\r\n\\]|$)/
		$tftp1 = "tftp1.sh"
		$tftp2 = "tftp2.sh"
		$ftp1 = "ftp1.sh"
	condition:
		$cd_chain and 1 of ($bins, $tftp1, $tftp2, $ftp1)
}

rule gafgyt_commands_sample
{
	meta:
		family = "gafgyt"
		target = "sample"
		description = "Gafgyt/BASHLITE bot binary: its C&C protocol keywords in plain text (PONG!, GETLOCALIP, HTTPFLOOD, LOLNOGTFO, KILLATTK, REPORT %s:%s, gayfgt)"
	strings:
		$pong = "PONG!" fullword
		$localip = "GETLOCALIP" fullword
		$httpflood = "HTTPFLOOD" fullword
		$lolnogtfo = "LOLNOGTFO" fullword
		$killattk = "KILLATTK" fullword
		$report = "REPORT %s:%s"
		$gayfgt = "gayfgt"
	condition:
		uint32(0) == 0x464c457f and 3 of them
}
