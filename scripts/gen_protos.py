"""Generate the Python modules of ``protos/`` into ``codeloc/protos/``: ``make protos``.

Run as ``python -m scripts.gen_protos [OUT_DIR]`` from the repository root. It writes the
message modules (``*_pb2.py``) and the service modules (``*_pb2_grpc.py``, only for files
that define a service), each with its mypy-protobuf stub (``*.pyi``), then rewrites the
imports between them to be package-relative: protoc writes
``from tessera.codelocation.v1 import …``, which only resolves if ``codeloc/protos`` itself
were on ``sys.path``.

The service stubs are synchronous only (``only_sync``), as the server and the client are:
the servicer's methods then take a ``grpc.ServicerContext`` and return the message itself,
not a union with the ``grpc.aio`` forms. With typeshed's grpc stubs they pass
``mypy --strict``, so the code around them is checked against them.

``tests/codeloc/test_protos_current.py`` regenerates into a temporary directory and fails
when the checked-in modules differ.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
DEFAULT_OUT = ROOT / "codeloc" / "protos"
PACKAGE_DOC = '"""Generated from protos/ by ``python -m scripts.gen_protos``; do not edit."""\n'


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """(Re)generate every module under ``out_dir``; returns the files written."""
    from grpc_tools import protoc

    bin_dir = Path(sys.executable).parent
    include = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={tmp}",
            f"--grpc_python_out={tmp}",
            f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
            f"--mypy_out=quiet:{tmp}",
            f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
            f"--mypy_grpc_out=quiet,only_sync:{tmp}",
            *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        generated = Path(tmp)
        _drop_empty_service_modules(generated)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        written: list[Path] = []
        for source in sorted(generated.rglob("*")):
            if not source.is_file():
                continue
            target = out_dir / source.relative_to(generated)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_relative_imports(source.read_text()))
            written.append(target)
    for directory in sorted({out_dir, *(p.parent for p in written)}):
        for parent in (directory, *directory.parents):
            if parent == out_dir.parent:
                break
            init = parent / "__init__.py"
            if not init.exists():
                init.write_text(PACKAGE_DOC)
                written.append(init)
    return sorted(written)


def _drop_empty_service_modules(generated: Path) -> None:
    """protoc writes a ``_pb2_grpc`` module for every file; keep those with a service."""
    for module in generated.rglob("*_pb2_grpc.py"):
        if "Stub" not in module.read_text():
            module.unlink()
            module.with_suffix(".pyi").unlink(missing_ok=True)


_PACKAGES = r"tessera\.codelocation\.v1"


def _relative_imports(text: str) -> str:
    text = re.sub(rf"^from {_PACKAGES} import (\w+)", r"from . import \1", text, flags=re.M)
    text = re.sub(rf"^import {_PACKAGES}\.(\w+)$", r"from . import \1", text, flags=re.M)
    return re.sub(rf"\b{_PACKAGES}\.(\w+_pb2)\.", r"\1.", text)


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]).resolve() if argv else DEFAULT_OUT
    for path in generate(out_dir):
        print(path.relative_to(ROOT) if ROOT in path.parents else path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
