-- Nobody but the owner may file into a dropbox.
dofile(dir .. "/common.lua")
local conn = connect()
-- A stranger's envelope sender: refused at RCPT, other recipients accepted.
envelope(conn, "<mallory@evil.example>", { "<carol@client.example>" })
ok(mt.rcptto(conn, "<alice-drop@crm.example>") == nil, "rcptto failed")
expect(conn, SMFIR_REPLYCODE, "RCPT dropbox from a stranger")
ok(mt.data(conn) == nil, "data failed")
expect(conn, SMFIR_ACCEPT, "DATA after the dropbox was refused")
-- Another user authenticated: refused at RCPT.
envelope(conn, "<alice@corp.example>", {}, "bob@corp.example")
ok(mt.rcptto(conn, "<alice-drop@crm.example>") == nil, "rcptto failed")
expect(conn, SMFIR_REPLYCODE, "RCPT dropbox with another user's AUTH")
mt.abort(conn)
-- An unknown address at a dropbox domain: refused.
envelope(conn, "<alice@corp.example>", {})
ok(mt.rcptto(conn, "<nobody-drop@crm.example>") == nil, "rcptto failed")
expect(conn, SMFIR_REPLYCODE, "RCPT unknown dropbox")
mt.abort(conn)
-- Forged envelope sender, but the header From gives it away: the dropbox
-- recipient is removed at the end without capture; Carol still gets it.
envelope(conn, "<alice@corp.example>", { "<carol@client.example>", "<alice-drop@crm.example>" })
content(conn, headers("Mallory <mallory@evil.example>", "carol@client.example", "mt-spoofed@evil.example",
	"Invoice"), "Pay here.\r\n")
expect(conn, SMFIR_CONTINUE, "EOM")
ok(mt.eom_check(conn, MT_RCPTDELETE, "<alice-drop@crm.example>"), "spoofed dropbox recipient not removed")
mt.disconnect(conn)
