"""Scripts for the programs corpus: the ``__main__`` programs that bind lazy names.

In the style of the libraries' own tutorials (SymPy's tutorial, Flask's quickstart, Jinja's
API docs): ``from m import *`` and ``from m import name`` at the top of a script, which is
exactly where lazyhook binds lazy names (from the second run on).
"""

from __future__ import annotations

SYMPY_STAR = '''\
"""Examples from the SymPy tutorial, star-imported as the tutorial does."""
from sympy import *

x, y, z = symbols("x y z")
f = Function("f")

print("simplify:", simplify((x + 1)**2 - (x**2 + 2*x + 1)))
print("expand:", expand((x + y)**3))
print("factor:", factor(x**3 - x**2 + x - 1))
print("solve:", solve(x**2 - 2, x))
print("solveset:", solveset(sin(x) - 1, x, Interval(0, 2*pi)))
print("series:", series(cos(x), x, 0, 8))
print("integrate:", integrate(exp(-x**2), (x, -oo, oo)))
print("limit:", limit(sin(x)/x, x, 0))
print("diff:", diff(sin(x)*exp(x), x))
M = Matrix([[1, 2], [3, 4]])
print("det:", M.det(), "inv:", M.inv())
print("eigenvals:", M.eigenvals())
print("latex:", latex(Integral(sqrt(1/x), x)))
pprint(Integral(sqrt(1/x), x), use_unicode=True)
print("rational:", Rational(1, 3) + S.Half)
print("N:", N(pi, 30))
print("dsolve:", dsolve(Eq(f(x).diff(x, 2) + f(x), 0), f(x)))
print("is_prime:", isprime(2**31 - 1), "primes:", list(primerange(1, 30)))
'''

SYMPY_NAMES = '''\
"""solve_eq: solve an equation given on the command line."""
import argparse
import sys

from sympy import Eq, Symbol, SympifyError, latex, solve, sympify


def main(argv=None):
    parser = argparse.ArgumentParser(prog="solve_eq", description=__doc__)
    parser.add_argument("equation", help="e.g. 'x**2 - 4 = 0'")
    parser.add_argument("--var", default="x")
    parser.add_argument("--digits", default=None, help="evaluate numerically")
    parser.add_argument("--latex", action="store_true")
    args = parser.parse_args(argv)
    try:
        digits = None if args.digits is None else int(args.digits)
        lhs, _, rhs = args.equation.partition("=")
        equation = Eq(sympify(lhs), sympify(rhs or "0"))
    except (ValueError, SympifyError) as exc:
        print(f"solve_eq: invalid input: {exc}", file=sys.stderr)
        return 2
    roots = solve(equation, Symbol(args.var))
    if digits is not None:
        roots = [r.evalf(digits) for r in roots]
    for root in roots:
        print(latex(root) if args.latex else root)
    return 0 if roots else 1


if __name__ == "__main__":
    sys.exit(main())
'''

SYMPY_PLAIN = '''\
"""A CLI that imports sympy at the top and uses it on one path only."""
import argparse
import fractions
import sys

import sympy


def main():
    parser = argparse.ArgumentParser(prog="ratio")
    parser.add_argument("values", nargs="+")
    parser.add_argument("--symbolic", action="store_true")
    args = parser.parse_args()
    if args.symbolic:
        total = sum(sympy.Rational(v) for v in args.values)
        print("symbolic", total, sympy.factorint(total.q))
    else:
        print("plain", sum(fractions.Fraction(v) for v in args.values))


if __name__ == "__main__":
    main()
'''

CITY_STATS = '''\
"""city_stats: summary statistics of a CSV file (standard library only)."""
import sys
from csv import DictReader
from decimal import Decimal
from statistics import mean, median
from typing import NamedTuple


class City(NamedTuple):
    name: str
    country: str
    population: int
    area: Decimal

    @property
    def density(self) -> Decimal:
        return (self.population / self.area).quantize(Decimal("0.1"))


def load(path):
    with open(path, newline="") as f:
        return [City(r["city"], r["country"], int(r["population"]), Decimal(r["area_km2"]))
                for r in DictReader(f)]


def main(path):
    cities = load(path)
    by_country = {}
    for city in cities:
        by_country.setdefault(city.country, []).append(city)
    for country, group in sorted(by_country.items()):
        pops = [c.population for c in group]
        print(f"{country}: n={len(group)} mean={mean(pops):.1f} median={median(pops)}")
    densest = max(cities, key=lambda c: c.density)
    print(f"densest: {densest.name} {densest.density}/km2")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
'''

