-- Shared by the miltertest scripts: connect to the running bccdrop-milter
-- (socket passed with -D sock=...) and small assertion helpers.
function connect()
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then error("cannot connect to " .. sock) end
	local err = mt.negotiate(conn, nil, nil, nil)
	if err ~= nil then error("negotiate: " .. err) end
	return conn
end

function expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		mt.echo("FAILED: " .. what .. ": reply " .. tostring(got) .. ", expected " .. tostring(want))
		error(what .. ": reply " .. tostring(got) .. ", expected " .. tostring(want))
	end
end

-- miltertest does not print a script's error: say it first.
function ok(cond, what)
	if not cond then
		mt.echo("FAILED: " .. what)
		error(what)
	end
end

-- MAIL FROM with optional {auth_authen}; each RCPT must get RCPT_REPLY.
function envelope(conn, from, rcpts, auth, rcpt_reply)
	if auth ~= nil then
		mt.macro(conn, SMFIC_MAIL, "i", "QID" .. tostring(math.random(100000)), "{auth_authen}", auth)
	else
		mt.macro(conn, SMFIC_MAIL, "i", "QID" .. tostring(math.random(100000)))
	end
	ok(mt.mailfrom(conn, from) == nil, "mailfrom failed")
	if not mt.test_option(conn, SMFIP_NR_MAIL) then expect(conn, SMFIR_CONTINUE, "MAIL " .. from) end
	for _, r in ipairs(rcpts) do
		ok(mt.rcptto(conn, r) == nil, "rcptto failed")
		expect(conn, rcpt_reply or SMFIR_CONTINUE, "RCPT " .. r)
	end
end

-- DATA, the header fields (list of {name, value}), a body, end of message.
function content(conn, headers, body)
	ok(mt.data(conn) == nil, "data failed")
	expect(conn, SMFIR_CONTINUE, "DATA")
	for _, h in ipairs(headers) do
		ok(mt.header(conn, h[1], h[2]) == nil, "header failed")
		if not mt.test_option(conn, SMFIP_NR_HDR) then expect(conn, SMFIR_CONTINUE, "header " .. h[1]) end
	end
	-- No EOH: the filter negotiated SMFIP_NOEOH, which miltertest honours.
	if not mt.test_option(conn, SMFIP_NOEOH) then ok(mt.eoh(conn) == nil, "eoh failed") end
	ok(mt.bodystring(conn, body) == nil, "body failed")
	if not mt.test_option(conn, SMFIP_NR_BODY) then expect(conn, SMFIR_CONTINUE, "body") end
	ok(mt.eom(conn) == nil, "eom failed")
end

function headers(from, to, id, subject)
	return {
		{ "From", from },
		{ "To", to },
		{ "Subject", subject },
		{ "Message-ID", "<" .. id .. ">" },
		{ "Date", "Tue, 10 Mar 2026 12:00:00 +0000" },
	}
end
