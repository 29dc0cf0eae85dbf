/*
 * Hajime. Facts: Rapidity Networks' analysis (Oct 2016) and Kaspersky (Securelist, Apr 2017):
 * the loader reuses Mirai's '/bin/busybox ECCHI' prompt token, then writes a small first stage
 * '.s' with echo and runs it to pull the main binary '.i'; Symantec (Apr 2017) quotes the message
 * the bot prints on the terminal. See README.md.
 */

rule hajime_loader_session
{
	meta:
		family = "hajime"
		target = "session"
		description = "Hajime loader: Mirai's ECCHI token, then the first stage './.s' run (it fetches '.i')"
	strings:
		$token = "/bin/busybox ECCHI"
		$stage1 = /\.\/\.s([ ;>&|\r\n\\]|$)/
	condition:
		$token and $stage1
}

rule hajime_message_sample
{
	meta:
		family = "hajime"
		target = "sample"
		description = "Hajime bot binary: the 'white hat' message it prints on the infected device's terminal"
	strings:
		$white_hat = "Just a white hat, securing some systems."
		$author = "Hajime Author."
		$sharp = "Stay sharp!"
	condition:
		uint32(0) == 0x464c457f and $white_hat and 1 of ($author, $sharp)
}
