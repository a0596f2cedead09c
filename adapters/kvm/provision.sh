#!/usr/bin/env bash
# Provision what the `kvm` adapter needs on a Debian 12 x86_64 machine:
#   1. qemu-system-arm, the aarch64 cross compiler and arm64 libc headers (apt-get install, skipped if present)
#   2. the arm64 dpkg architecture and a bookworm-backports apt source restricted to arm64, whose URI is
#      derived from the machine's existing Debian source (no host name is written here)
#   3. the pinned arm64 kernel packages of fixtures/kernels.json, fetched with `apt-get download`, checked
#      against their sha256 pins and unpacked with `dpkg -x` into $S2CONFORM_CACHE/kernels/<name>/
#      (default ~/.cache/s2conform/kernels/<name>/)
#   4. the static aarch64 helper (adapters/kvm/helper/build.sh)
#
# Idempotent: each step says what it does or why it is skipped.
# Options: --allow-newer (or S2CONFORM_ALLOW_NEWER=1): when a pinned kernel package has vanished from the
#          archive, take the newest package of the same series instead (loudly, without a sha256 pin).
#          --kernels-only / --helper-only: do only that part.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PINS="${S2CONFORM_KERNEL_PINS:-$ROOT/fixtures/kernels.json}"
CACHE="${S2CONFORM_CACHE:-$HOME/.cache/s2conform}"
KCACHE="$CACHE/kernels"
ALLOW_NEWER="${S2CONFORM_ALLOW_NEWER:-0}"
DO_TOOLS=1 DO_KERNELS=1 DO_HELPER=1
BP_SOURCE=/etc/apt/sources.list.d/s2conform-backports-arm64.sources

for arg in "$@"; do
  case "$arg" in
    --allow-newer) ALLOW_NEWER=1 ;;
    --kernels-only) DO_HELPER=0 ;;
    --helper-only) DO_KERNELS=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "provision: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf '\nprovision: ERROR: %s\n' "$*" >&2; exit 1; }
loud() {
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!!! %s\n' "$@" >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}
need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (apt-get/dpkg). Re-run as root: sudo npm run provision"
}

APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return 0
  need_root "apt-get update"
  info "apt-get update"
  local log; log="$(mktemp)"
  if ! apt-get update >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    die "apt-get update failed: is the machine offline or the Debian archive unreachable?"
  fi
  if grep -Eq '^(W|E): (Failed to fetch|Some index files failed)' "$log"; then
    grep -E '^(W|E):' "$log" >&2; rm -f "$log"
    die "apt-get update could not fetch some indexes: is the machine offline?"
  fi
  rm -f "$log"
  APT_UPDATED=1
}

command -v node >/dev/null || die "node is required (it reads fixtures/kernels.json)"
[ -f "$PINS" ] || die "missing $PINS"

# ---------------------------------------------------------------------------------------------------------
if [ "$DO_TOOLS" = 1 ]; then
  step "1. host tools: qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  missing=()
  for p in qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      info "$p: installed ($(dpkg-query -W -f='${Version}' "$p"))"
    else
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    need_root "installing ${missing[*]}"
    apt_update
    for p in "${missing[@]}"; do
      apt-cache show "$p" >/dev/null 2>&1 || die "package $p is not in the configured apt sources"
    done
    info "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
      || die "apt-get install ${missing[*]} failed"
  fi
fi

# ---------------------------------------------------------------------------------------------------------
kernels_ok() {
  # every pinned kernel already unpacked with a matching marker?
  local name pkg ver
  while IFS=$'\t' read -r name pkg ver _; do
    [ -f "$KCACHE/$name/.s2conform-kernel" ] || return 1
    pin_matches "$KCACHE/$name/.s2conform-kernel" "$pkg" "$ver" || return 1
  done < <(pins_tsv)
}
pin_matches() { # marker pkg ver: the cache holds this pin (or, with --allow-newer, a stand-in for it)
  grep -qxF "pinned=$2=$3" "$1" && return 0
  [ "$ALLOW_NEWER" = 1 ] && grep -qxF "pinned=NEWER-THAN:$2=$3" "$1"
}
pins_tsv() {
  node -e '
    const k = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).kernels;
    for (const [name, v] of Object.entries(k))
      console.log([name, v.package, v.version, v.sha256, v.suite, v.series].join("\t"));
  ' "$PINS"
}

