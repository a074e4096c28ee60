-- Only the dropbox as recipient: the message is captured and discarded (it
-- is neither delivered nor bounced). Here the sender authenticated with an
-- alias login, so the header From does not matter.
dofile(dir .. "/common.lua")
local conn = connect()
envelope(conn, "<alice.private@home.example>", { "alice-drop@crm.example" }, "a.smith@corp.example")
content(conn, headers("Alice (home) <alice.private@home.example>", "Carol <carol@client.example>",
	"mt-discard@corp.example", "From home"), "Sent from home.\r\n")
expect(conn, SMFIR_DISCARD, "EOM")
-- A second transaction on the same connection starts clean.
envelope(conn, "<alice@corp.example>", { "<carol@client.example>" })
ok(mt.data(conn) == nil, "data failed")
expect(conn, SMFIR_ACCEPT, "DATA of mail without a dropbox")
mt.disconnect(conn)
