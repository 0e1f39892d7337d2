#!/usr/bin/env bash
# Builds eksop-auth in release mode and installs it into $PREFIX/bin (default ~/.local/bin).
# Re-runnable: it replaces an installed copy atomically.
#   ./install.sh                  # → ~/.local/bin/eksop-auth
#   PREFIX=/usr/local ./install.sh
set -euo pipefail
cd "$(dirname "$0")"

PREFIX="${PREFIX:-$HOME/.local}"
BINDIR="$PREFIX/bin"

if [ -z "${EKSOP_AUTH_BIN:-}" ] && ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install Rust (rustup) first, then re-run ./install.sh" >&2
  exit 1
fi

# EKSOP_AUTH_BIN=<path> installs a binary built elsewhere (or by an earlier run) instead.
bin="${EKSOP_AUTH_BIN:-}"
if [ -z "$bin" ]; then
  echo "==> building (cargo build --release --locked)"
  cargo build --release --locked --quiet
  bin=target/release/eksop-auth
fi

mkdir -p "$BINDIR"
tmp="$(mktemp "$BINDIR/.eksop-auth.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
cp "$bin" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$BINDIR/eksop-auth"
trap - EXIT

echo "==> installed $BINDIR/eksop-auth ($("$BINDIR/eksop-auth" --version))"

# Shell completions and the man page, under PREFIX/share (created when missing).
share="$PREFIX/share"
put() { # put FILE CONTENT-COMMAND...
  local file="$1"; shift
  mkdir -p "$(dirname "$file")"
  "$@" > "$file.tmp" && mv -f "$file.tmp" "$file" && echo "    $file"
}
echo "==> completions and man page"
put "$share/bash-completion/completions/eksop-auth" "$BINDIR/eksop-auth" completions bash
put "$share/zsh/site-functions/_eksop-auth" "$BINDIR/eksop-auth" completions zsh
put "$share/fish/vendor_completions.d/eksop-auth.fish" "$BINDIR/eksop-auth" completions fish
put "$share/man/man1/eksop-auth.1" "$BINDIR/eksop-auth" manpage
echo "    (zsh: add $share/zsh/site-functions to fpath; PowerShell: eksop-auth completions powershell)"
case ":$PATH:" in
  *":$BINDIR:"*) echo "    $BINDIR is on your PATH." ;;
  *) echo "    $BINDIR is NOT on your PATH; add it, e.g.: export PATH=\"$BINDIR:\$PATH\"" ;;
esac
