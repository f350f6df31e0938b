"""A real SMTP server for the tests: every accepted message is written to DIR as one file.

Recipients whose address contains "reject" are refused for good (550); those containing
"flaky" are refused once for now (451), then accepted. DELAY seconds pass before each
message is accepted, so a test can stop a worker while mail is going out.

usage: smtp_sink.py HOST:PORT DIR [DELAY]
"""

import asyncore
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import smtpd  # noqa: E402  (stdlib up to Python 3.11)


class Sink(smtpd.SMTPServer):
    def __init__(self, address, directory, delay):
        super().__init__(address, None, decode_data=False)
        self.directory = directory
        self.delay = delay
        self.accepted = 0

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        if any("reject" in r for r in rcpttos):
            return "550 5.1.1 Mailbox unavailable"
        flaky = [r for r in rcpttos if "flaky" in r]
        if flaky:
            marker = os.path.join(self.directory, "refused-once-" + flaky[0])
            if not os.path.exists(marker):
                open(marker, "w").close()
                return "451 4.3.0 Try again later"
        if self.delay:
            time.sleep(self.delay)
        self.accepted += 1
        name = "%d-%06d.eml" % (time.time_ns(), self.accepted)
        temporary = os.path.join(self.directory, "." + name)
        with open(temporary, "wb") as f:
            f.write(data)
        os.rename(temporary, os.path.join(self.directory, name))
        return None


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    directory = sys.argv[2]
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    os.makedirs(directory, exist_ok=True)
    Sink((host, int(port)), directory, delay)
    print("listening", flush=True)
    asyncore.loop()


if __name__ == "__main__":
    main()
