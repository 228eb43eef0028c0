"""Test a built wheel as a user gets it: installed into a fresh virtualenv, no compiler around.

    python scripts/test_wheel.py dist/hfgit_native-*.whl [-- PYTEST_ARGS...]

1. A new virtualenv (outside the checkout) gets the wheel and its ``[test]`` extras, binary
   wheels only, with a ``PATH`` that has no C compiler, linker or Rust toolchain on it: the
   script shows that none of them can be found before it installs anything.
2. ``hfgit`` must import from that virtualenv's site-packages, never from this checkout.
3. ``python -m hfgit demo`` runs there, and ``hfgit --version`` (the console script).
4. pytest runs the whole suite (this checkout's ``tests/``) with that interpreter, from a
   directory outside the checkout, with a plugin that stops the run if ``hfgit`` resolves
   anywhere but the virtualenv; ``import hfgit``'s cost is printed. LocalHub's Xet CAS server
   (scripts/build-xet-cas.sh's ``target/xet-cas/bin/local_cas_server``) is passed on in
   ``HFGIT_XET_CAS_SERVER``, since the installed ``hfgit.testing`` cannot find the checkout.
5. Where pyenv has CPython 3.9 and 3.13 (the oldest the abi3 wheel claims, and the newest), the
   wheel is installed into each and runs the demo there too.

The exit status is pytest's (or 1 when an earlier step fails). Works on Linux, macOS and Windows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a source build would need; none of these may be reachable while the wheel is installed.
COMPILERS = ("cc", "c++", "c99", "gcc", "g++", "clang", "ld", "rustc", "cargo", "rustup", "zig")
_HIDDEN_PREFIXES = ("gcc", "g++", "clang", "cargo", "rust", "ld.", "zig", "cpp", "tcc")
_HIDDEN_SUFFIXES = ("-gcc", "-g++", "-cc", "-c++", "-ld", "-clang", "-cpp")
_WINDOWS = os.name == "nt"
# hfgit.testing.xet.CAS_SERVER_ENV (not imported: this script must not import the checkout's hfgit).
XET_CAS_SERVER_ENV = "HFGIT_XET_CAS_SERVER"


def _hidden(name: str) -> bool:
    stem = name.lower().removesuffix(".exe")
    if stem in COMPILERS or stem in ("as", "c89", "cl", "link", "ccache"):
        return True
    if stem.startswith(_HIDDEN_PREFIXES) or stem.endswith(_HIDDEN_SUFFIXES):
        return True
    return "-gcc-" in stem or "-linux-gnu-" in stem


def path_without_compilers(scratch: Path) -> str:
    """A PATH with every program of the current one except compilers, linkers and Rust.

    Each directory that holds one of them is replaced by a directory of links to its other
    programs (on Windows, where links need privileges, the directory is dropped instead).
    """
    entries: list[str] = []
    for index, directory in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if not directory or not os.path.isdir(directory):
            continue
        names = os.listdir(directory)
        if not any(_hidden(name) for name in names):
            entries.append(directory)
            continue
        if _WINDOWS:
            continue
        shadow = scratch / f"path-{index}"
        shadow.mkdir(parents=True)
        for name in names:
            source = os.path.join(directory, name)
            if not _hidden(name) and os.path.isfile(source) and os.access(source, os.X_OK):
                os.symlink(source, shadow / name)
        entries.append(str(shadow))
    return os.pathsep.join(entries)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if _WINDOWS else "bin/python")


def venv_scripts(venv: Path) -> Path:
    return venv / ("Scripts" if _WINDOWS else "bin")


def step(title: str) -> None:
    print(f"\n--> {title}", flush=True)


def run(
    command: Sequence[str | os.PathLike[str]], env: dict[str, str], cwd: Path | None = None
) -> None:
    print("$ " + " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], env=env, cwd=cwd, check=True)


def make_venv(base_python: str, venv: Path, env: dict[str, str]) -> Path:
    run([base_python, "-m", "venv", venv], env)
    return venv_python(venv)


def site_packages(python: Path, env: dict[str, str]) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip()).resolve()


IMPORT_CHECK = """
import os, sys
import hfgit, hfgit._native
site, root = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
for module in (hfgit, hfgit._native):
    path = os.path.realpath(module.__file__)
    if not path.startswith(site + os.sep) or path.startswith(root + os.sep):
        sys.exit(f"{module.__name__} resolves to {path}, not into {site}")
print(f"hfgit {hfgit.__version__} from {os.path.dirname(hfgit.__file__)}")
print(f"  extension {os.path.basename(hfgit._native.__file__)}, libgit2 "
      f"{hfgit._native.LIBGIT2_VERSION}")
