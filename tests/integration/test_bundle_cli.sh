#!/usr/bin/env bash
# toride sign / toride bundle as a vendor uses them: keygen, create, verify, info, re-sign, and the
# refusals (tampered byte, wrong key, wrong target, truncated, trailing bytes, bad version). Also
# checks the checked-in test bundles (tests/data/device) against their TEST-ONLY key. No network.
set -u
bin=${TORIDE_BIN:-build/toride}
src=${TORIDE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data=$src/tests/data/device
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # check NAME EXPECTED_RC CMD... ; output kept in $out
	local name=$1 want=$2; shift 2
	out=$("$@" 2>&1); local rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit $rc, want $want"; echo "$out" | head -5 | sed 's/^/    /'; fail=1
	else
		echo "ok   $name"
	fi
}
contains() { # contains NAME TEXT
	if ! grep -qF -- "$2" <<<"$out"; then echo "FAIL $1: output lacks '$2'"; echo "$out" | head -5 | sed 's/^/    /'; fail=1; else echo "ok   $1"; fi
}

check "sign --help" 0 "$bin" sign --help;              contains "sign help names keygen" "keygen"
check "bundle --help" 0 "$bin" bundle --help;          contains "bundle help names create" "bundle create"
check "bundle create --help" 0 "$bin" bundle create --help
check "bundle no subcommand" 2 "$bin" bundle
check "bundle unknown subcommand" 2 "$bin" bundle frob
check "create missing options" 2 "$bin" bundle create --target t
check "verify without key" 2 "$bin" bundle verify "$data/fw-1.1.tbd"

cd "$tmp" || exit 1
check "keygen" 0 "$bin" sign keygen -o vendor;          contains "keygen prints key-id" "key-id"
perm=$(stat -c %a vendor.key)
if [ "$perm" = 600 ]; then echo "ok   secret key is 0600"; else echo "FAIL secret key mode $perm"; fail=1; fi
grep -q '^toride-ed25519-public-v1 [0-9a-f]\{64\}$' vendor.pub && echo "ok   public key format" || { echo "FAIL public key format"; fail=1; }
grep -q '^toride-ed25519-secret-v1 [0-9a-f]\{128\}$' vendor.key && echo "ok   secret key format" || { echo "FAIL secret key format"; fail=1; }
check "keygen refuses to overwrite" 1 "$bin" sign keygen -o vendor
check "keygen other" 0 "$bin" sign keygen -o other

head -c 300000 /dev/urandom > image.bin
check "create" 0 "$bin" bundle create --key vendor.key --target acme-cam --version 2.1.0 \
	--security-floor 2.0 --description "spring release" --image image.bin -o fw.tbd
size=$(stat -c %s fw.tbd)
if [ "$size" -gt 300000 ] && [ "$size" -lt 301000 ]; then echo "ok   bundle = header + image"; else echo "FAIL bundle size $size"; fail=1; fi
if cmp -s <(tail -c 300000 fw.tbd) image.bin; then echo "ok   image bytes follow the header"; else echo "FAIL image bytes"; fail=1; fi
check "verify ok" 0 "$bin" bundle verify --pub vendor.pub fw.tbd;   contains "verify says OK" "OK"
check "verify with target" 0 "$bin" bundle verify --pub vendor.pub --target acme-cam fw.tbd
check "verify wrong target" 1 "$bin" bundle verify --pub vendor.pub --target other-cam fw.tbd
contains "wrong target message" "not 'other-cam'"
check "verify wrong key" 1 "$bin" bundle verify --pub other.pub fw.tbd
contains "wrong key message" "signature"
check "verify either key" 0 "$bin" bundle verify --pub other.pub --pub vendor.pub fw.tbd

check "info text" 0 "$bin" bundle info fw.tbd
contains "info version" "2.1.0"; contains "info floor" "security-floor: 2.0"; contains "info description" "spring release"
contains "info unchecked" "not checked"
check "info signed by vendor" 0 "$bin" bundle info --pub vendor.pub fw.tbd; contains "info valid" "valid for the given key"
check "info not signed by other" 1 "$bin" bundle info --pub other.pub fw.tbd; contains "info invalid" "NOT valid"
check "info json" 0 "$bin" bundle info --json fw.tbd
if python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["manifest"]["version"]=="2.1.0" and d["manifest"]["image-size"]=="300000"' <<<"$out"; then
	echo "ok   info json parses"; else echo "FAIL info json"; fail=1; fi

