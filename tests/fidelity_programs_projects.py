"""Projects for the programs corpus: a unittest directory, a pytest project (fixtures,
parametrisation, a failing test, xfail, skip, a warnings summary), a Sphinx and an MkDocs
project, a cookiecutter template and a noxfile."""

from __future__ import annotations

UNIT_TEST = """\
import unittest
from pathlib import Path

import textproc


class TopWordsTest(unittest.TestCase):
    def test_counts(self):
        self.assertEqual(textproc.top_words("b a b", 1), [("b", 2)])

    def test_ties_sorted(self):
        for text, expected in [("x y", ["x", "y"]), ("b a", ["a", "b"])]:
            with self.subTest(text=text):
                self.assertEqual([w for w, _ in textproc.top_words(text)], expected)

    def test_wrong_on_purpose(self):
        self.assertEqual(textproc.analyse("one two").words, 3)

    @unittest.skip("not implemented")
    def test_unicode(self):
        pass

    @unittest.expectedFailure
    def test_apostrophes(self):
        self.assertEqual(textproc.top_words("don't", 1), [("don", 1)])


class MainTest(unittest.TestCase):
    def test_missing_file(self):
        self.assertEqual(textproc.main([str(Path("no-such-file.txt"))]), 1)
"""

PYTEST_PROJECT = {
    "proj/pyproject.toml": """\
[project]
name = "inventory"
version = "0.1"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
markers = ["slow: a slow test"]
addopts = "-p no:cacheprovider"
""",
    "proj/src/inventory/__init__.py": '''\
"""A tiny inventory package."""

from .errors import InventoryError, OutOfStock
from .models import Inventory, Item

__all__ = ["Inventory", "InventoryError", "Item", "OutOfStock"]
''',
    "proj/src/inventory/errors.py": """\
class InventoryError(Exception):
    pass


class OutOfStock(InventoryError):
    def __init__(self, sku, wanted, have):
        super().__init__(f"{sku}: wanted {wanted}, have {have}")
        self.sku = sku
""",
    "proj/src/inventory/models.py": '''\
from __future__ import annotations

import dataclasses
import decimal
import functools

from .errors import OutOfStock


@dataclasses.dataclass
class Item:
    sku: str
    price: decimal.Decimal
    count: int = 0


class Inventory:
    """Items by SKU.

    >>> inv = Inventory([Item("a", decimal.Decimal("1.50"), 2)])
    >>> inv.value()
    Decimal('3.00')
    """

    def __init__(self, items=()):
        self.items = {i.sku: i for i in items}

    def take(self, sku: str, n: int = 1) -> Item:
        item = self.items[sku]
        if item.count < n:
            raise OutOfStock(sku, n, item.count)
        item.count -= n
        return item

    def value(self) -> decimal.Decimal:
        return functools.reduce(
            lambda acc, i: acc + i.price * i.count, self.items.values(), decimal.Decimal(0)
        )
''',
    # Code from before Python 3.13 that still uses imghdr: importing it warns (pytest's
    # warnings summary shows where).
    "proj/src/inventory/images.py": """\
import imghdr


def image_kind(data: bytes):
    return imghdr.what(None, h=data)
""",
    "proj/src/inventory/report.py": """\
import csv
import io
import json


def to_csv(inventory) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\\n")
    writer.writerow(["sku", "price", "count"])
    for item in sorted(inventory.items.values(), key=lambda i: i.sku):
        writer.writerow([item.sku, item.price, item.count])
    return out.getvalue()


def to_json(inventory) -> str:
    rows = {i.sku: {"price": str(i.price), "count": i.count} for i in inventory.items.values()}
    return json.dumps(rows, sort_keys=True)
""",
    "proj/tests/conftest.py": """\
import decimal

import pytest

from inventory import Inventory, Item


@pytest.fixture
def inventory():
    return Inventory([
        Item("apple", decimal.Decimal("0.50"), 10),
        Item("pear", decimal.Decimal("0.75"), 0),
    ])


@pytest.fixture
def report_dir(tmp_path):
    d = tmp_path / "reports"
    d.mkdir()
    return d
""",
    "proj/tests/test_models.py": """\
import decimal

import pytest

from inventory import OutOfStock


@pytest.mark.parametrize("n, left", [(1, 9), (5, 5), (10, 0)])
def test_take(inventory, n, left):
    assert inventory.take("apple", n).count == left


def test_out_of_stock(inventory):
    with pytest.raises(OutOfStock, match="pear: wanted 1, have 0"):
        inventory.take("pear")


def test_value(inventory):
    assert inventory.value() == decimal.Decimal("5.00")


def test_value_after_take_is_wrong_on_purpose(inventory):
    inventory.take("apple", 2)
    assert {"value": inventory.value(), "n": 8} == {"value": decimal.Decimal("4.50"), "n": 8}


@pytest.mark.xfail(reason="unknown SKUs raise KeyError", strict=True)
def test_unknown_sku(inventory):
    with pytest.raises(OutOfStock):
        inventory.take("plum")


@pytest.mark.slow
@pytest.mark.skip(reason="slow")
def test_many_takes(inventory):
    pass
""",
    "proj/tests/test_report.py": """\
import json

from inventory.report import to_csv, to_json


def test_csv(inventory, report_dir):
    path = report_dir / "inv.csv"
    path.write_text(to_csv(inventory))
    assert path.read_text().splitlines()[1] == "apple,0.50,10"


def test_json(inventory, capsys):
    print(to_json(inventory))
    out = json.loads(capsys.readouterr().out)
    assert out["pear"] == {"price": "0.75", "count": 0}


def test_image_kind():
    from inventory.images import image_kind

    assert image_kind(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8)) == "png"


def test_monkeypatched_env(monkeypatch):
    monkeypatch.setenv("INVENTORY_MODE", "test")
    import os

    assert os.environ["INVENTORY_MODE"] == "test"
""",
}


