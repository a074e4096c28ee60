#!/usr/bin/env bash
# Daily download budget (paused, resumed the next day) and the pause of
# inactive users (resumed when they are active again), both in the status.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"

dovecot_setup
dovecot_start || { not_ok "dovecot starts"; done_testing; exit 1; }
# Each test message is about 1.6 kB: a 5 kB budget lets three through a day.
bd_setup_poller "ca_file = $DC/cert.pem
daily_budget = 5k"
dovecot_deliver 10 1 new
bd mailbox add --user u1 --protocol imap --host 127.0.0.1 --port "$DC_IMAPS" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" >/dev/null
day1=$(date -u -d '2026-11-20 12:00' +%s)
day2=$((day1 + 86400))

BCCDROP_NOW=$day1 bd_poll --once >"$WORK/once1.log" 2>&1
is "budget: three messages on day one" "$(bd_sql 'SELECT count(*) FROM messages')" 3
like "status paused with the budget reason" "$(bd_sql 'SELECT status, reason FROM mailbox_status')" "^paused\|daily download budget of 5120 bytes reached; resumes tomorrow"
is "bytes counted for the day" "$(bd_sql "SELECT CASE WHEN bytes <= 5120 AND bytes > 4000 THEN 1 ELSE 0 END FROM mailbox_budget WHERE day='2026-11-20'")" 1
BCCDROP_NOW=$((day1 + 3600)) bd_poll --once >"$WORK/once2.log" 2>&1
is "same day: nothing more" "$(bd_sql 'SELECT count(*) FROM messages')" 3
BCCDROP_NOW=$day2 bd_poll --once >"$WORK/once3.log" 2>&1
is "next day: resumed, three more" "$(bd_sql 'SELECT count(*) FROM messages')" 6
like "mailbox list shows the pause" "$(bd mailbox list)" "paused: daily download budget"

# Inactive user: last_active_at 200 days before "now" (default 150 days).
sed -i 's/^daily_budget = 5k$/daily_budget = 2.5G/' "$CONF"
bd_sql "UPDATE users SET last_active_at = '$(date -u -d "@$((day2 - 200 * 86400))" +%Y-%m-%dT%H:%M:%SZ)' WHERE id='u1'"
BCCDROP_NOW=$((day2 + 60)) bd_poll --once >"$WORK/once4.log" 2>&1
is "inactive user: nothing fetched" "$(bd_sql 'SELECT count(*) FROM messages')" 6
like "status paused, reason names the inactivity" "$(bd_sql 'SELECT status, reason FROM mailbox_status')" "^paused\|user inactive since .* \(pause_after_inactive_days = 150\); resumes when the user is active again"
bd_sql "UPDATE users SET last_active_at = '$(date -u -d "@$day2" +%Y-%m-%dT%H:%M:%SZ)' WHERE id='u1'"
BCCDROP_NOW=$((day2 + 120)) bd_poll --once >"$WORK/once5.log" 2>&1
is "active again: the rest is synced" "$(bd_sql 'SELECT count(*) FROM messages'),$(bd_sql 'SELECT status FROM mailbox_status')" "10,completed"
done_testing