# Tampering: one byte of the image, of the manifest, of the signature. Bits are flipped: writing a
# fixed byte would change nothing where the random image already holds it.
flip() {
	python3 -c 'import sys; f=open(sys.argv[1],"r+b"); o=int(sys.argv[2]); f.seek(o); b=f.read(1)[0]; f.seek(o); f.write(bytes([b ^ 0x5a]))' "$1" "$2"
}
hlen=$(( size - 300000 ))
for where in image:$((hlen + 150000)) manifest:20 signature:$((hlen - 5)); do
	cp fw.tbd t.tbd
	flip t.tbd "${where#*:}"
	check "tampered ${where%%:*} byte fails" 1 "$bin" bundle verify --pub vendor.pub t.tbd
done
head -c $((size - 1)) fw.tbd > t.tbd;  check "truncated image fails" 1 "$bin" bundle verify --pub vendor.pub t.tbd
contains "truncation is named" "truncated"
head -c 100 fw.tbd > t.tbd;            check "truncated header fails" 1 "$bin" bundle verify --pub vendor.pub t.tbd
cp fw.tbd t.tbd; echo junk >> t.tbd;   check "trailing bytes fail" 1 "$bin" bundle verify --pub vendor.pub t.tbd
contains "trailing is named" "trailing"
check "not a bundle" 1 "$bin" bundle verify --pub vendor.pub image.bin

check "bad version refused" 1 "$bin" bundle create --key vendor.key --target acme-cam --version 2.x --image image.bin -o bad.tbd
check "floor above version refused" 1 "$bin" bundle create --key vendor.key --target acme-cam --version 2.0 --security-floor 3 --image image.bin -o bad.tbd
check "bad target refused" 1 "$bin" bundle create --key vendor.key --target "a b" --version 2.0 --image image.bin -o bad.tbd
check "public key is not a secret key" 1 "$bin" bundle create --key vendor.pub --target acme-cam --version 2.0 --image image.bin -o bad.tbd
[ ! -e bad.tbd ] && echo "ok   nothing written on refusal" || { echo "FAIL bad.tbd written"; fail=1; }

# Re-sign in place with another key (key rotation).
check "re-sign" 0 "$bin" sign --key other.key fw.tbd
check "re-signed verifies with new key" 0 "$bin" bundle verify --pub other.pub fw.tbd
check "re-signed no longer with old key" 1 "$bin" bundle verify --pub vendor.pub fw.tbd
ls fw.tbd.tmp.* >/dev/null 2>&1 && { echo "FAIL temp file left"; fail=1; } || echo "ok   no temp file left"
cp fw.tbd t.tbd; flip t.tbd $((hlen + 10))
check "re-sign refuses a damaged image" 1 "$bin" sign --key vendor.key t.tbd

# Reproducible with SOURCE_DATE_EPOCH (Ed25519 signatures are deterministic).
SOURCE_DATE_EPOCH=1700000000 "$bin" bundle create --key vendor.key --target acme-cam --version 3 --image image.bin -o r1.tbd >/dev/null
SOURCE_DATE_EPOCH=1700000000 "$bin" bundle create --key vendor.key --target acme-cam --version 3 --image image.bin -o r2.tbd >/dev/null
cmp -s r1.tbd r2.tbd && echo "ok   reproducible bundles" || { echo "FAIL bundles differ"; fail=1; }

# The checked-in test bundles against their TEST-ONLY key.
for f in fw-0.9 fw-1.0 fw-1.1 fw-1.2-floor; do
	check "data $f verifies" 0 "$bin" bundle verify --pub "$data/test-vendor.pub" --target toride-test-board "$data/$f.tbd"
done
for f in bad-signature untrusted-signer wrong-target hash-mismatch trailing-bytes huge-length \
	truncated-magic truncated-manifest truncated-signature truncated-image; do
	check "data $f refused" 1 "$bin" bundle verify --pub "$data/test-vendor.pub" --target toride-test-board "$data/$f.tbd"
done

[ "$fail" = 0 ] && echo "all bundle CLI checks passed"
exit "$fail"
