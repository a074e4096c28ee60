-- To a contact + BCC the dropbox (mixed case, angle brackets): captured, and
-- exactly the dropbox recipient, as received, is deleted.
dofile(dir .. "/common.lua")
local conn = connect()
ok(mt.test_action(conn, SMFIF_DELRCPT), "DELRCPT not negotiated")
envelope(conn, "<alice@corp.example>", { "<carol@client.example>", "<Alice-Drop@CRM.Example>" })
content(conn, headers("Alice Smith <alice@corp.example>", "Carol <carol@client.example>", "mt-deleted@corp.example",
	"Proposal"), "Hello Carol,\r\nhere is the proposal.\r\n")
expect(conn, SMFIR_CONTINUE, "EOM")
ok(mt.eom_check(conn, MT_RCPTDELETE, "<Alice-Drop@CRM.Example>"), "dropbox recipient not deleted")
ok(not mt.eom_check(conn, MT_RCPTDELETE, "<carol@client.example>"), "contact recipient deleted")
mt.disconnect(conn)