if [ "$DO_KERNELS" = 1 ]; then
  if kernels_ok; then
    step "2. apt sources / 3. kernels: all pinned kernels already unpacked under $KCACHE (skipping)"
    pins_tsv | while IFS=$'\t' read -r name _ _ _; do info "$name: $(grep -E '^(package|version|vmlinuz)=' "$KCACHE/$name/.s2conform-kernel" | tr '\n' ' ')"; done
  else
    step "2a. dpkg architecture arm64"
    if dpkg --print-foreign-architectures | grep -qx arm64; then
      info "arm64 already added"
    else
      need_root "dpkg --add-architecture arm64"
      dpkg --add-architecture arm64
      info "added arm64"
      APT_UPDATED=0
    fi

    step "2b. bookworm-backports apt source (arm64 only), derived from the existing Debian source"
    CODENAME="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    [ -n "$CODENAME" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
    if [ -f "$BP_SOURCE" ]; then
      info "present: $BP_SOURCE"
    else
      need_root "adding an apt source"
      # Find the URI (and keyring) of the source that serves "$CODENAME" itself: deb822 files first, then
      # one-line sources. The URI is copied from the machine's configuration, never written here.
      derived="$(CODENAME="$CODENAME" node -e '
        const fs = require("fs"), path = require("path");
        const cn = process.env.CODENAME;
        const files = [];
        if (fs.existsSync("/etc/apt/sources.list")) files.push("/etc/apt/sources.list");
        const d = "/etc/apt/sources.list.d";
        if (fs.existsSync(d)) for (const f of fs.readdirSync(d).sort())
          if (/\.(list|sources)$/.test(f) && !f.startsWith("s2conform-")) files.push(path.join(d, f));
        for (const f of files) {
          const text = fs.readFileSync(f, "utf8");
          if (f.endsWith(".sources")) {
            for (const stanza of text.split(/\n\s*\n/)) {
              const kv = {};
              for (const line of stanza.split("\n")) {
                if (/^\s*#/.test(line)) continue;
                const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
                if (m) kv[m[1].toLowerCase()] = m[2].trim();
              }
              if (kv.enabled === "no") continue;
              const types = (kv.types || "").split(/\s+/), suites = (kv.suites || "").split(/\s+/);
              if (!types.includes("deb") || !suites.includes(cn)) continue;
              const uri = (kv.uris || "").split(/\s+/)[0];
              if (uri) { console.log(uri + "\t" + (kv["signed-by"] || "")); process.exit(0); }
            }
          } else {
            for (const raw of text.split("\n")) {
              const line = raw.replace(/#.*/, "").trim();
              const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s/.exec(line);
              if (!m || m[3] !== cn) continue;
              const sb = /signed-by=(\S+)/.exec(m[1] || "");
              console.log(m[2] + "\t" + (sb ? sb[1] : "")); process.exit(0);
            }
          }
        }
        process.exit(1);
      ')" || die "no apt source for suite '$CODENAME' found in /etc/apt/sources.list(.d): cannot derive the backports URI"
      uri="${derived%%$'\t'*}"; signed="${derived#*$'\t'}"
      [ -n "$signed" ] || signed=/usr/share/keyrings/debian-archive-keyring.gpg
      {
        echo "# Written by s2conform adapters/kvm/provision.sh: $CODENAME-backports for arm64 kernel packages."
        echo "# URI copied from the existing '$CODENAME' source of this machine."
        echo "Types: deb"
        echo "URIs: $uri"
        echo "Suites: $CODENAME-backports"
        echo "Components: main"
        echo "Architectures: arm64"
        echo "Signed-By: $signed"
      } > "$BP_SOURCE"
      info "wrote $BP_SOURCE (URI from the '$CODENAME' source)"
      APT_UPDATED=0
    fi

    step "3. pinned arm64 kernels -> $KCACHE"
    mkdir -p "$KCACHE"
    # apt indexes for arm64 present? (first run, or after adding the source)
    if ! apt-cache policy 2>/dev/null | grep -q "$CODENAME-backports/main arm64"; then apt_update; fi

    while IFS=$'\t' read -r name pkg ver sha suite series; do
      dest="$KCACHE/$name"
      marker="$dest/.s2conform-kernel"
      if [ -f "$marker" ] && pin_matches "$marker" "$pkg" "$ver"; then
        info "$name: $pkg=$ver already unpacked in $dest"
        continue
      fi
      info "$name: want $pkg:arm64=$ver (suite $suite)"
      want_pkg="$pkg" want_ver="$ver" want_sha="$sha"
      if ! apt-cache madison "$pkg:arm64" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$ver"; then
        apt_update
      fi
      if ! apt-cache madison "$pkg:arm64" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$ver"; then
        # The pinned package is gone: list what the series has now.
        avail="$(apt-cache search --names-only "$series" 2>/dev/null | awk '{print $1}' | grep -E "$series" | while read -r p; do
                   apt-cache madison "$p:arm64" 2>/dev/null | awk -F'|' -v p="$p" '{gsub(/ /,"",$2); gsub(/^ +| +$/,"",$3); print p "=" $2 "\t(" $3 ")"}'
                 done | sort -V -u)"
        if [ "$ALLOW_NEWER" != 1 ]; then
          die "pinned kernel $pkg:arm64=$ver ($name) is no longer in the archive.
Available in series '$series':
${avail:-  (none)}
Update fixtures/kernels.json (package, version, sha256) or re-run with --allow-newer (S2CONFORM_ALLOW_NEWER=1)."
        fi
        newest="$(printf '%s\n' "$avail" | cut -f1 | grep . | while IFS='=' read -r p v; do printf '%s %s\n' "$v" "$p"; done \
                  | sort -V | tail -n1)"
        [ -n "$newest" ] || die "no package at all in series '$series' for kernel $name"
        want_ver="${newest%% *}"; want_pkg="${newest#* }"; want_sha=""
        loud "kernel $name: pinned $pkg=$ver has VANISHED from the archive." \
             "--allow-newer: using $want_pkg=$want_ver instead, WITHOUT a sha256 pin." \
             "Results are not reproducible against the pin; update fixtures/kernels.json."
      fi
      tmp="$(mktemp -d)"; chmod 755 "$tmp" # readable by apt's _apt user
      ( cd "$tmp" && apt-get download -q "$want_pkg:arm64=$want_ver" ) >/dev/null 2>"$tmp/err" \
        || { cat "$tmp/err" >&2; rm -rf "$tmp"; die "apt-get download $want_pkg:arm64=$want_ver failed (offline?)"; }
      deb="$(ls "$tmp"/*.deb)"
      got="$(sha256sum "$deb" | cut -d' ' -f1)"
      if [ -n "$want_sha" ]; then
        [ "$got" = "$want_sha" ] || { rm -rf "$tmp"; die "sha256 mismatch for $(basename "$deb"): got $got, pinned $want_sha"; }
        info "$name: sha256 ok ($got)"
      else
        loud "kernel $name: $(basename "$deb") sha256 $got (no pin to compare with)"
      fi
      rm -rf "$dest.new"; mkdir -p "$dest.new"
      dpkg -x "$deb" "$dest.new"
      vmlinuz="$(ls "$dest.new"/boot/vmlinuz-* 2>/dev/null | head -n1)"
      config="$(ls "$dest.new"/boot/config-* 2>/dev/null | head -n1)"
      [ -n "$vmlinuz" ] && [ -n "$config" ] || { rm -rf "$tmp" "$dest.new"; die "$(basename "$deb") has no boot/vmlinuz-* or boot/config-*"; }
      # Only the kernel and its config are needed: drop the modules to keep the cache small.
      rm -rf "$dest.new/lib" "$dest.new/usr"
      {
        echo "pinned=$pkg=$ver"
        echo "package=$want_pkg"
        echo "version=$want_ver"
        echo "sha256=$got"
        echo "vmlinuz=boot/$(basename "$vmlinuz")"
        echo "config=boot/$(basename "$config")"
      } > "$dest.new/.s2conform-kernel"
      if [ "$want_ver" != "$ver" ]; then sed -i "s/^pinned=.*/pinned=NEWER-THAN:$pkg=$ver/" "$dest.new/.s2conform-kernel"; fi
      rm -rf "$dest"; mv "$dest.new" "$dest"; rm -rf "$tmp"
      info "$name: unpacked into $dest ($(basename "$vmlinuz"))"
    done < <(pins_tsv)
  fi
fi

# ---------------------------------------------------------------------------------------------------------
if [ "$DO_HELPER" = 1 ]; then
  step "4. static aarch64 helper"
  command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc missing (run without --helper-only first)"
  bash "$HERE/helper/build.sh"
fi

step "done (cache: $CACHE)"
