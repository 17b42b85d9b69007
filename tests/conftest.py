import os

# Keep tests off the GUI: matplotlib renders to memory only.
os.environ.setdefault("MPLBACKEND", "Agg")
