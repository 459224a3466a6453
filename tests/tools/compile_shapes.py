"""Compiles tests/fixtures/unknown_fields/shapes.proto (every shape of field the unknown-fields
check follows) into a descriptor set, as `make gen` compiles the contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHAPES = REPO / "tests" / "fixtures" / "unknown_fields" / "shapes.proto"


def compile_shapes(out_dir: Path) -> Path:
    out = out_dir / "shapes.binpb"
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{SHAPES.parent}",
                    f"-I{REPO / 'third_party' / 'googleapis'}", f"--descriptor_set_out={out}", "--include_imports",
                    str(SHAPES)], check=True, cwd=REPO)
    return out
