-- [milter] owner_proof = auth-or-dmarc (the default), trusted_authserv_id =
-- mx.corp.example: without AUTH, the owner's addresses are not enough; the
-- topmost Authentication-Results of the trusted host must report dmarc=pass
-- for the From domain. Comments, quoted strings and headers a client wrote
-- below ours never count.
dofile(dir .. "/common.lua")
local conn = connect()
-- RESULTS: Authentication-Results values, topmost first; RCPTS: besides
-- the dropbox; REPLY: the end-of-message answer expected.
local function message(id, results, from, rcpts, reply)
	local all = { "<alice-drop@crm.example>" }
	for _, r in ipairs(rcpts or { "<carol@client.example>" }) do table.insert(all, 1, r) end
	envelope(conn, "<alice@corp.example>", all)
	local h = headers(from or "Alice Smith <alice@corp.example>", "carol@client.example", id, "DMARC " .. id)
	for i = #results, 1, -1 do table.insert(h, 1, { "Authentication-Results", results[i] }) end
	content(conn, h, "Checked by the MX.\r\n")
	expect(conn, reply or SMFIR_CONTINUE, "EOM " .. id)
	if reply == nil then
		ok(mt.eom_check(conn, MT_RCPTDELETE, "<alice-drop@crm.example>"), "dropbox recipient not removed: " .. id)
	end
end
local pass = "mx.corp.example; spf=pass smtp.mailfrom=corp.example; dmarc=pass header.from=corp.example"
message("mt-dmarc-pass@corp.example", { pass })
message("mt-dmarc-untrusted@corp.example", { "evil.example; dmarc=pass header.from=corp.example" })
message("mt-dmarc-fail@corp.example", { "mx.corp.example; dmarc=fail header.from=corp.example" })
-- Three trusted failures that each carry "dmarc=pass" where it means nothing.
message("mt-dmarc-comment@corp.example", { "mx.corp.example; dmarc=fail (dmarc=pass) header.from=corp.example" })
message("mt-dmarc-quoted@corp.example",
	{ 'mx.corp.example; dmarc=fail reason="; dmarc=pass header.from=corp.example" header.from=corp.example' })
message("mt-dmarc-trailing@corp.example",
	{ "mx.corp.example; dmarc=fail header.from=corp.example (; dmarc=pass header.from=corp.example)" })
-- A client-supplied pass with our authserv-id, below the verifier's own.
message("mt-dmarc-forged-below@corp.example",
	{ "mx.corp.example; dmarc=fail header.from=corp.example", pass })
-- The verifier's pass on top decides, whatever is below it.
message("mt-dmarc-top@corp.example", { pass, "mx.corp.example; dmarc=fail header.from=corp.example" })
-- A pass for another domain than the From's.
message("mt-dmarc-unaligned@corp.example", { "mx.corp.example; dmarc=pass header.from=evil.example" })
-- Both sender fields forged as the owner, dropbox only: refused, saying why.
message("mt-forged-both@corp.example", {}, nil, {}, SMFIR_REPLYCODE)
-- The owner authenticated: no DMARC needed.
envelope(conn, "<alice@corp.example>", { "<carol@client.example>", "<alice-drop@crm.example>" }, "alice@corp.example")
content(conn, headers("Alice Smith <alice@corp.example>", "carol@client.example", "mt-dmarc-auth@corp.example",
	"AUTH"), "Logged in.\r\n")
expect(conn, SMFIR_CONTINUE, "EOM with AUTH")
mt.disconnect(conn)
