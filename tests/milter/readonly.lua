-- The database cannot be written: 451 4.3.0 at end of message, so the
-- client keeps the message and retries.
dofile(dir .. "/common.lua")
local conn = connect()
envelope(conn, "<alice@corp.example>", { "<carol@client.example>", "<alice-drop@crm.example>" })
content(conn, headers("alice@corp.example", "carol@client.example", "mt-readonly@corp.example", "Read-only"),
	"This one cannot be stored.\r\n")
expect(conn, SMFIR_REPLYCODE, "EOM")
ok(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.0",
	"bccdrop: mail capture storage temporarily unavailable, try again later"), "no 451 4.3.0 reply")
ok(not mt.eom_check(conn, MT_RCPTDELETE, "<alice-drop@crm.example>"), "recipient deleted although not stored")
mt.disconnect(conn)
