"""Test sessions for every Python the package claims: ``nox`` (``.ci/run`` drives it).

``nox`` runs the test suite on 3.10, 3.11, 3.12 and 3.13, each in a fresh virtualenv with
the README's install (``pip install -e '.[all,test]'``); ``nox -s lint`` runs the linters.
With ``CI=true`` a missing interpreter fails the run instead of skipping its session.
Arguments after ``--`` go to pytest: ``nox -s tests-3.12 -- -k redis``.
"""

from __future__ import annotations

import os

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]  # keep in step with requires-python and the classifiers

nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = os.environ.get("CI", "").lower() in ("1", "true", "yes")
nox.options.reuse_existing_virtualenvs = False


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite; pytest's exit code 5 (no tests collected) fails the session."""
    session.install("-e", ".[all,test]")
    session.run("python", "-m", "pytest", *session.posargs, success_codes=[0])


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff, ruff format and mypy --strict, as CI runs them."""
    session.install("-e", ".[all,test]")
    session.run("ruff", "check", "memo", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "memo", "tests", "benchmarks", "noxfile.py")
    session.run("mypy", "--strict", "memo", "tests/typing")
    session.run("lint-imports")
