#!/usr/bin/python3
"""An SMTP sink for testing the sender: accepts every message on loopback
and appends one line per recipient to a file:
    <X-Lead-Gen-Message-Id> <recipient> <Subject>

    smtp_sink.py PORT FILE
"""

import email
import email.policy
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        m = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            for rcpt in envelope.rcpt_tos:
                f.write("%s %s %s\n" % (m["X-Lead-Gen-Message-Id"], rcpt, m["Subject"]))
        return "250 OK queued as sink-%s" % m["X-Lead-Gen-Message-Id"]


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    open(path, "a").close()
    c = Controller(Sink(path), hostname="127.0.0.1", port=port)
    c.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    print("listening on 127.0.0.1:%d" % port, flush=True)
    done.wait()
    c.stop()


if __name__ == "__main__":
    main()