"""

GUARD_PLUGIN = '''"""Stops the run unless hfgit comes from the installed wheel (test_wheel.py)."""
import os

import hfgit
import hfgit._native
import pytest

SITE = os.path.realpath(os.environ["HFGIT_WHEEL_SITE"])
ROOT = os.path.realpath(os.environ["HFGIT_WHEEL_CHECKOUT"])


def pytest_configure(config):
    for module in (hfgit, hfgit._native):
        path = os.path.realpath(module.__file__)
        if not path.startswith(SITE + os.sep) or path.startswith(ROOT + os.sep):
            raise pytest.UsageError(f"{module.__name__} resolves to {path}, not the wheel")


def pytest_report_header(config):
    return f"hfgit under test: {os.path.dirname(hfgit.__file__)} ({os.environ['HFGIT_WHEEL']})"
'''


def measure_import(python: Path, env: dict[str, str], rounds: int = 15) -> tuple[float, float]:
    """Best wall time of ``python -c pass`` and ``python -c 'import hfgit'``, in ms."""

    def best(code: str) -> float:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run([str(python), "-c", code], env=env, check=True)
            times.append(time.perf_counter() - started)
        return 1000 * min(times)

    return best("pass"), best("import hfgit")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="the .whl to test")
    parser.add_argument("--python", default=sys.executable, help="base interpreter of the venv")
    parser.add_argument("--keep", action="store_true", help="keep the virtualenv afterwards")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    args = parser.parse_args(argv)
    wheel = args.wheel.resolve()
    scratch = Path(tempfile.mkdtemp(prefix="hfgit-wheel-test-"))
    try:
        return _test(wheel, scratch, args.python, args.pytest_args)
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _test(wheel: Path, scratch: Path, base_python: str, pytest_args: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    venv = scratch / "venv"

    step(f"a PATH without compilers or Rust, and a fresh virtualenv in {venv}")
    env["PATH"] = path_without_compilers(scratch)
    found = {name: shutil.which(name, path=env["PATH"]) for name in COMPILERS}
    print("not on PATH: " + ", ".join(name for name, where in found.items() if where is None))
    if any(found.values()):
        print(f"FAILED: still reachable: {[w for w in found.values() if w]}", file=sys.stderr)
        return 1
    python = make_venv(base_python, venv, env)
    env["PATH"] = os.pathsep.join([str(venv_scripts(venv)), env["PATH"]])
    env["VIRTUAL_ENV"] = str(venv)

    step(f"install {wheel.name} and its test extras (binary wheels only)")
    run([python, "-m", "pip", "install", "--quiet", "--only-binary=:all:", f"{wheel}[test]"], env)
    site = site_packages(python, env)

    step("import hfgit: from the virtualenv, not from the checkout")
    run([python, "-c", IMPORT_CHECK, site, ROOT], env, cwd=scratch)
    bare, with_hfgit = measure_import(python, env)
    print(
        f"python -c 'import hfgit': {with_hfgit:.1f} ms (python -c pass: {bare:.1f} ms; "
        f"import hfgit alone: {with_hfgit - bare:.1f} ms)"
    )

    step("the installed console script and python -m hfgit demo")
    run([venv_scripts(venv) / "hfgit", "--version"], env, cwd=scratch)
    run([python, "-m", "hfgit", "demo"], env, cwd=scratch)

    for version in ("3.9", "3.13"):
        other = _pyenv_python(version)
        if other is None:
            print(f"\n(no CPython {version} from pyenv here: the abi3 check on it is skipped)")
            continue
        step(f"the same wheel on CPython {version} (abi3)")
        other_venv = scratch / f"venv-{version}"
        other_python = make_venv(other, other_venv, env)
        run([other_python, "-m", "pip", "install", "--quiet", "--no-index", wheel], env)
        run([other_python, "-m", "hfgit", "demo"], env, cwd=scratch)

    step("pytest: the whole suite against the installed package")
    plugin_dir = scratch / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "hfgit_wheel_guard.py").write_text(GUARD_PLUGIN)
    run_dir = scratch / "run"
    run_dir.mkdir()
    pytest_env = dict(
        env,
        PYTHONPATH=str(plugin_dir),
        HFGIT_WHEEL=wheel.name,
        HFGIT_WHEEL_SITE=str(site),
        HFGIT_WHEEL_CHECKOUT=str(ROOT),
    )
    cas_server = xet_cas_server(env)
    if cas_server is not None:
        pytest_env[XET_CAS_SERVER_ENV] = cas_server
    print(f"LocalHub's Xet CAS server: {cas_server or 'none (tests/test_xet.py will skip)'}")
    # Test paths given relative to the checkout (tests/test_cli.py) are made absolute, since
    # pytest runs elsewhere; without any, the whole of tests/ runs.
    arguments = [_in_checkout(arg) for arg in pytest_args or ["-q"]]
    if arguments == list(pytest_args or ["-q"]):
        arguments.append(str(ROOT / "tests"))
    command = [
        python,
        "-m",
        "pytest",
        "-c",
        ROOT / "pyproject.toml",
        "--rootdir",
        ROOT,
        "-p",
        "no:cacheprovider",
        "-p",
        "hfgit_wheel_guard",
        *arguments,
    ]
    print("$ " + " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], env=pytest_env, cwd=run_dir).returncode


def xet_cas_server(env: dict[str, str]) -> str | None:
    """The ``local_cas_server`` LocalHub's Xet repos need: ``HFGIT_XET_CAS_SERVER`` if set, else
    the one scripts/build-xet-cas.sh built in this checkout's ``target/``. hfgit.testing looks
    there itself only when it is imported from the checkout, not from site-packages."""
    named = env.get(XET_CAS_SERVER_ENV)
    if named:
        return named
    name = "local_cas_server.exe" if _WINDOWS else "local_cas_server"
    built = ROOT / "target" / "xet-cas" / "bin" / name
    return str(built) if os.access(built, os.X_OK) else None


def _in_checkout(argument: str) -> str:
    """``tests/x.py::test`` as an absolute path when it names a file of the checkout."""
    if argument.startswith("-"):
        return argument
    path, _, rest = argument.partition("::")
    if not (ROOT / path).exists():
        return argument
    return str(ROOT / path) + (f"::{rest}" if rest else "")


def _pyenv_python(version: str) -> str | None:
    """CPython ``version`` from pyenv, if this machine has it."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(Path(root, "versions").glob(f"{version}.*/bin/python{version}"))
    return str(candidates[-1]) if candidates else None


if __name__ == "__main__":
    sys.exit(main())
