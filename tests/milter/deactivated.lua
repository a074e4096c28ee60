-- A user deactivated in the CRM: their dropbox refuses new mail at RCPT
-- (550 5.1.1), other recipients of the same transaction are accepted.
dofile(dir .. "/common.lua")
local conn = connect()
envelope(conn, "<bob@corp.example>", { "<carol@client.example>" })
ok(mt.rcptto(conn, "<bob-drop@crm.example>") == nil, "rcptto failed")
expect(conn, SMFIR_REPLYCODE, "RCPT dropbox of a deactivated user")
ok(mt.data(conn) == nil, "data failed")
expect(conn, SMFIR_ACCEPT, "DATA after the dropbox was refused")
mt.disconnect(conn)
