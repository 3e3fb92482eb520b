"""The shipped ``memo.testing.BackendContract`` runs in a user's project whatever its asyncio setup."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

_USER_TESTS = textwrap.dedent(
    """
    import pytest

    import memo
    from memo.testing import BackendContract


    class TestUserMemory(BackendContract):
        @pytest.fixture
        def backend(self):
            return memo.MemoryBackend()


    class TestUserFile(BackendContract):
        @pytest.fixture
        def backend(self, tmp_path):
            b = memo.FileBackend(tmp_path / "c")
            yield b
            b.close()
    """
)
_CASES_PER_BACKEND = 20  # 10 sync cases (one parametrized over 4 values) and their 10 async twins
# Capability cases (7): MemoryBackend declares ObjectStore and SlotSource (2 pass, 5 skip);
# FileBackend declares PartsWriter, HeadReader and Locking (5 pass, 2 skip).
_CAPABILITY_CASES = 7


def _user_project(pytester: pytest.Pytester, ini: str) -> None:
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n" + ini)
    pytester.makepyfile(test_user_backend=_USER_TESTS)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ini", "plugin_args"),
    [
        ("asyncio_mode = strict\n", ()),
        ("asyncio_mode = auto\n", ()),
        ("", ("-p", "no:asyncio")),
    ],
    ids=["asyncio-strict", "asyncio-auto", "no-asyncio-plugin"],
)
def test_contract_suite_passes_in_a_user_project(
    pytester: pytest.Pytester, ini: str, plugin_args: tuple[str, ...]
) -> None:
    """Every case of the shipped suite passes, without warnings, in strict, auto and plugin-less projects."""
    _user_project(pytester, ini)
    result = pytester.runpytest_subprocess(*plugin_args)
    result.assert_outcomes(passed=2 * _CASES_PER_BACKEND + _CAPABILITY_CASES, skipped=_CAPABILITY_CASES)