FLASK_CLIENT = '''\
"""The Flask quickstart, exercised with the test client."""
from flask import Flask, abort, jsonify, request

app = Flask(__name__)
ITEMS = {1: "apple", 2: "pear"}


@app.get("/items")
def list_items():
    return jsonify(sorted(ITEMS.values()))


@app.get("/items/<int:item_id>")
def get_item(item_id):
    if item_id not in ITEMS:
        abort(404)
    return {"id": item_id, "name": ITEMS[item_id]}


@app.post("/items")
def add_item():
    item_id = max(ITEMS) + 1
    ITEMS[item_id] = request.get_json()["name"]
    return {"id": item_id}, 201


client = app.test_client()
for method, url, body in [("get", "/items", None), ("get", "/items/2", None),
                          ("get", "/items/9", None), ("post", "/items", {"name": "fig"}),
                          ("get", "/items", None)]:
    response = getattr(client, method)(url, json=body)
    print(method.upper(), url, response.status_code, response.get_data(as_text=True).strip())
'''

FLASK_APP = """\
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "index"


@app.route("/items/<int:item_id>", methods=["GET", "DELETE"])
def item(item_id):
    return str(item_id)


@app.post("/items")
def add():
    return "added"
"""

RENDER = '''\
"""render: fill a Jinja template with rows of a CSV file."""
import csv
import sys

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

env = Environment(loader=FileSystemLoader("templates"), autoescape=select_autoescape())
with open("cities.csv", newline="") as f:
    cities = [dict(row, population=int(row["population"])) for row in csv.DictReader(f)]
page = env.get_template("page.html")
print(page.render(title="european cities", cities=cities, note="<b>escaped</b>"))
try:
    env.get_template("missing.html")
except TemplateNotFound as exc:
    print("missing template:", exc.name)
'''

WORDFREQ = '''\
"""wordfreq: the most frequent words of a text file."""
import sys
from collections import Counter
from string import punctuation


def words(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            for word in line.split():
                word = word.strip(punctuation).lower()
                if word:
                    yield word


for word, n in Counter(words(sys.argv[1])).most_common(5):
    print(f"{n:3} {word}")
'''

CONSOLE_INPUT = """\
from json import dumps, loads
from textwrap import shorten
dumps({"b": [1, 2], "a": None}, sort_keys=True)
loads('{"x": 1}')["x"] + 1
shorten("The quick brown fox jumps over the lazy dog", width=20)
import fractions
fractions.Fraction(1, 3) * 3
1 / 0
"""

ASYNCIO_INPUT = """\
from json import dumps
import asyncio
await asyncio.sleep(0)
dumps([1, 2])
"""  # (no exception: its traceback depends on which thread wins a race in Future.result)

PDB_INPUT = "next\nnext\nuntil 19\np WORD.pattern\ncontinue\nquit\n"

NAMES_EVERYWHERE = """\
\"\"\"attrs, click and numpy, run with lazy names bound in library code too (names=True).\"\"\"
import attrs
import click
import numpy as np


@attrs.define
class Point:
    x: float
    y: float = 0.0


@click.command()
@click.option("--scale", type=float, default=2.0, show_default=True)
@click.argument("values", nargs=-1, type=float)
def main(scale, values):
    arr = np.asarray(values, dtype=float) * scale
    arr += 1
    click.echo(f"{Point(float(arr.sum()))} {arr.tolist()} {np.newaxis is None} {arr.dtype}")


main()
"""

SCRIPTS: dict[str, str] = {
    "sympy_star.py": SYMPY_STAR,
    "solve_eq.py": SYMPY_NAMES,
    "ratio.py": SYMPY_PLAIN,
    "city_stats.py": CITY_STATS,
    "flask_client.py": FLASK_CLIENT,
    "flask_app.py": FLASK_APP,
    "render.py": RENDER,
    "wordfreq.py": WORDFREQ,
    "names_everywhere.py": NAMES_EVERYWHERE,
}
