"""`pip install -r requirements.txt` (and the dev and Ray files) finds wheels on every laptop we promise.

For each target (Linux x86-64, macOS on Apple silicon, Windows x64; Python 3.11, 3.12, 3.13) the
requirement files' environment markers are evaluated for that target here, with
`packaging.markers`, because pip evaluates markers for the interpreter running it even with
`--platform`. The lines that apply go to a plain file, which pip resolves in a metadata-only dry
run restricted to wheels for that platform and Python. pip's own resolution of dependencies has the
same blind spot, so the dependencies each resolved package declares are checked against the
target's markers too, and any it needs there that pip skipped are resolved in a further round.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-ray.txt")
PYTHONS = ("3.11", "3.12", "3.13")
PIP_TIMEOUT_S = 900  # one dry run took 1-2 minutes here, several at once longer
PARALLEL = 3  # more at once did not finish sooner here: the registry and the CPUs are shared
MAX_ROUNDS = 4  # rounds of adding dependencies that only the target needs


@dataclass(frozen=True)
class Platform:
    """An operating system and processor: its marker values and the wheel tags pip may take."""

    name: str
    markers: dict[str, str]
    wheel_tags: tuple[str, ...]


# Oldest systems covered: glibc 2.28 (Debian 10, Ubuntu 20.04, RHEL 8) and macOS 14.
PLATFORMS = (
    Platform(
        "linux-x86_64",
        {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
        (*(f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)), "manylinux2014_x86_64"),
    ),
    Platform(
        "macos-arm64",
        {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
        ("macosx_14_0_arm64",),  # pip adds the older macOS versions and universal2 itself
    ),
    Platform(
        "windows-x64",
        {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
        ("win_amd64",),
    ),
)
TARGETS = [(platform, python) for platform in PLATFORMS for python in PYTHONS]


def marker_environment(platform: Platform, python: str) -> dict[str, str]:
    """What `packaging.markers` needs to evaluate a marker as on that machine."""
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": "nt" if platform.markers["sys_platform"] == "win32" else "posix",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "extra": "",
        **platform.markers,
    }


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a file, following `-r other.txt`."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            lines.extend(requirement_lines(path.parent / line[3:].strip()))
        else:
            lines.append(line)
    return lines


def pinned_requirements() -> list[Requirement]:
    return [
        Requirement(line) for name in REQUIREMENT_FILES for line in requirement_lines(ROOT / name)
    ]


def for_target(requirements: list[Requirement], environment: dict[str, str]) -> list[str]:
    """The requirements that apply on the target, without their markers (pip would misjudge them)."""
    kept = []
    for requirement in requirements:
        if requirement.marker is None or requirement.marker.evaluate(environment):
            extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
            kept.append(f"{requirement.name}{extras}{requirement.specifier}")
    return sorted(set(kept))


def needed_but_skipped(installed: list[dict], environment: dict[str, str]) -> list[str]:
    """Dependencies that resolved packages need on the target but pip left out."""
    names = {canonicalize_name(item["metadata"]["name"]) for item in installed}
    missing = []
    for item in installed:
        extras = item.get("requested_extras") or [""]
        for line in item["metadata"].get("requires_dist", []):
            dependency = Requirement(line)
            if canonicalize_name(dependency.name) in names:
                continue
            if dependency.marker is None or any(
                Marker(str(dependency.marker)).evaluate({**environment, "extra": extra})
                for extra in extras
            ):
                missing.append(f"{dependency.name}{dependency.specifier}")
    return sorted(set(missing))


@dataclass
class Resolution:
    """What pip would install on one target, or why it could not."""

    target: str
    wheels: dict[str, tuple[str, str]]  # package -> (version, wheel file name)
    error: str = ""


def pip_dry_run(
    platform: Platform, python: str, lines: list[str], pinned: list[str], folder: Path
) -> tuple[list[dict], str]:
    """The packages pip would install for `lines` on the target (and its error, if any)."""
    requirements, constraints = folder / "requirements.txt", folder / "constraints.txt"
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    constraints.write_text("\n".join(pinned) + "\n", encoding="utf-8")
    report_path = folder / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    command += [arg for tag in platform.wheel_tags for arg in ("--platform", tag)]
    # Range requests read just the metadata of each wheel instead of downloading it whole.
    command += ["--use-feature=fast-deps", "--quiet", "--report", str(report_path)]
    command += ["-r", str(requirements), "-c", str(constraints)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        return [], done.stderr.strip()[-3000:] or f"pip exited with {done.returncode}"
    return json.loads(report_path.read_text(encoding="utf-8"))["install"], ""


def resolve(platform: Platform, python: str) -> Resolution:
    """pip's dry run for one target, then again for what the target needs that pip skipped."""
    target = f"{platform.name} Python {python}"
    environment = marker_environment(platform, python)
    lines = for_target(pinned_requirements(), environment)
    installed: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="digitlab-req-") as folder:
        for _ in range(MAX_ROUNDS):
            # Later rounds keep the versions already chosen, as one resolution would.
            pinned = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in installed]
            found, error = pip_dry_run(platform, python, lines, pinned, Path(folder))
            if error:
                return Resolution(target, {}, error)
            installed += found
            lines = needed_but_skipped(installed, environment)
            if not lines:
                wheels = {
                    canonicalize_name(item["metadata"]["name"]): (
                        item["metadata"]["version"],
                        item["download_info"]["url"].rsplit("/", 1)[-1],
                    )
                    for item in installed
                }
                return Resolution(target, wheels)
    return Resolution(target, {}, f"still missing after {MAX_ROUNDS} rounds: {lines}")


