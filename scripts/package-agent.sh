#!/usr/bin/env bash
# Builds the desktop agent for distribution: a self-contained single-file program per platform
# (win-x64, osx-arm64, osx-x64, linux-x64: no .NET needed on the device), a .deb for Debian and Ubuntu
# (dpkg-deb) and an .msi for Windows (wixl, from Debian's msitools, installed when missing).
#
#   scripts/package-agent.sh [--out DIR] [--version X.Y.Z] [--rid RID ...] [--no-msi]
#
# Writes DIR/<rid>/homeroom-agent[.exe], DIR/homeroom-agent_<version>_amd64.deb,
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

for rid in "${rids[@]}"; do
  case "$rid" in win-x64|osx-arm64|osx-x64|linux-x64) ;; *) echo "Unsupported runtime '$rid'" >&2; exit 2 ;; esac
  echo "publishing $rid"
  # Not compressed: a compressed single file is unpacked into memory at every start, which costs resident memory.
  dotnet publish src/Homeroom.Agent -c Release -r "$rid" --self-contained \
    -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none \
    -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false \
    -p:Version="$version" -o "$out/$rid" --nologo -v quiet -clp:ErrorsOnly
done

built=()
for rid in "${rids[@]}"; do
  if [ "$rid" = win-x64 ]; then built+=("$rid/homeroom-agent.exe"); else built+=("$rid/homeroom-agent"); fi
done

if printf '%s\n' "${rids[@]}" | grep -qx linux-x64; then
  stage="$(mktemp -d)"
  chmod 0755 "$stage"
  trap 'rm -rf "$stage"' EXIT
  install -d "$stage/DEBIAN" "$stage/usr/lib/homeroom-agent" "$stage/usr/bin" "$stage/lib/systemd/system"
  install -m 0755 "$out/linux-x64/homeroom-agent" "$stage/usr/lib/homeroom-agent/homeroom-agent"
  ln -s ../lib/homeroom-agent/homeroom-agent "$stage/usr/bin/homeroom-agent"
  # The unit comes from the agent itself, so the package and `homeroom-agent install` never differ.
  "$out/linux-x64/homeroom-agent" install --unit-dir "$stage/lib/systemd/system" \
    --executable /usr/lib/homeroom-agent/homeroom-agent --state /var/lib/homeroom-agent \
    --config /etc/homeroom-agent/agent.json > /dev/null
  chmod 0644 "$stage/lib/systemd/system/homeroom-agent.service"
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
