#!/usr/bin/env bash
# The conform report rendered by a real browser: each sample result document (tests/data/conform/)
# becomes HTML and PDF (`toride conform report` when the CLI has it, else the unit test's renderer
# mode), then headless Chromium
#   - prints the PDF (conform_report_pdf): a real PDF with several A4 pages;
#   - dumps the DOM (--dump-dom): every requirement row with its verdict, no <script> element;
#   - opens the page over the DevTools protocol (conform_report/cdp_check.py): no box wider than the
#     page at 1280 px and at A4 print width, Japanese drawn with a CJK font, a non-blank screenshot.
# No network: file:// pages only, Chromium with name resolution and background networking off.
# TORIDE_UPDATE_DOCS=1 also saves the failing device's screenshot as docs/conform-report.png.
# Chromium is required (scripts/deps.sh installs it): without it the test fails, it does not skip.
set -euo pipefail

SRC=${TORIDE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${TORIDE_BUILD_DIR:-$SRC/build}
TORIDE=${TORIDE_BIN:-$BUILD/toride}
DRIVER=$BUILD/tests/test_conform_report
DATA=$SRC/tests/data/conform
CDP=$SRC/tests/integration/conform_report/cdp_check.py

fail() { echo "FAIL: $*" >&2; exit 1; }

CHROMIUM=${TORIDE_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || fail "chromium is not installed (scripts/deps.sh installs the Debian package chromium and fonts-noto-cjk)"
command -v python3 >/dev/null || fail "python3 is not installed"
fc-list :lang=ja 2>/dev/null | grep -q . || fail "no Japanese font (install fonts-noto-cjk, see scripts/deps.sh)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/toride-report-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# How to render: the CLI when it has the report subcommand, else the unit test binary's --render.
if "$TORIDE" conform report --help 2>&1 | grep -q -- '--html'; then
	if "$TORIDE" conform report --help 2>&1 | grep -q -- '--result'; then
		render() { "$TORIDE" conform report --result "$1" --html "$2" --pdf "$3"; }
	else
		render() { "$TORIDE" conform report "$1" --html "$2" --pdf "$3"; }
	fi
	echo "rendering with: $TORIDE conform report"
else
	[ -x "$DRIVER" ] || fail "neither 'toride conform report' nor $DRIVER is available (build the tests)"
	render() { "$DRIVER" --render "$1" "$2" "$3"; }
	echo "rendering with: $DRIVER --render (toride conform report not available)"
fi

SANDBOX=()
# Chromium refuses its sandbox as root; the pages are our own local files.
[ "$(id -u)" -ne 0 ] || SANDBOX=(--no-sandbox)

dump_dom() {
	timeout 60 "$CHROMIUM" --headless=new "${SANDBOX[@]}" --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --disable-extensions \
		--host-resolver-rules='MAP * ~NOTFOUND' --proxy-server=127.0.0.1:9 \
		--user-data-dir="$WORK/profile-dom" --dump-dom "file://$1" 2>"$WORK/dom.log"
}

# sample  overall  JP-34-10-1 JP-34-10-2 JP-34-10-3 JP-34-10-4 TORIDE-BRUTE
CASES=(
	"busybox-telnetd-fail fail pass fail unknown unknown fail"
	"deviced-pass pass pass pass pass pass pass"
	"hostile-types fail pass none none unknown na"
)
# Real result documents written by `toride conform run` join the samples when present:
# real-<name>-<overall>.json with the expected row verdicts in real-<name>-<overall>.expect.
for f in "$DATA"/real-*.expect; do
	[ -e "$f" ] || continue
	CASES+=("$(basename "$f" .expect) $(cat "$f")")
done
REQS=(JP-34-10-1 JP-34-10-2 JP-34-10-3 JP-34-10-4 TORIDE-BRUTE)

for c in "${CASES[@]}"; do
	read -r name overall v1 v2 v3 v4 v5 <<<"$c"
	verdicts=("$v1" "$v2" "$v3" "$v4" "$v5")
	html=$WORK/$name.html pdf=$WORK/$name.pdf
	echo "== $name (expected overall: $overall)"
	t0=$(date +%s)
	render "$DATA/$name.json" "$html" "$pdf" || fail "$name: rendering failed"

	# PDF: a real PDF of A4 pages, more than one page (each check starts its own).
	[ "$(head -c 5 "$pdf")" = "%PDF-" ] || fail "$name: $pdf is not a PDF"
	pages=$(grep -aoE '/Type ?/Page([^s]|$)' "$pdf" | wc -l)
	[ "$pages" -ge 2 ] || fail "$name: PDF has $pages pages"
	grep -aq '/MediaBox \[0 0 59[45]\.[0-9]* 84[12]\.[0-9]*\]' "$pdf" || fail "$name: PDF pages are not A4"

	# DOM after Chromium parsed and laid it out: every row, with the right verdict; no script.
	dump_dom "$html" >"$WORK/$name.dom" || fail "$name: chromium --dump-dom failed: $(tail -n 3 "$WORK/dom.log")"
	for i in "${!REQS[@]}"; do
		n=$(grep -o "<tr data-requirement=\"${REQS[$i]}\" data-verdict=\"[a-z]*\"" "$WORK/$name.dom" | sort -u)
		[ "$n" = "<tr data-requirement=\"${REQS[$i]}\" data-verdict=\"${verdicts[$i]}\"" ] ||
			fail "$name: row ${REQS[$i]}: expected ${verdicts[$i]}, DOM has '${n:-no row}'"
	done
	grep -q "id=\"overall\" data-verdict=\"$overall\"" "$WORK/$name.dom" || fail "$name: overall verdict is not $overall"
	! grep -qi '<script' "$WORK/$name.dom" || fail "$name: a <script> element made it into the DOM"

	# Layout, fonts and screenshot through the DevTools protocol.
	expect=$(printf '{"overall":"%s","rows":{"%s":"%s","%s":"%s","%s":"%s","%s":"%s","%s":"%s"}}' "$overall" \
		"${REQS[0]}" "$v1" "${REQS[1]}" "$v2" "${REQS[2]}" "$v3" "${REQS[3]}" "$v4" "${REQS[4]}" "$v5")
	png=()
	if [ "${TORIDE_UPDATE_DOCS:-0}" = 1 ] && [ "$name" = "${TORIDE_DOCS_SAMPLE:-busybox-telnetd-fail}" ]; then
		png=(--png "$SRC/docs/conform-report.png")
	fi
	python3 "$CDP" --chromium "$CHROMIUM" --html "$html" --expect "$expect" "${png[@]}" ||
		fail "$name: rendered page check failed"
	echo "ok: $name ($pages PDF pages, $(($(date +%s) - t0)) s)"
done
echo "PASS: conform report rendered and checked in Chromium for ${#CASES[@]} result documents"