def registry_problem(*pip_options: str) -> str:
    """Why pip cannot reach the package registry, or '' when it can."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "pip", *pip_options],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )
    return "" if done.returncode == 0 else (done.stderr or done.stdout).strip()[-1500:]


@pytest.fixture(scope="module")
def resolutions() -> dict[tuple[str, str], Resolution]:
    problem = registry_problem()
    if problem:
        pytest.fail(
            "The install check needs the package registry (PyPI) and pip could not reach it: "
            f"{problem}",
            pytrace=False,
        )
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = pool.map(lambda target: resolve(*target), TARGETS)
        return {(p.name, python): r for (p, python), r in zip(TARGETS, results, strict=True)}


@pytest.mark.registry
@pytest.mark.parametrize(
    ("platform", "python"), TARGETS, ids=[f"{p.name}-py{v}" for p, v in TARGETS]
)
def test_every_pinned_package_has_a_wheel_on_the_target(resolutions, platform, python):
    resolution = resolutions[(platform.name, python)]
    assert not resolution.error, f"{resolution.target}: pip could not resolve: {resolution.error}"
    environment = marker_environment(platform, python)
    for requirement in pinned_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = canonicalize_name(requirement.name)
        assert name in resolution.wheels, f"{resolution.target}: {name} is not installed"
        version, wheel = resolution.wheels[name]
        assert requirement.specifier.contains(version), (resolution.target, name, version)
        assert wheel.endswith(".whl"), (resolution.target, name, wheel)
    print(f"{resolution.target}: {len(resolution.wheels)} wheels")


def test_markers_pick_one_tensorflow_per_target():
    for platform, python in TARGETS:
        lines = for_target(pinned_requirements(), marker_environment(platform, python))
        tensorflows = [
            line for line in lines if line.split("=")[0] in ("tensorflow", "tensorflow-cpu")
        ]
        expected = "tensorflow" if platform.name.startswith("macos") else "tensorflow-cpu"
        assert [line.split("=")[0] for line in tensorflows] == [expected], (platform.name, lines)


def test_an_unreachable_registry_is_reported_not_skipped():
    # Nothing listens on port 9 (discard) here: the same check must then name a problem.
    closed = ("--isolated", "--index-url", "http://127.0.0.1:9/simple", "--retries", "0")
    assert registry_problem(*closed, "--timeout", "5")
