-- [milter] require_dmarc = true, trusted_authserv_id = mx.corp.example:
-- without AUTH, the owner's addresses are not enough; the trusted host's
-- Authentication-Results must report dmarc=pass.
dofile(dir .. "/common.lua")
local conn = connect()
local function message(id, results)
	envelope(conn, "<alice@corp.example>", { "<carol@client.example>", "<alice-drop@crm.example>" })
	local h = headers("Alice Smith <alice@corp.example>", "carol@client.example", id, "DMARC " .. id)
	table.insert(h, 1, { "Authentication-Results", results })
	content(conn, h, "Checked by the MX.\r\n")
	expect(conn, SMFIR_CONTINUE, "EOM " .. id)
	ok(mt.eom_check(conn, MT_RCPTDELETE, "<alice-drop@crm.example>"), "dropbox recipient not removed: " .. id)
end
message("mt-dmarc-pass@corp.example", "mx.corp.example; spf=pass smtp.mailfrom=corp.example; dmarc=pass header.from=corp.example")
message("mt-dmarc-untrusted@corp.example", "evil.example; dmarc=pass header.from=corp.example")
message("mt-dmarc-fail@corp.example", "mx.corp.example; dmarc=fail header.from=corp.example")
mt.disconnect(conn)
