#!/usr/bin/env bash
# Regenerates the bundles in this directory with the toride CLI and the checked-in TEST-ONLY keys.
#   TORIDE_BIN=build/toride tests/data/device/make-bundles.sh
# The keys (test-vendor.*, test-other.*) are published in this repository: they are for tests only
# and must never be trusted by a real device. Bundles are reproducible (SOURCE_DATE_EPOCH).
set -euo pipefail
cd "$(dirname "$0")"
T=${TORIDE_BIN:-toride}
export SOURCE_DATE_EPOCH=1735689600 # 2025-01-01T00:00:00Z
[ -f test-vendor.key ] || "$T" sign keygen -o test-vendor
[ -f test-other.key ] || "$T" sign keygen -o test-other

# Images: small deterministic bytes (an ELF-like header then a counter pattern), one per version.
# (seq writes less than a pipe buffer, so head never kills it with SIGPIPE under pipefail.)
mkimg() { # version size
	{ printf '\177ELF toride test firmware %s\n' "$1"; seq 1 2000; } | head -c "$2"
}
TARGET=toride-test-board
mk() { # out version image-size [extra args]
	local out=$1 v=$2 size=$3; shift 3
	mkimg "$v" "$size" > "$out.img"
	"$T" bundle create --key test-vendor.key --target "$TARGET" --version "$v" --image "$out.img" \
		-o "$out" "$@" >/dev/null
	rm -f "$out.img"
}
rm -f ./*.tbd
mk fw-1.0.tbd 1.0 1500 --description "factory image (same as slot a at provisioning)"
mk fw-1.1.tbd 1.1 2048 --description "good update"
mk fw-1.2-floor.tbd 1.2 3000 --security-floor 1.2 --description "security fix: no way back below 1.2"
mk fw-0.9.tbd 0.9 1024 --description "older than the factory image"

# Hostile bundles derived from the good one.
good=fw-1.1.tbd
hlen=$(( 12 + 0x$(xxd -s 8 -l 4 -p "$good") + 64 ))
cp "$good" bad-signature.tbd
printf '\001' | dd of=bad-signature.tbd bs=1 seek=$((hlen - 10)) conv=notrunc status=none
mkimg 1.1 2048 > other.img
"$T" bundle create --key test-other.key --target "$TARGET" --version 1.1 --image other.img \
	-o untrusted-signer.tbd >/dev/null
"$T" bundle create --key test-vendor.key --target other-board --version 1.1 --image other.img \
	-o wrong-target.tbd >/dev/null
rm -f other.img
cp "$good" hash-mismatch.tbd
printf 'X' | dd of=hash-mismatch.tbd bs=1 seek=$((hlen + 100)) conv=notrunc status=none
cp "$good" trailing-bytes.tbd
printf 'extra' >> trailing-bytes.tbd
head -c 6 "$good" > truncated-magic.tbd
head -c 40 "$good" > truncated-manifest.tbd
head -c $((hlen - 20)) "$good" > truncated-signature.tbd
head -c $((hlen + 1000)) "$good" > truncated-image.tbd
{ printf 'TORIDEB1\377\377\377\377'; tail -c +13 "$good"; } > huge-length.tbd
echo "regenerated: $(ls ./*.tbd | wc -l) bundles"