SPHINX_PROJECT = {
    "docs/conf.py": """\
import os
import sys

sys.path.insert(0, os.path.abspath(".."))
project = "corpus"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.doctest"]
""",
    "docs/index.rst": """\
Corpus
======

.. automodule:: textproc
   :members:

.. toctree::

   usage
""",
    "docs/usage.rst": """\
Usage
=====

Run ``textproc FILE...``; see :func:`textproc.main` and :class:`textproc.Report`.

.. doctest::

   >>> from textproc import top_words
   >>> top_words("b a b")
   [('b', 2), ('a', 1)]
""",
}

MKDOCS_PROJECT = {
    "site/mkdocs.yml": "site_name: Corpus\nnav:\n  - Home: index.md\n  - Notes: notes.md\n",
    "site/docs/index.md": "# Corpus\n\nSee [the notes](notes.md).\n",
    "site/docs/notes.md": "# Notes\n\n- one\n- two\n\n```python\nprint(1)\n```\n",
}

COOKIECUTTER_TEMPLATE = {
    "template/cookiecutter.json": (
        '{"project_name": "Corpus Tool", '
        "\"slug\": \"{{ cookiecutter.project_name|lower|replace(' ', '_') }}\", "
        '"license": ["MIT", "BSD-3-Clause"]}\n'
    ),
    "template/{{cookiecutter.slug}}/README.md": (
        "# {{ cookiecutter.project_name }}\n\nLicense: {{ cookiecutter.license }}\n"
    ),
    "template/{{cookiecutter.slug}}/{{cookiecutter.slug}}.py": (
        '"""{{ cookiecutter.project_name }}."""\n\nNAME = "{{ cookiecutter.slug }}"\n'
    ),
}

NOXFILE = {
    "noxfile.py": """\
import nox


@nox.session(python=False)
def lint(session):
    \"\"\"Run the linters.\"\"\"


@nox.session(python=["3.11", "3.12"])
@nox.parametrize("django", ["4.2", "5.0"])
def tests(session, django):
    \"\"\"Run the test suite.\"\"\"
""",
}

PROJECTS: dict[str, str] = {
    "unit_tests/test_textproc.py": UNIT_TEST,
    **PYTEST_PROJECT,
    **SPHINX_PROJECT,
    **MKDOCS_PROJECT,
    **COOKIECUTTER_TEMPLATE,
    **NOXFILE,
}
