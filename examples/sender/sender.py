#!/usr/bin/python3
"""A lead_gen outbox sender: LISTENs on lead_gen_outbox, claims due messages,
renders the template of each message's content key, sends it by SMTP and
acks it (or fails it, to be retried or dead-lettered).

    sender.py --dsn 'dbname=crm user=lead_gen_sender' --smtp localhost:25 \
              --from 'news@example.com' --templates ./templates

The role needs only the sender access level:
    SELECT lead_gen.grant_access('lead_gen_sender', 'sender');

Delivery is at least once towards the SMTP server and exactly once in the
outbox: a message is acked after the server accepted it; a worker killed
between the two leaves the message claimed, and another worker sends it
again after the lease.  Every message carries its lead_gen message id
(Message-ID and X-Lead-Gen-Message-Id) so that opens, clicks, bounces and
unsubscribes can come back as activity with properties->>'message_id'.
"""

import argparse
import email.message
import email.utils
import os
import select
import signal
import smtplib
import string
import sys
import time

import psycopg

CHANNEL = "lead_gen_outbox"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dsn", default=os.environ.get("LEAD_GEN_DSN", ""),
                   help="libpq connection string (default: $LEAD_GEN_DSN)")
    p.add_argument("--worker", default="%s-%d" % (os.uname().nodename, os.getpid()),
                   help="this worker's name in the outbox (default: host-pid)")
    p.add_argument("--smtp", default="localhost:25", help="SMTP server host:port")
    p.add_argument("--from", dest="sender", required=True, help="From: address")
    p.add_argument("--templates", required=True,
                   help="directory of <content_key>.txt: a Subject: line, a blank line, the body")
    p.add_argument("--batch", type=int, default=50, help="messages per claim")
    p.add_argument("--lease", default="5 minutes", help="how long a claim hides its messages")
    p.add_argument("--poll", type=float, default=30.0,
                   help="seconds to wait for a NOTIFY before claiming anyway (retries, ended leases)")
    p.add_argument("--idle-exit", type=float, default=None,
                   help="exit after this many seconds without a message (default: run forever)")
    p.add_argument("--stall-after-claim", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


class Template:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            head, _, body = f.read().partition("\n\n")
        if not head.startswith("Subject:"):
            raise ValueError("%s: the first line must be Subject: ..." % path)
        self.subject = string.Template(head[len("Subject:"):].strip())
        self.body = string.Template(body)

    def render(self, fields):
        # $first_name, $company_name, ... and $attributes_<name>
        flat = {k: v for k, v in fields.items() if not isinstance(v, (dict, list))}
        for k, v in (fields.get("attributes") or {}).items():
            flat["attributes_" + k] = v
        flat = {k: str(v) for k, v in flat.items()}
        return self.subject.safe_substitute(flat), self.body.safe_substitute(flat)


class Sender:
    def __init__(self, args):
        self.args = args
        host, _, port = args.smtp.rpartition(":")
        self.smtp_host, self.smtp_port = host or "localhost", int(port)
        self.domain = args.sender.rpartition("@")[2] or "localhost"
        self.templates = {}
        self.stop = False
        # a signal during the wait wakes it (set_wakeup_fd writes here)
        self.wakeup, wfd = os.pipe()
        os.set_blocking(wfd, False)
        signal.set_wakeup_fd(wfd)

    def template(self, key):
        if key not in self.templates:
            path = os.path.join(self.args.templates, key + ".txt")
            self.templates[key] = Template(path) if os.path.exists(path) else None
        return self.templates[key]

    def compose(self, msg):
        t = self.template(msg["content_key"])
        if t is None:
            raise LookupError("no template for content key %s" % msg["content_key"])
        subject, body = t.render(msg["fields"])
        m = email.message.EmailMessage()
        m["From"] = self.args.sender
        m["To"] = msg["fields"]["email"]
        m["Subject"] = subject
        m["Date"] = email.utils.formatdate(localtime=False)
        m["Message-ID"] = "<lead-gen-%d@%s>" % (msg["message_id"], self.domain)
        m["X-Lead-Gen-Message-Id"] = str(msg["message_id"])
        m.set_content(body)
        return m

    def deliver(self, conn, smtp, msg):
        """Sends one claimed message and acks or fails it; returns the SMTP
        connection to use next (None after a connection error)."""
        mid, worker = msg["message_id"], self.args.worker
        if msg["channel"] != "email" or not msg["fields"].get("email"):
            conn.execute("SELECT lead_gen.fail_message(%s, %s, now() + interval '1 day', %s)",
                         (mid, "this sender sends e-mail only", worker))
            return smtp
        try:
            m = self.compose(msg)
        except (LookupError, ValueError, KeyError) as e:
            # an operator adds the template; until then, retry hourly
            conn.execute("SELECT lead_gen.fail_message(%s, %s, now() + interval '1 hour', %s)",
                         (mid, str(e), worker))
            return smtp
        try:
            if smtp is None:
                smtp = smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=30)
            smtp.send_message(m)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            return self.failed(conn, smtp, mid, code, text)
        except smtplib.SMTPResponseException as e:
            return self.failed(conn, smtp, mid, e.smtp_code, e.smtp_error)
        except (OSError, smtplib.SMTPException) as e:
            conn.execute("SELECT lead_gen.fail_message(%s, %s, NULL, %s)", (mid, "smtp: %s" % e, worker))
            return None
        conn.execute("SELECT lead_gen.ack_message(%s, %s, %s)", (mid, m["Message-ID"], worker))
        return smtp

    def failed(self, conn, smtp, mid, code, text):
        """The server refused a message: a temporary refusal (4xx) retries
        after the outbox's delay, a permanent one (5xx) in a day, and either
        is dead after max_attempts."""
        error = "smtp %d %s" % (code, text.decode(errors="replace") if isinstance(text, bytes) else text)
        conn.execute("SELECT lead_gen.fail_message(%s, %s, CASE WHEN %s THEN now() + interval '1 day' END, %s)",
                     (mid, error, 500 <= code < 600, self.args.worker))
        return smtp

    def claim(self, conn):
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        return cur.execute("SELECT * FROM lead_gen.claim_messages(%s, %s, %s::interval)",
                           (self.args.worker, self.args.batch, self.args.lease)).fetchall()

    def run(self):
        conn = psycopg.connect(self.args.dsn, autocommit=True, application_name="lead_gen sender")
        conn.execute("LISTEN " + CHANNEL)
        # a NOTIFY that arrives while a claim runs is read with its result,
        # not left on the socket for select() to see: remember it
        notified = []
        conn.add_notify_handler(lambda n: notified.append(n))
        smtp = None
        idle_since = time.monotonic()
        while not self.stop:
            notified.clear()
            batch = self.claim(conn)
            if self.args.stall_after_claim and batch:
                # for tests: a worker that dies holding its claim
                while True:
                    time.sleep(3600)
            for msg in batch:
                smtp = self.deliver(conn, smtp, msg)
            if batch:
                idle_since = time.monotonic()
            if batch or notified:
                continue
            if self.args.idle_exit is not None and time.monotonic() - idle_since >= self.args.idle_exit:
                break
            wait = self.args.poll
            if self.args.idle_exit is not None:
                wait = min(wait, max(0.05, self.args.idle_exit - (time.monotonic() - idle_since)))
            # woken by a NOTIFY (the next claim reads it off the socket) or
            # by the poll interval, for retries and ended leases
            ready, _, _ = select.select([conn.fileno(), self.wakeup], [], [], wait)
            if self.wakeup in ready:
                os.read(self.wakeup, 512)
        if smtp is not None:
            try:
                smtp.quit()
            except smtplib.SMTPException:
                pass
        conn.close()


def main(argv):
    args = parse_args(argv)
    s = Sender(args)

    def stop(signum, frame):
        s.stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    s.run()


if __name__ == "__main__":
    main(sys.argv[1:])
