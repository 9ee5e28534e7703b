#!/usr/bin/env bash
# Builds the desktop agent for distribution: one program per platform that needs no .NET on the device (linux-x64
# compiled ahead of time to native code with Native AOT; win-x64, osx-arm64 and osx-x64, which cannot be
# AOT-compiled on Linux, as self-contained single files), a .deb for Debian and Ubuntu (dpkg-deb) and an .msi for
# Windows (wixl, from Debian's msitools, installed when missing). Native AOT needs clang and zlib's headers,
# installed from Debian's packages when missing. Each macOS program gets the launchd daemon's property list beside
# it (rendered by the linux-x64 program, so it needs linux-x64 in the same run); no .pkg: that needs Apple's pkgbuild.
#
#   scripts/package-agent.sh [--out DIR] [--version X.Y.Z] [--rid RID ...] [--no-msi]
#
# Writes DIR/<rid>/homeroom-agent[.exe], DIR/osx-*/org.homeroom.agent.plist, DIR/homeroom-agent_<version>_amd64.deb,
# DIR/homeroom-agent-<version>-x64.msi and DIR/SHA256SUMS (default DIR: artifacts/agent).
set -euo pipefail
cd "$(dirname "$0")/.."

out=artifacts/agent
version=0.1.0
msi=1
rids=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --rid) rids+=("$2"); shift 2 ;;
    --no-msi) msi=0; shift ;;
    *) echo "Unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "--version takes X.Y.Z, not '$version'" >&2; exit 2; }
[ ${#rids[@]} -gt 0 ] || rids=(win-x64 osx-arm64 osx-x64 linux-x64)
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

for rid in "${rids[@]}"; do
  case "$rid" in win-x64|osx-arm64|osx-x64|linux-x64) ;; *) echo "Unsupported runtime '$rid'" >&2; exit 2 ;; esac
  echo "publishing $rid"
  if [ "$rid" = linux-x64 ]; then
    # Native AOT: no JIT and no JIT-compiled code in memory, which roughly halves the idle service's resident
    # memory (bench/agent-footprint, docs/performance.md). The AOT compiler links with clang and zlib.
    if ! command -v clang > /dev/null || [ ! -e /usr/include/zlib.h ]; then
      echo "Installing clang and zlib1g-dev from Debian's packages (Native AOT links with them)..."
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev > /dev/null
    fi
    dotnet publish src/Homeroom.Agent -c Release -r "$rid" -p:PublishAot=true -p:DebugType=none -p:StripSymbols=true \
      -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false \
      -p:Version="$version" -o "$out/$rid" --nologo -v quiet -clp:ErrorsOnly
    # Only the program ships (the stripped symbols, if the compiler kept them apart, stay out of the package).
    rm -f "$out/$rid/homeroom-agent.dbg"
  else
    # Not compressed: a compressed single file is unpacked into memory at every start, which costs resident memory.
    dotnet publish src/Homeroom.Agent -c Release -r "$rid" --self-contained \
      -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none \
      -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false \
      -p:Version="$version" -o "$out/$rid" --nologo -v quiet -clp:ErrorsOnly
  fi
done

built=()
for rid in "${rids[@]}"; do
  if [ "$rid" = win-x64 ]; then built+=("$rid/homeroom-agent.exe"); else built+=("$rid/homeroom-agent"); fi
done

# macOS: the daemon's property list for a program copied to /usr/local/homeroom-agent/homeroom-agent, rendered by the
# agent itself (the same code `homeroom-agent install` runs on the Mac, which also loads it). Only the linux-x64
# program can run here.
for rid in "${rids[@]}"; do
  case "$rid" in osx-*) ;; *) continue ;; esac
  if [ -x "$out/linux-x64/homeroom-agent" ] && printf '%s\n' "${rids[@]}" | grep -qx linux-x64; then
    "$out/linux-x64/homeroom-agent" launchd-plist --executable /usr/local/homeroom-agent/homeroom-agent \
      --config /Library/Application\ Support/Homeroom/agent.json > "$out/$rid/org.homeroom.agent.plist"
    chmod 0644 "$out/$rid/org.homeroom.agent.plist"
    built+=("$rid/org.homeroom.agent.plist")
  else
    echo "no launchd property list for $rid: add --rid linux-x64 (the program that renders it); on the Mac, homeroom-agent install writes it"
  fi
done

if printf '%s\n' "${rids[@]}" | grep -qx linux-x64; then
  stage="$(mktemp -d)"
  chmod 0755 "$stage"
  trap 'rm -rf "$stage"' EXIT
  install -d "$stage/DEBIAN" "$stage/usr/lib/homeroom-agent" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/usr/share/applications"
  install -m 0755 "$out/linux-x64/homeroom-agent" "$stage/usr/lib/homeroom-agent/homeroom-agent"
  ln -s ../lib/homeroom-agent/homeroom-agent "$stage/usr/bin/homeroom-agent"
  # The unit comes from the agent itself, so the package and `homeroom-agent install` never differ.
  "$out/linux-x64/homeroom-agent" install --unit-dir "$stage/lib/systemd/system" \
    --executable /usr/lib/homeroom-agent/homeroom-agent --state /var/lib/homeroom-agent \
    --config /etc/homeroom-agent/agent.json > /dev/null
  chmod 0644 "$stage/lib/systemd/system/homeroom-agent.service"
  # "I need help" in the applications menu: runs `homeroom-agent help` as the student, which opens their session
  # helper's help window.
  install -m 0644 packaging/agent/homeroom-help.desktop "$stage/usr/share/applications/homeroom-help.desktop"
  for script in postinst prerm postrm; do
    install -m 0755 "packaging/agent/debian/$script" "$stage/DEBIAN/$script"
  done
  size_kb=$(du -sk "$stage/usr" "$stage/lib" | awk '{ s += $1 } END { print s }')
  sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size_kb/" packaging/agent/debian/control > "$stage/DEBIAN/control"
  deb="homeroom-agent_${version}_amd64.deb"
  dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/$deb" > /dev/null
  built+=("$deb")
  echo "built $deb"
fi

if [ "$msi" -eq 1 ] && printf '%s\n' "${rids[@]}" | grep -qx win-x64; then
  if ! command -v wixl > /dev/null; then
    apt-get install -y wixl > /dev/null
  fi
  package="homeroom-agent-${version}-x64.msi"
  # wixl looks for sources relative to the working directory.
  (cd "$out/win-x64" && wixl -a x64 -D Version="$version" -D AgentExe=homeroom-agent.exe \
    -o "$out/$package" "$OLDPWD/packaging/agent/homeroom-agent.wxs")
  built+=("$package")
  echo "built $package"
fi

(cd "$out" && sha256sum "${built[@]}" > SHA256SUMS)
echo "wrote $out/SHA256SUMS"
