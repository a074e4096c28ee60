#!/usr/bin/env python3
"""Send one message over SMTP and print what the server answered.

smtp-send.py PORT FROM RCPT[,RCPT...] FILE [--login NAME]

--login sets the SMTP AUTH identity through Postfix's XCLIENT (the test
Postfix trusts 127.0.0.1 for it), so {auth_authen} reaches the milter
without a SASL setup. Prints "rcpt ADDR CODE" for each refused recipient
and "data CODE TEXT"; exits 0 when the message was accepted."""
import smtplib
import sys


def main():
    port, sender, rcpts, path = sys.argv[1:5]
    login = None
    if len(sys.argv) > 6 and sys.argv[5] == "--login":
        login = sys.argv[6]
    with open(path, "rb") as f:
        data = f.read()
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=120)
    try:
        s.ehlo("client.test")
        if login:
            code, text = s.docmd("XCLIENT", "LOGIN=" + login)
            if code != 220:
                print("xclient", code, text.decode())
                return 1
            s.ehlo("client.test")
        refused = s.sendmail(sender, rcpts.split(","), data)
        for addr, (code, text) in refused.items():
            print("rcpt", addr, code, text.decode(errors="replace"))
        print("data 250")
        return 0
    except smtplib.SMTPRecipientsRefused as e:
        for addr, (code, text) in e.recipients.items():
            print("rcpt", addr, code, text.decode(errors="replace"))
        return 1
    except smtplib.SMTPDataError as e:
        print("data", e.smtp_code, e.smtp_error.decode(errors="replace"))
        return 1
    finally:
        try:
            s.quit()
        except Exception:
            pass


sys.exit(main())
