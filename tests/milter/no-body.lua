-- Mail without a dropbox recipient: accepted at DATA, so the MTA sends no
-- header or body; only the needed protocol steps were negotiated.
dofile(dir .. "/common.lua")
local conn = connect()
ok(mt.test_option(conn, SMFIP_NOCONNECT), "connect step not skipped")
ok(mt.test_option(conn, SMFIP_NOHELO), "HELO step not skipped")
ok(not mt.test_action(conn, SMFIF_ADDHDRS), "asked to add headers")
ok(not mt.test_action(conn, SMFIF_CHGBODY), "asked to change the body")
envelope(conn, "<alice@corp.example>", { "<carol@client.example>", "<dave@other.example>" })
ok(mt.data(conn) == nil, "data failed")
expect(conn, SMFIR_ACCEPT, "DATA")
mt.disconnect(conn)
