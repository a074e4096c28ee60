#!/usr/bin/env bash
# Command-line conventions of the three programs: --version, the global
# options before or after the command, `bccdrop help COMMAND`, sysexits
# exit statuses, and one line saying what to run when /etc/bccdrop or the
# key file is missing.
source "$(dirname "$0")/../lib.sh"
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$TOP/debian/changelog")
for p in bccdrop bccdrop-milter bccdrop-poll; do
	is "$p --version prints the package version" "$("$BIN/$p" --version 2>&1)" "$p $version"
done
bd() { "$BIN/bccdrop" "$@"; }
rc() { "$@" >"$WORK/out" 2>&1; echo $?; }

is "--db before the command" "$(rc bd --db "$WORK/a.db" init)" 0
check "  created that database" test -s "$WORK/a.db"
is "--db=PATH before the command" "$(rc bd --db="$WORK/b.db" init)" 0
check "  created that database" test -s "$WORK/b.db"
is "--db after the command (as before)" "$(rc bd init --db "$WORK/c.db")" 0
check "  created that database" test -s "$WORK/c.db"
bd --db "$WORK/d.db" init --db "$WORK/e.db" >/dev/null 2>&1
check "after the command wins over before it" test -s "$WORK/e.db"
check "  and the other database is not created" test ! -e "$WORK/d.db"
printf '[store]\ndatabase = %s\n' "$WORK/conf.db" >"$WORK/bccdrop.conf"
is "-c before the command" "$(rc bd -c "$WORK/bccdrop.conf" init)" 0
check "  read that configuration" test -s "$WORK/conf.db"
is "-c and --db before a command with its own arguments" \
	"$(rc bd -c "$WORK/bccdrop.conf" --db "$WORK/a.db" import users "$TOP/contrib/demo/users.csv")" 0

out=$(bd help init 2>&1)
like "help COMMAND is that command's --help" "$out" 'init \[OPTION'
like "help mailbox lists the subcommands" "$(bd help mailbox 2>&1)" 'mailbox add\|list'
like "help alone lists the commands" "$(bd help 2>&1)" 'commands:.*init.*mailbox'
like "--help lists the commands" "$(bd --help 2>&1)" 'usage: bccdrop \[--db PATH\]'

is "no command: EX_USAGE (64)" "$(rc bd)" 64
is "unknown command: EX_USAGE (64)" "$(rc bd frobnicate)" 64
like "  says how to list the commands" "$(cat "$WORK/out")" "unknown command 'frobnicate' \(bccdrop help"
is "unknown global option: EX_USAGE (64)" "$(rc bd --frob init)" 64
is "unknown command option: EX_USAGE (64)" "$(rc bd init --frob)" 64
is "help for an unknown command: EX_USAGE (64)" "$(rc bd help frobnicate)" 64
is "missing configuration file: EX_CONFIG (78)" "$(rc bd -c "$WORK/nonexistent/bccdrop.conf" init)" 78
is "  one line" "$(wc -l <"$WORK/out" | tr -d ' ')" 1
like "  saying what installs it" "$(cat "$WORK/out")" 'does not exist \(the bccdrop package installs /etc/bccdrop/bccdrop.conf'
printf '[store]\nbusy_timeout_ms = soon\n' >"$WORK/bad.conf"
is "invalid configuration: EX_CONFIG (78)" "$(rc bd -c "$WORK/bad.conf" init)" 78

# A fresh host without /etc/bccdrop: the key file's directory is missing.
printf '[poll]\nkey_file = %s\n' "$WORK/etc-bccdrop/secret.key" >"$WORK/nokey.conf"
echo secret >"$WORK/pw"
is "mailbox add without the key directory fails" \
	"$(rc bd -c "$WORK/nokey.conf" --db "$WORK/a.db" mailbox add --user u-alice --preset gmail --username alice \
		--password-file "$WORK/pw")" 1
is "  with one line" "$(wc -l <"$WORK/out" | tr -d ' ')" 1
like "  saying what to run" "$(cat "$WORK/out")" \
	"directory $WORK/etc-bccdrop does not exist \(install the bccdrop package, or run: install -d -m 0750 $WORK/etc-bccdrop\)"
mkdir -m 0750 "$WORK/etc-bccdrop"
is "after running it, mailbox add works" \
	"$(rc bd -c "$WORK/nokey.conf" --db "$WORK/a.db" mailbox add --user u-alice --preset gmail --username alice \
		--password-file "$WORK/pw")" 0
is "  and creates the key file with mode 0600" "$(stat -c %a "$WORK/etc-bccdrop/secret.key")" 600
done_testing
