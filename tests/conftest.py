import os
import sys
from pathlib import Path

# Keep tests off the GUI: matplotlib renders to memory only.
os.environ.setdefault("MPLBACKEND", "Agg")

# tools/notebook_runner.py: the bounded notebook runner that the tests share with tools/ and benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
