"""Input files for the programs corpus (tests/test_fidelity_programs.py).

Everything a program of the corpus reads: a small module to tokenize, disassemble, document,
lint and reformat; a unittest directory; a pytest project (fixtures, parametrisation, a
failing test); SymPy scripts in the style of SymPy's tutorial; a Flask app; templates, text
documents and data files.  They are written as strings (not files under tests/) so that
neither pytest nor ruff sees them as the project's own code.  ``write_data`` lays them out
in a directory, with the binary inputs (archives, a pickle, a zipapp) built deterministically.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zipapp
import zipfile
from pathlib import Path

from fidelity_programs_projects import PROJECTS
from fidelity_programs_scripts import SCRIPTS

TEXTPROC = '''\
"""Word statistics for plain-text files.

>>> top_words("a b a c a b", 2)
[('a', 3), ('b', 2)]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import re
import sys
from pathlib import Path

WORD = re.compile(r"[A-Za-z']+")


@dataclasses.dataclass(frozen=True)
class Report:
    """Counts for one text."""

    words: int
    lines: int
    top: list[tuple[str, int]]

    def render(self) -> str:
        """Format the report.

        >>> Report(3, 1, [("a", 2)]).render()
        'lines=1 words=3 top=a:2'
        """
        top = " ".join(f"{w}:{n}" for w, n in self.top)
        return f"lines={self.lines} words={self.words} top={top}"


