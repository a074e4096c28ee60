-- [milter] owner_proof = auth: without SMTP AUTH the dropbox is refused at
-- RCPT, even for the owner's own addresses; with it, mail is captured.
dofile(dir .. "/common.lua")
local conn = connect()
envelope(conn, "<alice@corp.example>", { "<carol@client.example>" })
ok(mt.rcptto(conn, "<alice-drop@crm.example>") == nil, "rcptto failed")
expect(conn, SMFIR_REPLYCODE, "RCPT dropbox without AUTH")
mt.abort(conn)
envelope(conn, "<alice@corp.example>", { "<carol@client.example>", "<alice-drop@crm.example>" }, "alice@corp.example")
content(conn, headers("Alice Smith <alice@corp.example>", "carol@client.example", "mt-auth-only@corp.example",
	"AUTH only"), "Logged in.\r\n")
expect(conn, SMFIR_CONTINUE, "EOM with AUTH")
ok(mt.eom_check(conn, MT_RCPTDELETE, "<alice-drop@crm.example>"), "dropbox recipient not removed")
mt.disconnect(conn)
