#!/usr/bin/env bash
# Makes sure Xvfb (a virtual X server) and the X fonts are installed: the desktop agent's
# user-session helper tests draw its lock screen, messages and viewing banner on a real X display. Also xclip,
# which the helper uses to put a remote support technician's text on the display's clipboard, and the XTest and
# screen saver client libraries (injected input; how long since the last input, for idle time).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/Xvfb ] || [ ! -e /usr/lib/x86_64-linux-gnu/libX11.so.6 ]; then
  echo "Installing Xvfb from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xfonts-base libx11-6 >/dev/null
fi

if [ ! -e /usr/lib/x86_64-linux-gnu/libXss.so.1 ] || [ ! -e /usr/lib/x86_64-linux-gnu/libXtst.so.6 ]; then
  echo "Installing libxss1 and libxtst6 from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxss1 libxtst6 >/dev/null
fi

if [ ! -x /usr/bin/xclip ]; then
  echo "Installing xclip from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xclip >/dev/null
fi
