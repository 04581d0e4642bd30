"""Issue #14 (5, 1): light imports, and no import cycle between the top-level packages.

``ssn`` is the library; ``baselines`` imports it and joins its method registry through an
entry point, so no module of ``ssn`` may import ``baselines``. Private modules
(``_name``) are used only inside their own package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ssn", "baselines")


def _imports(path: Path) -> list[str]:
    """The absolute module names ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


def _modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_cycle_and_no_foreign_private_module(package):
    others = [p for p in PACKAGES if p != package]
    for path in _modules(package):
        for name in _imports(path):
            top = name.split(".")[0]
            if package == "ssn":
                assert top not in others, f"{path.relative_to(ROOT)} imports {name}"
            if top in PACKAGES and top != package:
                private = [part for part in name.split(".")[1:] if part.startswith("_")]
                assert not private, f"{path.relative_to(ROOT)} imports the private {name}"


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(sorted(m for m in ('torch', 'numba') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, check=True)  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def test_data_tools_and_the_cli_help_load_neither_torch_nor_numba():
    assert _loaded_after("import ssn.data") == "[]"
    assert _loaded_after("import ssn") == "[]"
    help_probe = (
        "import contextlib, io\n"
        "from ssn.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])"
    )
    assert _loaded_after(help_probe) == "[]"


def test_the_lazy_names_of_ssn_resolve():
    import ssn

    assert set(ssn.__all__) <= set(dir(ssn))
    for name in ssn.__all__:
        assert getattr(ssn, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ssn.nope  # noqa: B018
