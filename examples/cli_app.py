"""A typical command-line tool: imports everything it might need at the top, uses little.

Run as ``python examples/cli_app.py --help`` (prints usage, touches none of the heavy
modules) or ``python examples/cli_app.py mail`` (uses only the email package).
``EXAMPLE_LAZY=1`` makes it call ``lazyhook.install()`` first; nothing else changes.
"""

import os
import sys

if os.environ.get("EXAMPLE_LAZY") == "1":
    import lazyhook

    lazyhook.install()

import asyncio
import decimal
import email.mime.multipart
import email.mime.text
import http.client
import json
import logging.handlers
import sqlite3
import tarfile
import unittest.mock
import urllib.request
import xml.dom.minidom
import zipfile
from difflib import SequenceMatcher

USAGE = "usage: cli_app.py [--help | mail | diff A B | fetch URL | db | zip]"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command = argv[0]
    if command == "mail":
        msg = email.mime.multipart.MIMEMultipart()
        msg.attach(email.mime.text.MIMEText("hello"))
        print(msg["Content-Type"].split(";")[0])
    elif command == "diff":
        print(round(SequenceMatcher(None, argv[1], argv[2]).ratio(), 3))
    elif command == "fetch":
        print(urllib.request.Request(argv[1]).full_url, http.client.OK)
    elif command == "db":
        con = sqlite3.connect(":memory:")
        print(con.execute("select 1 + 1").fetchone()[0])
    elif command == "zip":
        print(zipfile.is_zipfile(__file__), tarfile.is_tarfile(__file__))
    else:
        print(json.dumps({"unknown": command}), asyncio, decimal, logging.handlers)
        print(xml.dom.minidom, unittest.mock)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