def top_words(text: str, n: int = 3) -> list[tuple[str, int]]:
    """The *n* most frequent words, most frequent first."""
    counts = collections.Counter(w.lower() for w in WORD.findall(text))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def analyse(text: str, n: int = 3) -> Report:
    return Report(len(WORD.findall(text)), text.count("\\n") + 1, top_words(text, n))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="textproc", description="Word statistics.")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("-n", type=int, default=3)
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            text = path.read_text()
        except OSError as exc:
            print(f"textproc: {exc.strerror}: {path}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: {analyse(text, args.n).render()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
'''

MESSY = """\
import sys, os
from collections import OrderedDict
import json
def load( path ):
    with open(path) as f :
        data=json.load(f)
    return  data
class Config :
    def __init__(self,values = None):
        self.values=values or {}
    def get(self,key,default = None) : return self.values.get(key,default)
square = lambda a : a*a
def run(cmd) :
    import subprocess
    return subprocess.call("ls " + cmd, shell=True)
if __name__=='__main__':
    print(load(sys.argv[1]), undefined_name)
"""

SAMPLE_JSON = """\
{"name": "lazyhook-corpus", "version": 3, "tags": ["a", "b", "\\u00e9t\\u00e9"],
 "nested": {"z": [1, 2.5, null, true], "a": {"deep": "value"}}, "empty": {}}
"""

GUIDE_TXT = """\
Using textproc
==============

>>> from textproc import top_words, analyse
>>> top_words("the cat and the hat", 1)
[('the', 2)]
>>> analyse("one two\\nthree").lines
2
>>> from fractions import Fraction
>>> Fraction(3, 6) + Fraction(1, 3)
Fraction(5, 6)
>>> from decimal import Decimal, InvalidOperation
>>> try:
...     Decimal("not a number")
... except InvalidOperation:
...     print("rejected")
rejected
"""


NOTES_MD = """\
# Release notes

Some *emphasis*, some **bold** and `inline code`.

## Table

| name | value |
|------|------:|
| a    | 1     |
| b    | 22    |

## Code

```python
def hello(name):
    return f"hello {name}"
```

1. first
2. second
   - nested
"""

GUIDE_RST = """\
=========
The guide
=========

.. contents::

Intro
=====

Some *emphasis* and ``literal`` text, a footnote [#f1]_ and a `link <https://example.org>`_.

.. note:: A note directive.

.. code-block:: python

   print("hello")

Table
=====

=====  =====
 a      b
=====  =====
 1      2
=====  =====

.. [#f1] The footnote.
"""

CONFIG_YAML = """\
---
name: corpus
servers:
  - host: alpha
    port: 8080
  - host: beta
    port:   8081
flags: {debug: true,  verbose: false}
name: duplicate
trailing: spaces   \n"""

DATA_CSV = """\
city,country,population,area_km2
Lisbon,Portugal,545796,100.05
Porto,Portugal,231800,41.42
Madrid,Spain,3223334,604.3
Seville,Spain,684234,140.8
Lyon,France,513275,47.87
"""

QUERY_SQL = (
    "select c.name, count(*) as n from cities c join countries k on c.country = k.id "
    "where k.region = 'EU' and c.population > 100000 group by c.name order by n desc;\n"
)

TEMPLATES = {
    "templates/base.html": (
        "<html><head><title>{% block title %}{% endblock %}</title></head>\n"
        "<body>{% block body %}{% endblock %}</body></html>\n"
    ),
    "templates/page.html": (
        '{% extends "base.html" %}{% block title %}{{ title|title }}{% endblock %}\n'
        "{% block body %}<ul>{% for c in cities|sort(attribute='population', reverse=True) %}\n"
        "<li>{{ c.city }} ({{ c.country|upper }}): {{ '{:,}'.format(c.population) }}</li>\n"
        "{% endfor %}</ul>{{ note|e }}{% endblock %}\n"
    ),
}

ZIPAPP_MAIN = """\
import sys
from collections import Counter

from wordapp import cli

sys.exit(cli.run(sys.argv[1:], Counter))
"""

ZIPAPP_CLI = """\
import argparse
import json
import textwrap


def run(argv, counter):
    parser = argparse.ArgumentParser(prog="wordapp")
    parser.add_argument("words", nargs="*")
    args = parser.parse_args(argv)
    counts = counter(args.words)
    print(json.dumps(counts.most_common(), indent=1))
    print(textwrap.fill(" ".join(sorted(counts)), width=20))
    return 0 if counts else 3
"""

FILES: dict[str, str] = {
    "textproc.py": TEXTPROC,
    "messy.py": MESSY,
    "broken.py": "def broken(:\n    pass\n",
    "py2.py": 'print "hello %s" % name\nexec "x = 1"\n',
    "sample.json": SAMPLE_JSON,
    "guide.txt": GUIDE_TXT,
    "notes.md": NOTES_MD,
    "guide.rst": GUIDE_RST,
    "config.yaml": CONFIG_YAML,
    "cities.csv": DATA_CSV,
    "query.sql": QUERY_SQL,
    "b64.txt": "aGVsbG8sIGxhenkgd29ybGQK\n",
    **PROJECTS,
    **TEMPLATES,
    **SCRIPTS,
}

FIXED_TIME = 1_700_000_000  # archives get fixed timestamps: listings are deterministic


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), FIXED_TIME, 0o644
            info.uname = info.gname = "corpus"
            tar.addfile(info, io.BytesIO(data))


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 2, 29, 12, 0, 0)), data)


def write_data(root: Path) -> None:
    """Lay out the corpus inputs in *root* (created)."""
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    members = {rel: FILES[rel].encode() for rel in ("textproc.py", "sample.json", "notes.md")}
    _tar(root / "archive.tar", members)
    _zip(root / "archive.zip", members)
    (root / "payload.bin").write_bytes(bytes(range(256)) * 3)
    record = {"name": "corpus", "values": (1, 2.5, None), "when": frozenset({"x"}), "n": 2**70}
    (root / "data.pickle").write_bytes(pickle.dumps(record, protocol=2))
    app = root / "wordapp-src"
    (app / "wordapp").mkdir(parents=True)
    (app / "__main__.py").write_text(ZIPAPP_MAIN)
    (app / "wordapp" / "__init__.py").write_text("")
    (app / "wordapp" / "cli.py").write_text(ZIPAPP_CLI)
    zipapp.create_archive(app, root / "wordapp.pyz")
