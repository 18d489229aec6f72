#!/usr/bin/env bash
# The generated shell completions (issue 11, item 10): bash completes subcommands at every
# level and each command's options (its own and the global ones); the zsh script is valid
# zsh (checked with zsh -n) carrying the same tree.
# usage: completion_test.sh SMPKIT
set -euo pipefail
SMPKIT=$1
fail=0
check() {  # check WHAT EXPECTED-WORD WORDS...
  local what=$1 want=$2
  shift 2
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _smpkit
  if [[ " ${COMPREPLY[*]} " == *" $want "* ]]; then
    echo "ok   $what"
  else
    echo "FAIL $what: '$want' not in: ${COMPREPLY[*]}"
    fail=1
  fi
}
refute() {  # refute WHAT UNWANTED-WORD WORDS...
  local what=$1 bad=$2
  shift 2
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _smpkit
  if [[ " ${COMPREPLY[*]} " == *" $bad "* ]]; then
    echo "FAIL $what: '$bad' offered: ${COMPREPLY[*]}"
    fail=1
  else
    echo "ok   $what"
  fi
}
source <("$SMPKIT" completion bash)
check "top-level commands" upgrade smpkit ""
check "top-level prefix" upgrade smpkit up
check "image subcommands" upload smpkit image ""
check "image subcommands after a global option" getpub smpkit --json image get
check "datetime subcommands" set smpkit datetime ""
check "upload options" --no-skip smpkit image upload --
check "upgrade options" --allow-downgrade smpkit upgrade --
check "global options after the subcommand" --conn smpkit image list --c
check "getpub options" --encoding smpkit image getpub --e
check "device options" --key smpkit device --k
check "option values: upgrade --mode" confirm-only smpkit upgrade --mode ""
check "option values: getpub -e" lang-rust smpkit image getpub -e lang
check "positional after an option value" --progress smpkit upgrade --mode test-only --pro
refute "no upgrade option under echo" --allow-downgrade smpkit echo --
refute "no image subcommand at the top" upload smpkit ""

"$SMPKIT" completion zsh > "${TMPDIR:-/tmp}/_smpkit.$$"
if grep -q '^#compdef smpkit' "${TMPDIR:-/tmp}/_smpkit.$$" &&
   grep -q '"smpkit image" "' "${TMPDIR:-/tmp}/_smpkit.$$" &&
   grep -q -- '--allow-downgrade' "${TMPDIR:-/tmp}/_smpkit.$$"; then
  echo "ok   zsh script carries the command tree"
else
  echo "FAIL zsh script"; fail=1
fi
if command -v zsh >/dev/null; then
  if zsh -n "${TMPDIR:-/tmp}/_smpkit.$$"; then echo "ok   zsh -n"; else echo "FAIL zsh -n"; fail=1; fi
else
  echo "FAIL zsh is not installed (scripts/setup.sh installs it)"; fail=1
fi
rm -f "${TMPDIR:-/tmp}/_smpkit.$$"
if "$SMPKIT" completion fish >/dev/null 2>&1; then echo "FAIL fish accepted"; fail=1; else echo "ok   unknown shell refused"; fi
exit $fail
