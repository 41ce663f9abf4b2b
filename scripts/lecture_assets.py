"""The offline copies of reveal.js (from the npm registry, cached) and MathJax 2 (from jupyter-server-mathjax).

reveal.js is fetched once with ``npm pack`` into the cache folder and checked against the registry's integrity
hash; later builds, and builds with no network, use the cached tarball. MathJax 2.7 comes from the PyPI
package ``jupyter-server-mathjax`` (in requirements.txt), whose files are installed with the environment.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

REVEAL_VERSION = "5.2.1"
REVEAL_INTEGRITY = "sha512-r7//6mIM5p34hFiDMvYfXgyjXqGRta+/psd9YtytsgRlrpRzFv4RbH76TXd2qD+7ZPZEbpBDhdRhJaFgfQ7zNQ=="
REVEAL_FILES = (
    "dist/reveal.js",
    "dist/reveal.css",
    "dist/reset.css",
    "dist/theme/white.css",
    "dist/theme/fonts/source-sans-pro/",
    "plugin/notes/notes.js",
    "LICENSE",
)
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"


class AssetError(RuntimeError):
    """An offline asset is neither cached nor obtainable."""


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def reveal_tarball(cache: Path) -> Path:
    """The cached reveal.js tarball, fetched with ``npm pack`` the first time."""
    tarball = cache / f"reveal.js-{REVEAL_VERSION}.tgz"
    if tarball.is_file() and _integrity(tarball) == REVEAL_INTEGRITY:
        return tarball
    cache.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(
            f"reveal.js {REVEAL_VERSION} is not cached at {tarball} and npm is not installed; install "
            f"Node.js/npm once, or copy reveal.js-{REVEAL_VERSION}.tgz from the npm registry there"
        )
    done = subprocess.run(
        [npm, "pack", f"reveal.js@{REVEAL_VERSION}", "--pack-destination", str(cache)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not tarball.is_file():
        raise AssetError(
            f"reveal.js {REVEAL_VERSION} is not cached at {tarball} and `npm pack` failed (offline?):\n"
            f"{(done.stderr or done.stdout).strip()[-1500:]}\nRun the build once with access to the npm "
            "registry; later builds work offline from the cache."
        )
    if _integrity(tarball) != REVEAL_INTEGRITY:
        tarball.unlink()
        raise AssetError(f"the downloaded reveal.js {REVEAL_VERSION} does not match the registry's integrity hash")
    return tarball


def mathjax_folder() -> Path:
    """MathJax 2.7's files as jupyter-server-mathjax installs them."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise AssetError(
            "the package jupyter-server-mathjax is missing: `pip install -r requirements.txt` "
            "(it holds the MathJax 2.7 files that the decks and the handout load offline)"
        ) from None
    folder = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (folder / "MathJax.js").is_file():
        raise AssetError(f"jupyter-server-mathjax has no MathJax.js in {folder}")
    return folder


def install_static(static: Path, cache: Path) -> dict[str, str]:
    """Copy reveal.js and MathJax into ``static`` (once per version); returns their paths relative to it."""
    reveal = static / "reveal.js"
    stamp = reveal / ".version"
    if not (stamp.is_file() and stamp.read_text() == REVEAL_VERSION):
        shutil.rmtree(reveal, ignore_errors=True)
        with tarfile.open(reveal_tarball(cache)) as archive:
            for member in archive.getmembers():
                name = member.name.removeprefix("package/")
                if member.isfile() and any(name == f or (f.endswith("/") and name.startswith(f)) for f in REVEAL_FILES):
                    target = reveal / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())
        stamp.write_text(REVEAL_VERSION)
    mathjax = static / "mathjax"
    if not (mathjax / "MathJax.js").is_file():
        shutil.copytree(mathjax_folder(), mathjax, dirs_exist_ok=True)
    return {"reveal": "reveal.js", "mathjax": f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"}
