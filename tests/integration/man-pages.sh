#!/usr/bin/env bash
# Man pages: every page lints clean with mandoc, bccdrop.conf(5) documents
# every key of common/config.c's table, bccdrop(1) every command.
source "$(dirname "$0")/../lib.sh"
if ! command -v mandoc >/dev/null; then
	echo "1..0 # SKIP mandoc is not installed"
	exit 0
fi
for page in bccdrop.1 bccdrop.conf.5 bccdrop-milter.8 bccdrop-poll.8; do
	f=$TOP/docs/$page
	if [ ! -e "$f" ]; then not_ok "$page exists"; continue; fi
	out=$(mandoc -T lint -W warning "$f" 2>&1)
	is "$page: mandoc -T lint -W warning is silent" "$out" ""
done
# "{ "section", "key", ..." rows of the key table, plus the two keys other
# branches add ([milter] owner_proof, dropbox_anywhere).
keys=$(sed -nE 's/^\s*\{ "([a-z]+)", "([a-z_]+)",.*/\1.\2/p' "$TOP/common/config.c")
keys=$(printf '%s\nmilter.owner_proof\nmilter.dropbox_anywhere\n' "$keys" | sort -u)
like "the key table was read" "$(echo "$keys" | wc -l)" '^[2-9][0-9]$'
conf=$TOP/docs/bccdrop.conf.5
missing=
for k in $keys; do
	section=${k%%.*} key=${k#*.}
	# The key as a .BR tag inside its section's .SS block.
	awk -v s="[$section]" -v k="$key" '
		/^\.SS / { in_s = ($2 == s) }
		in_s && $1 == ".BR" && $2 == k { found = 1 }
		END { exit !found }' "$conf" || missing="$missing $k"
done
is "bccdrop.conf(5) documents every key in its section" "${missing# }" ""
cmds=$("$BIN/bccdrop" help | sed -nE 's/^  ([a-z]+) .*/\1/p')
like "bccdrop help lists the commands" "$(echo "$cmds" | wc -l)" '^[0-9]+$'
missing=
for c in $cmds; do
	# An entry: ".TP" then ".B/.BR/.BI COMMAND ..." (the word may be quoted).
	awk -v c="$c" 'prev == ".TP" && $1 ~ /^\.B[RI]?$/ { w = $2; gsub(/"/, "", w); if (w == c) found = 1 }
		{ prev = $0 } END { exit !found }' "$TOP/docs/bccdrop.1" || missing="$missing $c"
done
is "bccdrop(1) describes every command" "${missing# }" ""
like "bccdrop-milter(8) documents --version" "$(cat "$TOP/docs/bccdrop-milter.8")" 'version'
done_testing
